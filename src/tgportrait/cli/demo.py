"""``tgportrait demo``: generate a realistic community, run the pipeline, print and report the result."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.table import Table

from tgportrait.cli.common import console
from tgportrait.demo.run import run_demo
from tgportrait.portrait import query


@click.command("demo")
@click.option("--users", type=click.IntRange(100, 2_000_000), default=20_000, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--industry", type=click.Choice(["beauty", "3c", "apparel", "fmcg", "education"]), default="beauty",
              show_default=True)
@click.option("--workspace", "-w", "workspace_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Workspace folder to (re)create  [default: demo-workspace]")
@click.option("--force", is_flag=True, help="Rebuild an existing demo workspace from scratch.")
def demo_command(users: int, seed: int, industry: str, workspace_dir: Path | None, force: bool) -> None:
    """Generate a community, import it, build portraits and write an HTML report."""
    started = time.perf_counter()
    root_choice = (click.get_current_context().find_root().obj or {}).get("workspace")
    workspace_dir = workspace_dir or Path(root_choice or "demo-workspace")
    with console.status("starting…") as status:
        result = run_demo(workspace_dir, users=users, seed=seed, industry=industry, force=force,
                          progress=lambda message: status.update(message))
    workspace = result.workspace
    imports = Table("import", "file", "imported", "duplicates", "quarantined", title="Imports")
    for kind, path, report in result.imports:
        imports.add_row(kind, path.name, f"{report.imported:,}", f"{report.duplicates:,}", f"{report.quarantined:,}")
    console.print(imports)
    quality = query.quality(workspace)
    before, after = quality["before"], quality["after"]
    console.print(f"[bold]Quality[/]: duplication {before['duplication_rate']:.1%} → {after['duplication_rate']:.1%}, "
                  f"invalid {before['invalid_rate']:.1%} → {after['invalid_rate']:.1%} "
                  f"({quality['identity']['profile_records']:,} profile records → "
                  f"{quality['identity']['persons']:,} persons)")
    truth = result.identity_truth
    console.print(f"  against the generator's truth: residual duplicates {truth['residual_duplication_rate']:.1%}, "
                  f"false merges {truth['false_merge_rate']:.2%}")
    if result.build is not None:
        console.print(f"  consent: {result.build.counts.get('excluded_by_consent', 0):,} persons excluded from "
                      "profiling (no consent, under-age or unknown age; see 'tgportrait compliance check')")
    labels = workspace.lake.read_run_table("labels")
    counts: dict[str, int] = {}
    for label_id in labels.column("label_id").to_pylist():
        counts[label_id] = counts.get(label_id, 0) + 1
    distribution = Table("label", "persons", title="Label distribution (top 15)")
    for label_id, count in sorted(counts.items(), key=lambda item: -item[1])[:15]:
        distribution.add_row(label_id, f"{count:,}")
    console.print(distribution)
    console.print("[bold]Example portraits[/]")
    for row in query.persons(workspace, 3):
        console.print(f"  {row['person_id']}: {row['summary']}")
    segments = Table("segment", "rule", "persons", "share", title="Segments")
    for segment in result.segments:
        segments.add_row(segment["name"], segment["rule"], f"{segment['count']:,}", f"{segment['share']:.1%}")
    console.print(segments)
    console.print(f"Report: {result.report_path}  (total {time.perf_counter() - started:.0f}s)")


COMMANDS = [demo_command]
