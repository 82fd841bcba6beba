"""``tgportrait build``, ``quality``, ``persons``, ``portrait`` and ``segment``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from tgportrait.build import build
from tgportrait.cli.common import console, json_option, open_workspace, print_json, workspace_option
from tgportrait.portrait import query
from tgportrait.portrait.segments import export_segment, run_segment
from tgportrait.report.figures import gather_report
from tgportrait.report.html import write_report


@click.command("build")
@click.option("--as-of", type=click.DateTime(), default=None,
              help="Reference time (UTC) for windows such as 'last 90 days'; default: now.")
@workspace_option
@json_option
def build_command(as_of: datetime | None, workspace_dir: str | None, as_json: bool) -> None:
    """Run the pipeline and publish a new run (the previous one stays readable until it is done)."""
    workspace = open_workspace(workspace_dir)
    with console.status("building…") as status:
        report = build(workspace, as_of=as_of, progress=lambda message: status.update(message))
    if as_json:
        print_json(report.as_dict())
        return
    counts, quality = report.counts, report.quality
    console.print(f"Published run [bold]{report.run_id}[/] on {report.engine} "
                  f"in {sum(report.timings.values()):.1f}s.")
    console.print(f"  events {counts['events']:,} → clean {counts['events_clean']:,}; persons {counts['persons']:,}; "
                  f"labels {counts['labels']:,} on {counts['labelled_persons']:,} persons")
    _print_quality_line(quality)


def _print_quality_line(quality: dict[str, Any]) -> None:
    before, after = quality["before"], quality["after"]
    console.print(f"  duplication {before['duplication_rate']:.1%} → {after['duplication_rate']:.1%}; "
                  f"invalid {before['invalid_rate']:.1%} → {after['invalid_rate']:.1%}")


@click.command("quality")
@workspace_option
@json_option
def quality_command(workspace_dir: str | None, as_json: bool) -> None:
    """Duplication and invalid rates before and after cleaning, per source."""
    report = query.quality(open_workspace(workspace_dir))
    if as_json:
        print_json(report)
        return
    _print_quality_line(report)
    table = Table("source", "records in", "duplicates", "quarantined", "invalid", "kept", "invalid reasons",
                  "merged det/fuzzy/manual", "redundant", "consent-blocked", "invalid identifiers")
    for source, row in report["by_source"].items():
        reasons = ", ".join(f"{reason}: {n}" for reason, n in row["invalid_by_reason"].items())
        identifiers = ", ".join(f"{reason}: {n}" for reason, n in row.get("invalid_identifiers_by_reason", {}).items())
        merged = "/".join(f"{row.get(f'merged_{kind}', 0):,}" for kind in ("deterministic", "fuzzy", "manual"))
        table.add_row(source, f"{row['records_in']:,}", f"{row['duplicates']:,}", f"{row['quarantined']:,}",
                      f"{row['invalid']:,}", f"{row['kept']:,}", reasons, merged,
                      f"{row.get('redundant_share', 0.0):.1%}", f"{row.get('consent_blocked_share', 0.0):.1%}",
                      identifiers)
    console.print(table)
    before, after = report["before"], report["after"]
    console.print(f"Consent: {after.get('consent_blocked', 0):,} cleaned events "
                  f"({after.get('consent_blocked_share', 0.0):.1%}) belong to persons excluded from profiling; "
                  f"redundant share {after.get('redundant_share', 0.0):.1%}; invalid identifiers dropped at import: "
                  f"{before.get('invalid_identifiers', 0):,}")
    identity = report["identity"]
    console.print(f"Identity: {identity['profile_records']:,} profile records → {identity['persons']:,} persons "
                  f"({identity['merged_records']:,} merged); blocked identifiers: {identity['blocked_identifiers']}")
    prelabel = report.get("prelabel")
    if prelabel:
        console.print(f"Pre-labels: {prelabel['with_demand_label']:,} of {prelabel['persons_with_core_data']:,} "
                      f"persons with messages or orders have a demand label ({prelabel['coverage']:.1%})")


@click.command("persons")
@click.option("--limit", type=int, default=20, show_default=True)
@workspace_option
@json_option
def persons_command(limit: int, workspace_dir: str | None, as_json: bool) -> None:
    """List persons of the current run with their summaries (most labelled first)."""
    rows = query.persons(open_workspace(workspace_dir), limit)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        console.print(f"[bold]{row['person_id']}[/]  {row['summary']}")


@click.command("portrait")
@click.argument("person")
@workspace_option
@json_option
def portrait_command(person: str, workspace_dir: str | None, as_json: bool) -> None:
    """Show the 360-degree portrait of PERSON (a person id or any identifier)."""
    document = query.portrait(open_workspace(workspace_dir), person)
    if as_json:
        print_json(document)
        return
    console.print(f"[bold]{document['person_id']}[/]: {document['summary']}")
    console.print("Identifiers: " + ", ".join(f"{i['type']}={i['value']}" for i in document["identifiers"]))
    console.print("Attributes: " + ", ".join(f"{k}={v}" for k, v in document["attributes"].items()))
    for label in document["labels"]:
        evidence = dict(label["evidence"] or {})
        examples = evidence.pop("examples", [])
        console.print(f"  {label['weight']:.2f}  {' › '.join(label['path'])}  [dim]{escape(str(evidence))}[/]")
        for example in examples:   # the messages that produced a demand label (label.assign.with_message_examples)
            console.print(f"        [italic]“{escape(example)}”[/]")
    console.print("Facts: " + ", ".join(f"{k}={v}" for k, v in document["facts"].items()))


@click.command("segment")
@click.argument("rule")
@click.option("--export", "export_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the members to a .csv or .parquet file.")
@workspace_option
@json_option
def segment_command(rule: str, export_path: Path | None, workspace_dir: str | None, as_json: bool) -> None:
    """Count (and export) the persons matching RULE.

    \b
    Example:
        tgportrait segment 'orders_90d >= 1 and asked("new_product", days=90)'
    """
    result = run_segment(open_workspace(workspace_dir), rule)
    if export_path is not None:
        export_segment(result, export_path)
    if as_json:
        document = result.as_dict()
        if export_path is not None:
            document["export"] = str(export_path)
        print_json(document)
        return
    console.print(f"[bold]{result.count:,}[/] of {result.total:,} persons ({result.share:.1%}): {result.explanation}")
    if export_path is not None:
        console.print(f"Exported to {export_path}")


@click.command("report")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="HTML file to write (default: report.html in the workspace).")
@workspace_option
def report_command(output: Path | None, workspace_dir: str | None) -> None:
    """Write the HTML report of the current run (self-contained: no external assets)."""
    workspace = open_workspace(workspace_dir)
    data = gather_report(workspace, segments=[], notes=[], title=f"tgportrait report: {workspace.root.name}")
    path = write_report(data, output or workspace.root / "report.html")
    console.print(f"Report: {path}")


COMMANDS = [build_command, quality_command, persons_command, portrait_command, segment_command, report_command]
