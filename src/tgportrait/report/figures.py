"""Gather a run's figures for the HTML report: reads the current run, writes a ``ReportData``.

Shared by ``tgportrait report`` and the demo. Aggregations run on the workspace's engine.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import ibis
import pyarrow as pa

from tgportrait.clean.regions import REGIONS
from tgportrait.portrait.build import portrait_document
from tgportrait.report.html import ReportData
from tgportrait.workspace import Workspace

HISTOGRAMS: dict[str, tuple[float, ...]] = {
    "spend_365d_usd": (0, 1, 50, 100, 200, 500, 1000, 2000),
    "orders_total": (0, 1, 2, 3, 5, 10, 20),
    "messages_90d": (0, 1, 5, 10, 20, 50, 100),
}


def _bucket_label(edges: tuple[float, ...], index: int) -> str:
    low = edges[index]
    if index == len(edges) - 1:
        return f"{low:g}+"
    high = edges[index + 1]
    return f"{low:g}" if high - low == 1 and float(low).is_integer() else f"{low:g}–{high:g}"


def histogram(values: list[float | None], edges: tuple[float, ...]) -> list[tuple[str, int]]:
    counts = [0] * len(edges)
    for value in values:
        number = float(value or 0)
        index = max(i for i, edge in enumerate(edges) if number >= edge) if number >= edges[0] else 0
        counts[index] += 1
    return [(_bucket_label(edges, i), n) for i, n in enumerate(counts)]


def label_distribution(labels: pa.Table, persons: int) -> list[dict[str, Any]]:
    counts: dict[str, dict[str, Any]] = {}
    for row in labels.select(["label_id", "level1", "level2", "level3"]).to_pylist():
        entry = counts.setdefault(row["label_id"], {"label_id": row["label_id"],
                                                    "path": [row["level1"], row["level2"], row["level3"]],
                                                    "persons": 0})
        entry["persons"] += 1
    rows = sorted(counts.values(), key=lambda item: (-item["persons"], item["label_id"]))
    for row in rows:
        row["share"] = round(row["persons"] / persons, 6) if persons else 0.0
    return rows


def activity_by_hour(workspace: Workspace, run_id: str) -> list[int]:
    engine = workspace.engine
    lake = workspace.lake
    clean = engine.read_parquet(sorted(lake.run_table_path(run_id, "events_clean").glob("*.parquet")), "clean")
    features = engine.read_parquet(sorted(lake.run_table_path(run_id, "features").glob("*.parquet")), "features")
    offsets = engine.from_arrow(pa.table({"region": list(REGIONS),
                                          "offset": pa.array([v[1] for v in REGIONS.values()], pa.int64())}),
                                "offsets")
    messages = clean.filter(clean.type.isin(["message", "forward", "media", "sticker", "poll"]))
    located = messages.join(features.select("person_id", "region"), "person_id").left_join(
        offsets, ibis._.region == offsets.region)
    minutes = located.occurred_at.hour().cast("int64") * 60 + located.occurred_at.minute().cast("int64")
    hour = (((minutes + located.offset.fill_null(0) + 1440) % 1440) // 60).cast("int64")
    table = engine.execute(located.mutate(hour=hour).group_by("hour").aggregate(n=ibis._.count()), "activity_hours")
    counts = [0] * 24
    for row in table.to_pylist():
        counts[int(row["hour"])] = int(row["n"])
    return counts


def gather_report(workspace: Workspace, *, segments: list[dict[str, Any]], notes: list[str],
                  title: str = "tgportrait report", examples: list[str] | None = None) -> ReportData:
    lake = workspace.lake
    run_id = lake.require_current_run()
    manifest = lake.read_manifest(run_id)
    features = lake.read_run_table("features", run_id)
    labels = lake.read_run_table("labels", run_id)
    portraits = lake.read_run_table("portraits", run_id)
    quality = json.loads((lake.run_dir(run_id) / "quality.json").read_text())
    persons = features.num_rows
    languages: dict[str, int] = {}
    for language in features.column("language").to_pylist():
        if language:
            languages[language] = languages.get(language, 0) + 1
    wanted = set(examples or [])
    rows = [row for row in portraits.to_pylist() if row["person_id"] in wanted] if wanted else []
    if not rows:
        rows = sorted(portraits.to_pylist(), key=lambda row: (-row["label_count"], row["person_id"]))[:3]
    counts = manifest.get("counts", {})
    return ReportData(
        title=title, generated_at=datetime.now(UTC).replace(tzinfo=None), workspace=str(workspace.root),
        engine=str(manifest.get("engine")), run_id=run_id,
        imports=[{key: entry[key] for key in ("source", "file", "imported", "duplicates", "quarantined", "by_type")}
                 for entry in workspace.state.imports()],
        quality=quality, persons=persons, label_distribution=label_distribution(labels, persons),
        segments=segments, example_portraits=[portrait_document(row) for row in rows],
        feature_histograms={name: histogram(features.column(name).to_pylist(), edges)
                            for name, edges in HISTOGRAMS.items()},
        activity_by_hour=activity_by_hour(workspace, run_id), languages=dict(sorted(
            languages.items(), key=lambda item: -item[1])), notes=notes,
        labelled_persons=int(counts.get("labelled_persons", 0)) if isinstance(counts, dict) else None,
    )
