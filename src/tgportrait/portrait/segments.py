"""Segments: reads the current run's features, labels and activity; writes counts and exports.

A segment is a rule of the rule language evaluated over every person of the run. Rules are
checked (all errors at once) before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tgportrait.clean.erasure import register_export
from tgportrait.errors import InputError
from tgportrait.label.taxonomy import load_taxonomy
from tgportrait.portrait.query import run_as_of
from tgportrait.rules import RuleOrigin, RuleTables, check_rule
from tgportrait.workspace import Workspace

EXPORT_COLUMNS = ("person_id", "summary")


@dataclass(frozen=True)
class SegmentResult:
    rule: str
    explanation: str
    count: int
    total: int
    members: pa.Table      # person_id, summary, attributes (JSON)
    workspace_root: Path | None = None   # exports are registered there (see clean.erasure.register_export)

    @property
    def share(self) -> float:
        return round(self.count / self.total, 6) if self.total else 0.0

    def as_dict(self, sample: int = 10) -> dict[str, Any]:
        return {"count": self.count, "total": self.total, "share": self.share, "rule": self.rule,
                "explanation": self.explanation,
                "sample": self.members.slice(0, sample).select(["person_id", "summary"]).to_pylist()}


def run_segment(workspace: Workspace, rule_text: str, origin: RuleOrigin | None = None) -> SegmentResult:
    taxonomy = load_taxonomy(workspace.taxonomy_path, workspace.settings.industry)
    checked = check_rule(rule_text, taxonomy.rule_catalog(), origin or RuleOrigin(file="<segment>"))
    run_id = workspace.lake.require_current_run()
    engine = workspace.engine

    def table(name: str) -> Any:
        return engine.read_parquet(sorted(workspace.lake.run_table_path(run_id, name).glob("*.parquet")), name)

    features = table("features")
    tables = RuleTables(features=features, labels=table("labels").select("person_id", "label_id"),
                        events=table("activity"), now=run_as_of(workspace, run_id))
    matched = features.filter(checked.compile(tables)).select("person_id")
    portraits = table("portraits")
    members_expr = matched.join(portraits.select("person_id", "summary", "attributes"), "person_id").order_by(
        "person_id")
    members = engine.execute(members_expr, "segment")
    total = int(engine.scalar(features.count(), "features"))
    return SegmentResult(rule_text, checked.explain(), members.num_rows, total, members, workspace.root)


def export_segment(result: SegmentResult, path: Path) -> Path:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise InputError(f"cannot export to '{path}'", hint="Use a file name ending in .csv or .parquet.")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        pacsv.write_csv(result.members, path)
    else:
        pq.write_table(result.members, path)
    if result.workspace_root is not None:
        register_export(result.workspace_root, path)
    return path
