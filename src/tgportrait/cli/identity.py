"""``tgportrait identity explain|merge|unmerge|export|log``: reads the current run's identity map, writes overrides."""

from __future__ import annotations

import csv
from pathlib import Path

import click
from rich.table import Table

from tgportrait.clean.identity import explain_person, export_rows
from tgportrait.clean.overrides import override_log, plan_merge, plan_unmerge, record_override
from tgportrait.cli.common import console, json_option, open_workspace, print_json, workspace_option
from tgportrait.portrait.query import resolve_person_id

EXPORT_FIELDS = ("type", "value", "source", "source_record_id", "person_id", "probability", "rule")


@click.group("identity")
def identity_group() -> None:
    """Who is who: explain a person's identifiers, merge or unmerge by hand, export the identity map."""


@identity_group.command("explain")
@click.argument("person")
@workspace_option
@json_option
def explain_command(person: str, workspace_dir: str | None, as_json: bool) -> None:
    """Every identifier of PERSON (a person id or any identifier), how it joined and with what probability."""
    workspace = open_workspace(workspace_dir)
    explained = explain_person(workspace.lake.read_run_table("identities"), resolve_person_id(workspace, person))
    if as_json:
        print_json(explained)
        return
    table = Table("type", "value", "joined by", "probability", "sources", title=explained["person_id"])
    for row in explained["identifiers"]:
        table.add_row(row["type"], row["value"], row["rule"], f"{row['probability']:.4f}", ", ".join(row["sources"]))
    console.print(table)


@identity_group.command("merge")
@click.argument("left")
@click.argument("right")
@click.option("--note", default=None, help="Why (kept in the merge log).")
@workspace_option
def merge_command(left: str, right: str, note: str | None, workspace_dir: str | None) -> None:
    """Merge two persons or identifiers (``p_...`` or ``type:value``); applied from the next build on."""
    workspace = open_workspace(workspace_dir)
    override, person = plan_merge(workspace.lake.read_run_table("identities"), left, right)
    number = record_override(workspace.state.engine, override, person, note)
    console.print(f"Logged merge #{number}: {override.left_key} + {override.right_key}. "
                  "Run 'tgportrait build' to re-attribute events and labels.")


@identity_group.command("unmerge")
@click.argument("person")
@click.argument("identifier")
@click.option("--note", default=None, help="Why (kept in the merge log).")
@workspace_option
def unmerge_command(person: str, identifier: str, note: str | None, workspace_dir: str | None) -> None:
    """Take IDENTIFIER (``type:value``) out of PERSON and keep it apart in every later build."""
    workspace = open_workspace(workspace_dir)
    person_id = resolve_person_id(workspace, person)
    override = plan_unmerge(workspace.lake.read_run_table("identities"), person_id, identifier)
    number = record_override(workspace.state.engine, override, person_id, note)
    console.print(f"Logged unmerge #{number}: {override.left_key} kept apart from {override.right_key}. "
                  "Run 'tgportrait build' to re-attribute events and labels.")


@identity_group.command("export")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the rows to this CSV file instead of printing them.")
@workspace_option
@json_option
def export_command(csv_path: Path | None, workspace_dir: str | None, as_json: bool) -> None:
    """Every identifier with its source record, person id and link probability."""
    rows = export_rows(open_workspace(workspace_dir).lake.read_run_table("identities"))
    if csv_path is not None:
        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=EXPORT_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
        console.print(f"Wrote {len(rows):,} identifier rows to {csv_path}.")
        return
    if as_json:
        print_json(rows)
        return
    for row in rows:
        click.echo("\t".join(str(row[name] if row[name] is not None else "") for name in EXPORT_FIELDS))


@identity_group.command("log")
@workspace_option
@json_option
def log_command(workspace_dir: str | None, as_json: bool) -> None:
    """The merge log: every manual merge and unmerge, active or not."""
    rows = override_log(open_workspace(workspace_dir).state.engine)
    if as_json:
        print_json(rows)
        return
    table = Table("#", "action", "identifier", "other", "person", "active", "when", "note")
    for row in rows:
        table.add_row(str(row["id"]), row["action"], row["left_key"], row["right_key"], row["person_id"] or "",
                      "yes" if row["active"] else "no", row["created_at"], row["note"] or "")
    console.print(table)


COMMANDS = [identity_group]
