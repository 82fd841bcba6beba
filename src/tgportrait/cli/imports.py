"""``tgportrait import KIND PATH`` and ``tgportrait quarantine list``."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from tgportrait.cli.common import console, json_option, open_workspace, print_json, workspace_option
from tgportrait.collect import IMPORTERS, import_file
from tgportrait.collect.mapping import parse_mapping_options


@click.group("import")
def import_group() -> None:
    """Import a file into the workspace (re-importing the same file adds nothing)."""


def _make_import_command(kind: str, description: str) -> click.Command:
    @click.command(kind, help=f"{description}.\n\nRejected rows go to the quarantine with the row and the reason.")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--map", "mappings", multiple=True, metavar="FIELD=COLUMN",
                  help="Map a canonical field to a column of the file (repeatable).")
    @click.option("--mapping-file", type=click.Path(dir_okay=False, path_type=Path),
                  help="YAML or JSON file of FIELD: COLUMN pairs.")
    @workspace_option
    @json_option
    def command(path: Path, mappings: tuple[str, ...], mapping_file: Path | None, workspace_dir: str | None,
                as_json: bool) -> None:
        workspace = open_workspace(workspace_dir)
        report = import_file(workspace, kind, path, parse_mapping_options(mappings, mapping_file))
        if as_json:
            print_json(report.as_dict())
            return
        console.print(f"Imported [bold]{report.imported}[/] events from {path} "
                      f"({report.duplicates} duplicates skipped, {report.quarantined} rows quarantined).")
        for event_type, count in report.by_type.items():
            console.print(f"  {event_type:<22} {count:>9}")
        if report.quarantined:
            console.print("See them with: tgportrait quarantine list")

    return command


for _kind, _importer in IMPORTERS.items():
    import_group.add_command(_make_import_command(_kind, _importer.description))


@click.group("quarantine")
def quarantine_group() -> None:
    """Rejected input rows, with the file, the row and the reason."""


@quarantine_group.command("list")
@click.option("--limit", type=int, default=None, help="Show at most N rows.")
@workspace_option
@json_option
def quarantine_list(limit: int | None, workspace_dir: str | None, as_json: bool) -> None:
    """List quarantined rows."""
    rows = open_workspace(workspace_dir).state.quarantine(limit)
    if as_json:
        print_json([{"file": r["file"], "row": r["row"], "reason": r["reason"], "source": r["source"]}
                    for r in rows])
        return
    table = Table("source", "file", "row", "reason")
    for r in rows:
        table.add_row(r["source"], r["file"], str(r["row"] or ""), r["reason"])
    console.print(table)
    console.print(f"{len(rows)} quarantined rows.")


COMMANDS = [import_group, quarantine_group]
