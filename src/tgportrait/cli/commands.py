"""The list of command modules; each module exposes ``COMMANDS`` (click commands or groups)."""

from __future__ import annotations

from importlib import import_module

import click

COMMAND_MODULES = (
    "tgportrait.cli.workspace",
    "tgportrait.cli.imports",
    "tgportrait.cli.pipeline",
    "tgportrait.cli.labels",
    "tgportrait.cli.demo",
    "tgportrait.cli.identity",
    "tgportrait.cli.intents",
    "tgportrait.cli.live",
    "tgportrait.cli.repurchase",
    "tgportrait.cli.screens",
    "tgportrait.cli.compliance",
)


def register_commands(root: click.Group) -> None:
    for name in COMMAND_MODULES:
        module = import_module(name)
        for command in module.COMMANDS:
            root.add_command(command)
