"""The demo: generates a community, imports it, builds, and writes the report.

Reads nothing outside its workspace; writes ``DIR/inputs`` (generated files), the workspace's
lake and state, and ``DIR/report.html``. Everything goes through the same library functions
a real workspace uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tgportrait.build import BuildReport, build
from tgportrait.collect import ImportReport, import_file
from tgportrait.demo.evaluate import evaluate_identity
from tgportrait.demo.generate import GeneratedCommunity, generate_community
from tgportrait.label.lexicon import load_lexicon
from tgportrait.portrait import query
from tgportrait.portrait.segments import run_segment
from tgportrait.report.figures import gather_report
from tgportrait.report.html import write_report
from tgportrait.workspace import Workspace

DEMO_SEGMENTS: tuple[tuple[str, str], ...] = (
    ("Recent buyers asking about new products", 'orders_90d >= 1 and asked("new_product", days=90)'),
    ("High spenders (≥ 200 USD this year)", "spend_365d_usd >= 200"),
    ("Active chatters, no order yet", "messages_90d >= 10 and orders_total == 0"),
    ("Dormant members", "last_seen_days > 45 and messages_total >= 3"),
    ("Indonesian members", 'region == "ID"'),
)

NOTES = (
    "The community is generated (synthetic people, messages and orders); order counts and spend are calibrated "
    "on the real CDNOW transactions.",
    "Identity resolution links shared identifiers (Telegram id, phone, e-mail, CRM id, username) and, with "
    "Splink, records that agree only fuzzily (misspelt names); the quality report says how.",
    "Demand comes from the multilingual keyword lexicon: the demo trains no intent model "
    "(the command tgportrait intents train adds one, which the build then runs).",
    "Local hours use standard-time offsets per region (no daylight saving).",
)


@dataclass
class DemoResult:
    workspace: Workspace
    community: GeneratedCommunity
    imports: list[tuple[str, Path, ImportReport]] = field(default_factory=list)
    build: BuildReport | None = None
    segments: list[dict[str, Any]] = field(default_factory=list)
    identity_truth: dict[str, Any] = field(default_factory=dict)
    report_path: Path | None = None


def run_demo(directory: Path, *, users: int = 20_000, seed: int = 7, industry: str = "beauty", force: bool = False,
             progress: Callable[[str], None] | None = None) -> DemoResult:
    say = progress or (lambda _message: None)
    workspace = Workspace.init(directory, industry, force=force)
    if force:
        _reset(workspace)
    say(f"generating a community of {users:,} users")
    community = generate_community(directory / "inputs", users=users, seed=seed, industry=industry)
    result = DemoResult(workspace, community)
    for kind, path in community.import_files:
        say(f"importing {path.name}")
        result.imports.append((kind, path, import_file(workspace, kind, path)))
    result.build = build(workspace, progress=say)
    first_topic = load_lexicon(industry).topic_ids[0]
    segments = [*DEMO_SEGMENTS, (f"Interested in {first_topic.replace('_', ' ')}", f"interest_{first_topic} >= 1")]
    for name, rule in segments:
        segment = run_segment(workspace, rule)
        result.segments.append({"name": name, "rule": rule, "count": segment.count, "share": segment.share})
    identities = workspace.lake.read_run_table("identities")
    result.identity_truth = evaluate_identity(identities, community.truth_json)
    say("writing the report")
    notes = [*NOTES, _truth_note(result.identity_truth)]
    examples = [row["person_id"] for row in query.persons(workspace, 3)]
    data = gather_report(workspace, segments=result.segments, notes=notes, title="tgportrait demo community",
                         examples=examples)
    result.report_path = write_report(data, directory / "report.html")
    return result


def _truth_note(truth: dict[str, Any]) -> str:
    return (f"Against the generator's truth: {truth['residual_duplication_rate']:.1%} residual duplicates "
            f"({truth['residual_duplicates']:,} extra pieces of {truth['true_persons']:,} people) and "
            f"{truth['false_merge_rate']:.2%} false merges.")


def _reset(workspace: Workspace) -> None:
    """Empty the lake and state of a demo workspace being rebuilt with --force."""
    import shutil

    shutil.rmtree(workspace.lake.root, ignore_errors=True)
    workspace.lake.root.mkdir(parents=True, exist_ok=True)
    with workspace.state.engine.begin() as connection:
        from tgportrait.store.state import METADATA

        for table in reversed(METADATA.sorted_tables):
            connection.execute(table.delete())
