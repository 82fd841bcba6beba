"""End-to-end benchmark: generate N users, time import, build and a segment query, and compare the
feature stage with a straightforward pandas implementation of the same features run on the same data.

    python -m benchmarks.run [--users 100000] [--workspace bench-workspace] [--engine duckdb]
                             [--stage all|inputs|build|compare]

Prints a table and writes ``bench-results.json`` in the workspace. Numbers are wall-clock seconds
on this machine; the comparison that matters is the ratio measured in the same run.

Three stages, each in a process of its own (``--stage all``, the default, runs them one after the
other): ``inputs`` generates and imports (``bench-inputs.json``), ``build`` builds
(``bench-build.json``), ``compare`` times a segment query and the pandas baseline against our engine
on the current run (``bench-compare.json``) and writes ``bench-results.json`` from all three.
Separate processes give each stage the machine's whole memory (at a million users the build's process
keeps ~16 GB, and pandas needs about as much) and their own peak; each stage records its commit.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from tgportrait.build import build
from tgportrait.clean.identity import IdentityResult, persons_table
from tgportrait.clean.regions import region_tables
from tgportrait.collect import import_file
from tgportrait.demo.generate import generate_community
from tgportrait.label.catalogue import feature_names
from tgportrait.label.features import FeatureInputs, build_features
from tgportrait.label.lexicon import load_lexicon
from tgportrait.portrait.segments import run_segment
from tgportrait.workspace import Workspace

BASELINE_FEATURES = ("orders_90d", "orders_total", "spend_365d_usd", "avg_order_usd", "messages_90d",
                     "reactions_90d", "active_days_90d", "last_seen_days")
BASELINE_COLUMNS = ("event_id", "person_id", "type", "occurred_at", "order_id", "amount_usd", "count", "value_tier")
PANDAS_MEMORY_SHARE = 0.8   # of the machine's RAM, as the baseline's address-space cap (it fails cleanly above)
SEGMENT_RULE = 'orders_90d >= 1 and messages_90d >= 5 and region in ("ID", "MY", "VN")'


def pandas_features(events_clean: Path, as_of: datetime) -> pd.DataFrame:
    """The baseline: the same features, written the obvious way in pandas."""
    frame = pd.read_parquet(events_clean, columns=list(BASELINE_COLUMNS))   # every part at once, no concat copy
    if "value_tier" in frame.columns:   # redundant events (emoji-only, sticker spam) are kept but not counted
        frame = frame[frame["value_tier"] != "redundant"]
    age_days = (pd.Timestamp(as_of) - frame["occurred_at"]).dt.total_seconds() // 86400
    frame["age_days"] = age_days
    orders = frame[frame["type"] == "order"].copy()
    orders["order_key"] = orders["order_id"].fillna(orders["event_id"])
    per_order = orders.groupby(["person_id", "order_key"]).agg(amount=("amount_usd", "sum"),
                                                               age=("age_days", "max")).reset_index()
    consumption = per_order.groupby("person_id").agg(
        orders_total=("order_key", "count"), avg_order_usd=("amount", "mean"),
        orders_90d=("age", lambda a: int((a < 90).sum())))
    consumption["spend_365d_usd"] = per_order[per_order["age"] < 365].groupby("person_id")["amount"].sum()
    messages = frame[frame["type"].isin(["message", "forward", "media", "sticker", "poll"])]
    activity = frame[frame["type"].isin(["message", "forward", "media", "sticker", "poll", "edited_message",
                                         "reaction", "poll_answer", "link_click", "button_click", "join", "start",
                                         "questionnaire_answer"])]
    recent = activity[activity["age_days"] < 90]
    behaviour = pd.DataFrame({   # one constructor: the index is the union of every series' persons
        "messages_90d": messages[messages["age_days"] < 90].groupby("person_id").size(),
        "reactions_90d": frame[(frame["type"] == "reaction") & (frame["age_days"] < 90)]
        .groupby("person_id")["count"].sum(),
        "active_days_90d": recent.groupby("person_id")["occurred_at"].apply(lambda s: s.dt.date.nunique()),
        "last_seen_days": activity.groupby("person_id")["age_days"].min(),
    })
    return consumption.join(behaviour, how="outer")


def pandas_stage(workspace: Workspace, limit_bytes: int) -> dict[str, Any]:
    """``--stage baseline``: the pandas baseline alone, its address space capped at ``limit_bytes``; writes
    ``bench-baseline.parquet`` (its features) and ``bench-baseline.json`` (its seconds and peak)."""
    run_id = workspace.lake.require_current_run()
    as_of = datetime.fromisoformat(str(workspace.lake.read_manifest(run_id)["as_of"]))
    events_clean = workspace.lake.run_dir(run_id) / "events_clean"
    workspace.close()
    resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    baseline, seconds = timed(pandas_features, events_clean, as_of)
    baseline.to_parquet(workspace.root / "bench-baseline.parquet")
    figures = {"seconds": round(seconds, 2), "peak_rss_mb": peak_rss_mb()}
    (workspace.root / "bench-baseline.json").write_text(json.dumps(figures))
    return figures


def pandas_in_child(workspace: Workspace, limit_bytes: int) -> tuple[pd.DataFrame | None, float | None,
                                                                     str | None, int | None]:
    """The baseline in a process of its own (its own memory and cap): (features, seconds, None, peak MB),
    or (None, None, why, None) when it fails (at a million users pandas needs more than the machine has)."""
    for name in ("bench-baseline.parquet", "bench-baseline.json"):
        (workspace.root / name).unlink(missing_ok=True)
    done = subprocess.run([sys.executable, "-m", "benchmarks.run", "--workspace", str(workspace.root.resolve()),
                           "--stage", "baseline", "--memory-limit", str(limit_bytes)],
                          cwd=Path(__file__).parent.parent, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return None, None, f"failed within {limit_bytes / 2**30:.1f} GB of address space: {last}", None
    figures = json.loads((workspace.root / "bench-baseline.json").read_text())
    baseline = pd.read_parquet(workspace.root / "bench-baseline.parquet")
    return baseline, figures["seconds"], None, figures["peak_rss_mb"]


def engine_subset_seconds(workspace: Workspace, run_dir: Path, as_of: datetime) -> float:
    """Our feature stage restricted to the baseline's features (the engine prunes what is not selected)."""
    engine = workspace.engine
    clean = engine.read_parquet(sorted((run_dir / "events_clean").glob("*.parquet")), "bench_clean")
    identifiers = pq.read_table(run_dir / "identities")
    regions, hints = region_tables()
    inputs = FeatureInputs(clean, engine.from_arrow(persons_table(IdentityResult(identifiers, 0, 0)), "bench_persons"),
                           engine.from_arrow(regions, "bench_regions"), engine.from_arrow(hints, "bench_hints"), as_of)
    expr = build_features(inputs, load_lexicon("beauty"), feature_names("beauty"))
    _, seconds = timed(engine.execute, expr.select("person_id", *BASELINE_FEATURES), "bench_subset")
    return seconds


def peak_rss_mb() -> int:
    """The process's peak resident memory so far (it only grows: read after each phase, it bounds that phase)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def timed(function: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def code_commit() -> str | None:
    """The commit the benchmark runs (None outside a git checkout)."""
    found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                           cwd=Path(__file__).parent, check=False)
    return found.stdout.strip() or None


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--workspace", type=Path, default=Path("bench-workspace"))
    parser.add_argument("--engine", default="duckdb")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--stage", choices=("all", "inputs", "build", "compare", "baseline"), default="all")
    parser.add_argument("--memory-limit", type=int, default=0, help="bytes of address space (baseline stage)")
    args = parser.parse_args(argv)
    if args.stage == "baseline":
        return pandas_stage(Workspace.open(args.workspace), args.memory_limit)
    if args.stage == "inputs":
        return generate_and_import(args)
    if args.stage == "build":
        return measure_build(Workspace.open(args.workspace))
    if args.stage == "compare":
        return compare(Workspace.open(args.workspace))
    # every stage in its own process: each starts with the machine's whole memory (a process keeps what its
    # allocator once took), and each reports its own peak
    run_stage(args.workspace, "inputs", "--users", str(args.users), "--engine", args.engine, "--seed", str(args.seed))
    run_stage(args.workspace, "build")
    run_stage(args.workspace, "compare")
    results: dict[str, Any] = json.loads((args.workspace / "bench-results.json").read_text())
    return results


def run_stage(workspace: Path, stage: str, *extra: str) -> None:
    subprocess.run([sys.executable, "-m", "benchmarks.run", "--workspace", str(workspace.resolve()), "--stage", stage,
                    *extra],
                   check=True, cwd=Path(__file__).parent.parent)


def generate_and_import(args: argparse.Namespace) -> dict[str, Any]:
    """The first stage: a fresh workspace, a generated community, every file imported."""
    shutil.rmtree(args.workspace, ignore_errors=True)
    workspace = Workspace.init(args.workspace, "beauty")
    if args.engine != "duckdb":
        config = workspace.root / "tgportrait.toml"
        config.write_text(config.read_text().replace('engine = "duckdb"', f'engine = "{args.engine}"'))
        workspace = Workspace.open(args.workspace)
    chats = max(1, args.users // 25_000)
    community, generate_seconds = timed(generate_community, args.workspace / "inputs", users=args.users,
                                        seed=args.seed, chats=chats)
    peaks = {"generate": peak_rss_mb()}
    imported = 0
    import_seconds = 0.0
    for kind, path in community.import_files:
        report, seconds = timed(import_file, workspace, kind, path)
        imported += report.imported
        import_seconds += seconds
    peaks["import"] = peak_rss_mb()
    inputs = {"users": args.users, "commit": code_commit(), "imported": imported,
              "seconds": {"generate": round(generate_seconds, 2), "import": round(import_seconds, 2)},
              "peak_rss_mb_after": peaks}
    (args.workspace / "bench-inputs.json").write_text(json.dumps(inputs, indent=2))
    print(json.dumps(inputs, indent=2), flush=True)
    return inputs


def measure_build(workspace: Workspace) -> dict[str, Any]:
    """The second stage: build the imported workspace (``bench-build.json``)."""
    build_report, build_seconds = timed(build, workspace, progress=lambda stage: print(
        f"{time.strftime('%H:%M:%S')} build: {stage} (peak RSS so far {peak_rss_mb()} MB)", flush=True))
    built = {"commit": code_commit(), "run_id": build_report.run_id, "as_of": build_report.as_of.isoformat(),
             "counts": build_report.counts, "seconds": round(build_seconds, 2), "stages": build_report.timings,
             "peak_rss_mb": peak_rss_mb()}
    (workspace.root / "bench-build.json").write_text(json.dumps(built, indent=2))
    print(json.dumps(built, indent=2), flush=True)
    return built


def compare(workspace: Workspace) -> dict[str, Any]:
    """The third stage, on the current run: a segment query, and the pandas baseline against our engine; then
    ``bench-results.json`` from all three stages."""
    run_id = workspace.lake.require_current_run()
    as_of = datetime.fromisoformat(str(workspace.lake.read_manifest(run_id)["as_of"]))
    peaks: dict[str, int] = {}
    segment, segment_seconds = timed(run_segment, workspace, SEGMENT_RULE)
    run_dir = workspace.lake.run_dir(run_id)
    subset_seconds = engine_subset_seconds(workspace, run_dir, as_of)
    peaks["engine_same_features"] = peak_rss_mb()
    workspace.close()
    limit = int(PANDAS_MEMORY_SHARE * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    baseline, pandas_seconds, pandas_error, peaks["pandas_baseline"] = pandas_in_child(workspace, limit)
    mismatches: dict[str, int] | None = None
    if baseline is not None:
        ours = pq.read_table(run_dir / "features").to_pandas().set_index("person_id")
        mismatches = {}
        for name in BASELINE_FEATURES:
            joined = ours[[name]].join(baseline[[name]].add_suffix("_pandas"), how="inner").fillna(0)
            differs = ~np.isclose(joined[name].astype(float), joined[f"{name}_pandas"].astype(float), atol=0.01)
            mismatches[name] = int(differs.sum())
    compared = {"commit": code_commit(), "run_id": run_id, "segment_count": segment.count,
                "seconds": {"segment_query": round(segment_seconds, 3),
                            "pandas_features": None if pandas_seconds is None else round(pandas_seconds, 2),
                            "engine_same_features": round(subset_seconds, 2)},
                "pandas_error": pandas_error, "baseline_mismatches": mismatches, "peak_rss_mb_after": peaks}
    (workspace.root / "bench-compare.json").write_text(json.dumps(compared, indent=2))
    print(json.dumps(compared, indent=2), flush=True)
    return merged_results(workspace)


def merged_results(workspace: Workspace) -> dict[str, Any]:
    """``bench-results.json``: the three stages' figures and the ratios between them."""
    inputs, built, compared = (json.loads((workspace.root / f"bench-{stage}.json").read_text())
                               for stage in ("inputs", "build", "compare"))
    imported, import_seconds = inputs["imported"], inputs["seconds"]["import"]
    pandas_seconds = compared["seconds"]["pandas_features"]

    def per_pandas(seconds: float) -> float | None:
        return None if pandas_seconds is None else round(seconds / pandas_seconds, 3)

    results = {
        "users": inputs["users"], "engine": workspace.settings.engine,
        "commit": {"inputs": inputs["commit"], "build": built["commit"], "compare": compared["commit"]},
        "events": built["counts"]["events"], "persons": built["counts"]["persons"], "counts": built["counts"],
        "seconds": {**inputs["seconds"], "build": built["seconds"], "build_stages": built["stages"],
                    **compared["seconds"]},
        "import_events_per_second": round(imported / import_seconds) if import_seconds else None,
        "feature_stage_all_columns_vs_pandas_subset": per_pandas(built["stages"]["features"]),
        "same_features_engine_vs_pandas": per_pandas(compared["seconds"]["engine_same_features"]),
        "pandas_error": compared["pandas_error"],
        "segment_count": compared["segment_count"],
        "baseline_mismatches": compared["baseline_mismatches"],
        "peak_rss_mb_per_stage": {**{f"inputs_{k}": v for k, v in inputs["peak_rss_mb_after"].items()},
                                  "build": built["peak_rss_mb"], **compared["peak_rss_mb_after"]},
    }
    (workspace.root / "bench-results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
