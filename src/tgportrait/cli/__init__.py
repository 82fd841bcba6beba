"""The ``tgportrait`` command line: a thin skin over the library.

Each command resolves the workspace, calls one library function and formats its result
(a Rich table or, with ``--json``, one JSON document). Errors print ``Error [CODE]: ...`` and a
hint on stderr and exit with status 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from tgportrait.cli.commands import LazyGroup
from tgportrait.cli.common import CONTEXT_SETTINGS, run_guarded


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.option("--workspace", "-w", type=click.Path(file_okay=False), default=None,
              help="Workspace folder (default: env TGPORTRAIT_WORKSPACE, else the current directory).")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.version_option(package_name="tgportrait")
@click.pass_context
def cli(context: click.Context, workspace: str | None, debug: bool) -> None:
    """tgportrait: precise user portraits for Telegram communities, bots and channels."""
    context.ensure_object(dict)
    context.obj["workspace"] = workspace
    context.obj["debug"] = debug



def main(argv: list[str] | None = None) -> Any:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    return run_guarded(lambda: cli.main(args=argv, prog_name="tgportrait", standalone_mode=False), debug)
