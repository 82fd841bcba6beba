"""``tgportrait init`` and ``tgportrait config``."""

from __future__ import annotations

from pathlib import Path

import click

from tgportrait.cli.common import console, json_option, open_workspace, print_json, workspace_option
from tgportrait.config import INDUSTRIES, settings_reference
from tgportrait.workspace import Workspace


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--industry", type=click.Choice(INDUSTRIES), default="beauty", show_default=True)
@click.option("--timezone", default="UTC", show_default=True, help="Default IANA time zone.")
@click.option("--currency", default="USD", show_default=True, help="Default currency of amounts.")
@click.option("--force", is_flag=True, help="Rewrite an existing tgportrait.toml and taxonomy.")
def init_command(directory: str, industry: str, timezone: str, currency: str, force: bool) -> None:
    """Create a workspace: tgportrait.toml, the default taxonomy, the lake and the state store.

    \b
    Example:
        tgportrait init shop --industry beauty
    """
    workspace = Workspace.init(Path(directory), industry, timezone=timezone, currency=currency, force=force)
    console.print(f"Created workspace [bold]{workspace.root}[/] (industry: {industry}).")
    console.print(f"Next: tgportrait --workspace {directory} import telegram-export result.json")


@click.command("config")
@workspace_option
@json_option
def config_command(workspace_dir: str | None, as_json: bool) -> None:
    """Show the workspace's effective settings (secrets hidden)."""
    workspace = open_workspace(workspace_dir)
    values = workspace.settings.model_dump(mode="json")
    if as_json:
        print_json(values)
        return
    for name, _default, description in settings_reference():
        section, _, key = name.partition(".")
        value = values[section][key] if key else values[section]
        console.print(f"[bold]{name}[/] = {value!r}  [dim]{description}[/]")


COMMANDS = [init_command, config_command]
