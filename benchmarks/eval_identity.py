"""Identity evaluation: reads FEBRL dataset1/2/3 and a generated community, writes eval/identity.json.

    python -m benchmarks.eval_identity [--data ../shared/data/record_linkage] [--users 10000] [--out eval/identity.json]
                                       [--engine duckdb|spark://local[2]] [--sets dataset1,dataset2,dataset3]

FEBRL truth is in ``rec_id``: ``rec-N-org`` and every ``rec-N-dup-k`` are one person. Each record is
a CRM customer (its ``rec_id`` the customer id); the fuzzy links of :func:`link_records` go through
the same guarded union-find as a build (:func:`resolve_identities`), and precision, recall and F1
are computed over duplicate pairs (every pair of records placed in one person). The generated
community (``tgportrait demo``'s generator: CRM copies of Telegram users with typos, reformatted
phones, e-mail case changes, transliterated names) is imported and built like the demo, and scored
with :func:`tgportrait.demo.evaluate.evaluate_identity` (residual duplication, false merges).
``--engine`` runs the FEBRL linkage's prediction on that engine (``spark://local[2]``: Splink's SparkAPI
with the similarity jar; training always runs on DuckDB); the generated community is built the demo's
way, on DuckDB.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from tgportrait.clean.identity import resolve_identities
from tgportrait.clean.linkage import link_records
from tgportrait.config import IdentitySettings
from tgportrait.store.engine import Engine, connect_engine
from tgportrait.store.tables import IDENTIFIER_TYPES

FEBRL_SETS = ("dataset1", "dataset2", "dataset3")
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "record_linkage"


def febrl_records(path: Path, limit: int | None = None) -> pa.Table:
    """FEBRL columns → linkage columns (the mapping a ``crm-customers --map`` import would use)."""
    table = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(), convert_options=pacsv.ConvertOptions(
        column_types={name: pa.string() for name in ("street_number", "postcode", "date_of_birth", "soc_sec_id")}))
    rows = []
    for row in table.rename_columns([name.strip() for name in table.column_names]).to_pylist():
        clean = {key: (str(value).strip() or None) if value is not None else None for key, value in row.items()}
        street = " ".join(part for part in (clean["street_number"], clean["address_1"]) if part) or None
        rows.append({"unique_id": clean["rec_id"], "first_name": clean["given_name"], "last_name": clean["surname"],
                     "birth_date": clean["date_of_birth"], "city": clean["suburb"], "postcode": clean["postcode"],
                     "street": street})
    rows.sort(key=lambda item: item["unique_id"])
    return pa.Table.from_pylist(rows[:limit] if limit else rows)


def truth_pairs(ids: list[str]) -> set[tuple[str, str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for rec_id in ids:
        groups[rec_id.split("-")[1]].append(rec_id)
    return {tuple(sorted(pair)) for members in groups.values() for pair in combinations(members, 2)}  # type: ignore[misc]


def resolved_pairs(person_of: dict[str, str]) -> set[tuple[str, str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for rec_id, person in person_of.items():
        groups[person].append(rec_id)
    return {tuple(sorted(pair)) for members in groups.values() for pair in combinations(members, 2)}  # type: ignore[misc]


def pair_scores(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> dict[str, Any]:
    hits = len(found & truth)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"true_pairs": len(truth), "found_pairs": len(found), "correct_pairs": hits,
            "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def resolve_customers(records: pa.Table, settings: IdentitySettings,
                      engine: Engine | None = None) -> tuple[dict[str, str], dict[str, float]]:
    """Link (on ``engine``, default a DuckDB of its own) and resolve customer records; rec_id → person_id, timings."""
    started = time.perf_counter()
    linkage = link_records(records, settings, engine=engine)
    ids = records.column("unique_id").to_pylist()
    identifier_rows = pa.table({"source": ["crm_customers"] * len(ids),
                                **{name: [rec if name == "crm_customer_id" else None for rec in ids]
                                   for name in IDENTIFIER_TYPES}})
    links = [("fuzzy", f"crm_customer_id:{row['left_id']}", f"crm_customer_id:{row['right_id']}", row["probability"],
              row["comparison"]) for row in linkage.links.to_pylist()]
    result = resolve_identities(identifier_rows, settings, fuzzy_links=links)
    person_of = {row["id_value"]: row["person_id"] for row in result.identifiers.to_pylist()}
    seconds = {**linkage.seconds, "total": round(time.perf_counter() - started, 3)}
    return person_of, seconds


def evaluate_febrl(data: Path, settings: IdentitySettings, names: tuple[str, ...] = FEBRL_SETS,
                   limit: int | None = None, engine: Engine | None = None) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in names:
        records = febrl_records(data / f"{name}.csv", limit)
        person_of, seconds = resolve_customers(records, settings, engine)
        scores = pair_scores(resolved_pairs(person_of), truth_pairs(records.column("unique_id").to_pylist()))
        results[name] = {"records": records.num_rows, **scores, "seconds": seconds}
    return results


def evaluate_generator(users: int, seed: int = 7) -> dict[str, Any]:
    """Generate a community, import and build it (the demo path), score the identity map against truth.json."""
    from tgportrait.demo.run import run_demo

    with tempfile.TemporaryDirectory(prefix="eval-identity-") as folder:
        started = time.perf_counter()
        result = run_demo(Path(folder) / "demo", users=users, seed=seed, force=True)
        seconds = round(time.perf_counter() - started, 1)
        timings = result.build.timings if result.build else {}
        result.workspace.close()
    return {"users": users, "seed": seed, **result.identity_truth, "seconds": seconds,
            "identity_seconds": timings.get("identity")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--users", type=int, default=10_000, help="size of the generated community (0: skip it)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "eval" / "identity.json")
    parser.add_argument("--engine", default="duckdb", help='engine URL: "duckdb" or "spark://local[2]"')
    parser.add_argument("--sets", default=",".join(FEBRL_SETS), help="FEBRL data sets, comma-separated")
    args = parser.parse_args()
    settings = IdentitySettings()  # type: ignore[call-arg]
    with tempfile.TemporaryDirectory(prefix="eval-identity-engine-") as scratch:
        engine = connect_engine(args.engine, Path(scratch))
        report: dict[str, Any] = {"engine": args.engine, "febrl": evaluate_febrl(
            args.data, settings, tuple(args.sets.split(",")), engine=engine)}
        engine.close()
    for name, row in report["febrl"].items():
        print(f"{name}: {row['records']} records, precision {row['precision']:.4f} recall {row['recall']:.4f} "
              f"F1 {row['f1']:.4f} in {row['seconds']['total']:.1f}s")
    if args.users:
        generated = report["generator"] = evaluate_generator(args.users)
        print(f"generator ({generated['users']:,} users): residual duplication "
              f"{generated['residual_duplication_rate']:.4%}, false merges {generated['false_merge_rate']:.4%} "
              f"(import + build {generated['seconds']}s, identity stage {generated['identity_seconds']}s)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
