"""Docs stay true: every command, setting and feature is documented."""

from __future__ import annotations

from pathlib import Path

import click

from tgportrait.cli import cli
from tgportrait.config import settings_reference
from tgportrait.label.catalogue import CORE_FEATURES

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _commands(command: click.Command, prefix: tuple[str, ...] = ()) -> list[str]:
    if isinstance(command, click.Group):
        context = click.Context(command)
        return [name for sub_name in command.list_commands(context)
                for name in _commands(command.get_command(context, sub_name), (*prefix, sub_name))]
    return [" ".join(prefix)]


def test_every_command_is_in_the_cli_reference() -> None:
    reference = (DOCS / "cli.md").read_text()
    missing = [name for name in _commands(cli) if f"tgportrait {name}" not in reference]
    assert missing == []


def test_every_setting_and_feature_is_documented() -> None:
    settings = (DOCS / "settings.md").read_text()
    features = (DOCS / "features.md").read_text()
    assert [name for name, _, _ in settings_reference() if f"`{name}`" not in settings] == []
    assert [spec.name for spec in CORE_FEATURES if f"`{spec.name}`" not in features] == []
