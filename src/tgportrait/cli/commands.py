"""The command index: each top-level command and the module that defines it (imported on first use).

A command module exposes ``COMMANDS`` (click commands or groups). The CLI imports only the module
of the command being run, so ``tgportrait import ...`` does not load the build, the server or the
demo generator; ``tgportrait --help`` imports them all to show their help lines. A test checks that
this index names exactly the commands each module defines.
"""

from __future__ import annotations

from importlib import import_module

import click

COMMAND_MODULES: dict[str, str] = {
    "init": "tgportrait.cli.workspace",
    "config": "tgportrait.cli.workspace",
    "import": "tgportrait.cli.imports",
    "quarantine": "tgportrait.cli.imports",
    "build": "tgportrait.cli.pipeline",
    "quality": "tgportrait.cli.pipeline",
    "persons": "tgportrait.cli.pipeline",
    "portrait": "tgportrait.cli.pipeline",
    "segment": "tgportrait.cli.pipeline",
    "report": "tgportrait.cli.pipeline",
    "labels": "tgportrait.cli.labels",
    "demo": "tgportrait.cli.demo",
    "identity": "tgportrait.cli.identity",
    "intents": "tgportrait.cli.intents",
    "serve": "tgportrait.cli.live",
    "bot": "tgportrait.cli.live",
    "links": "tgportrait.cli.live",
    "inbox": "tgportrait.cli.live",
    "repurchase": "tgportrait.cli.repurchase",
    "screen": "tgportrait.cli.screens",
    "compliance": "tgportrait.cli.compliance",
    "forget": "tgportrait.cli.compliance",
    "export-person": "tgportrait.cli.compliance",
}


def module_commands(module_name: str) -> dict[str, click.Command]:
    """The commands a command module defines, by name."""
    return {str(command.name): command for command in import_module(module_name).COMMANDS}


class LazyGroup(click.Group):
    """A click group that imports a command's module only when that command is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            self.add_command(module_commands(COMMAND_MODULES[cmd_name])[cmd_name])
        return self.commands.get(cmd_name)
