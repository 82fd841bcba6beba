"""Shared CLI plumbing: workspace option, JSON output, error translation."""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console

from tgportrait.errors import TgPortraitError
from tgportrait.workspace import Workspace

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 110}
F = TypeVar("F", bound=Callable[..., Any])

console = Console(highlight=False, soft_wrap=True)


def workspace_option(function: F) -> F:
    """Adds ``--workspace`` to a subcommand too, so it works before or after the command name."""
    return click.option("--workspace", "-w", "workspace_dir", type=click.Path(file_okay=False), default=None,
                        help="Workspace folder (default: env TGPORTRAIT_WORKSPACE, else the current directory).",
                        )(function)


def json_option(function: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(function)


def open_workspace(workspace_dir: str | None) -> Workspace:
    context = click.get_current_context()
    chosen = workspace_dir or (context.find_root().obj or {}).get("workspace")
    return Workspace.open(chosen)


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def run_guarded(call: Callable[[], Any], debug: bool) -> Any:
    """Run the CLI; turn every error into ``Error ...`` on stderr and exit status 2."""
    try:
        result = call()
    except TgPortraitError as exc:
        if debug:
            traceback.print_exc()
        click.echo(exc.render(), err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("Error: aborted.", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"Error: {exc.format_message()}", err=True)
        context = getattr(exc, "ctx", None)
        if context is not None:
            click.echo(f"Hint: see '{context.command_path} --help'.", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("Error: interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - last resort: never show a bare traceback
        if debug:
            traceback.print_exc()
        click.echo(f"Error [TGP-X000]: unexpected {type(exc).__name__}: {exc}", err=True)
        click.echo("Hint: run again with --debug and report the traceback.", err=True)
        sys.exit(2)
    if isinstance(result, int) and result:
        sys.exit(result)
    return result
