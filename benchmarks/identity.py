"""Identity benchmark: generates N synthetic customer records with injected duplicates, times their resolution.

    python -m benchmarks.identity [--records 1000000] [--duplicate-share 0.1] [--seed 3]

Records carry a CRM customer id, names, birth date, city, postcode, street, phone and e-mail drawn
from large synthetic pools; a share of them are copies of another record with a typo in a name,
a missing phone or e-mail and a changed e-mail domain. Resolution is the build's: Splink on DuckDB
(EM on these records) plus the guarded union-find. Prints the seconds of each step and the pair
precision and recall against the injected truth; writes ``eval/identity-bench.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from benchmarks.eval_identity import REPO_ROOT, pair_scores, resolved_pairs
from tgportrait.clean.identity import resolve_identities
from tgportrait.clean.linkage import fuzzy_links, link_records
from tgportrait.config import IdentitySettings
from tgportrait.store.tables import IDENTIFIER_TYPES

LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))
SYLLABLES = np.array([c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"])


def _pool(rng: np.random.Generator, size: int, parts: int) -> np.ndarray:
    chosen = rng.choice(SYLLABLES, (size, parts))
    return np.array(["".join(row) for row in chosen])


def _typo(rng: np.random.Generator, word: str) -> str:
    if len(word) < 3:
        return word
    position = int(rng.integers(1, len(word) - 1))
    return word[:position] + str(rng.choice(LETTERS)) + word[position + 1:]


def synthetic_customers(records: int, duplicate_share: float, seed: int) -> tuple[pa.Table, dict[str, int]]:
    """Linkage records (``unique_id`` = customer id) and the true entity of each."""
    rng = np.random.default_rng(seed)
    originals = int(records / (1 + duplicate_share))
    first_pool, last_pool = _pool(rng, 3000, 3), _pool(rng, 20000, 3)
    city_pool, street_pool = _pool(rng, 2000, 4), _pool(rng, 50000, 3)
    first = first_pool[rng.integers(0, first_pool.size, originals)]
    last = last_pool[rng.integers(0, last_pool.size, originals)]
    city_index = rng.integers(0, city_pool.size, originals)
    birth = (np.datetime64("1950-01-01") + rng.integers(0, 20000, originals)).astype(str)
    street = [f"{n} {s}" for n, s in zip(rng.integers(1, 300, originals), street_pool[
        rng.integers(0, street_pool.size, originals)], strict=True)]
    postcode = [str(10000 + 4 * city + extra) for city, extra in zip(
        city_index.tolist(), rng.integers(0, 4, originals).tolist(), strict=True)]
    phone = [f"+1{n}" for n in rng.integers(2_000_000_000, 9_999_999_999, originals)]
    rows: dict[str, list[Any]] = {name: [] for name in ("unique_id", "first_name", "last_name", "birth_date",
                                                         "phone", "email", "city", "postcode", "street")}
    truth: dict[str, int] = {}

    def add(entity: int, key: str, values: tuple[Any, ...]) -> None:
        rows["unique_id"].append(f"crm_customer_id:{key}")
        for name, value in zip(list(rows)[1:], values, strict=True):
            rows[name].append(value)
        truth[f"crm_customer_id:{key}"] = entity

    for index in range(originals):
        email = f"{first[index]}.{last[index]}{index}@mail.example"
        add(index, f"C{index}", (first[index], last[index], birth[index], phone[index], email,
                                 city_pool[city_index[index]], postcode[index], street[index]))
    for copy, index in enumerate(rng.integers(0, originals, records - originals).tolist()):
        draw = rng.random(4)
        email = f"{first[index]}.{last[index]}{index}@mail.example"
        add(index, f"D{copy}", (_typo(rng, first[index]) if draw[0] < 0.5 else first[index],
                                _typo(rng, last[index]) if draw[0] >= 0.5 else last[index], birth[index],
                                phone[index] if draw[1] < 0.5 else None,
                                email.replace("mail.example", "post.example") if draw[2] < 0.5 else None,
                                city_pool[city_index[index]], postcode[index],
                                street[index] if draw[3] < 0.7 else None))
    return pa.table({name: pa.array(values, pa.string()) for name, values in rows.items()}), truth


def run(records: int, duplicate_share: float, seed: int) -> dict[str, Any]:
    table, truth = synthetic_customers(records, duplicate_share, seed)
    settings = IdentitySettings()  # type: ignore[call-arg]
    started, cpu_started = time.perf_counter(), time.process_time()
    linkage = link_records(table, settings)
    linked = time.perf_counter()
    ids = [key.split(":", 1)[1] for key in table.column("unique_id").to_pylist()]
    keyed = pa.table({"source": pa.array(["crm_customers"] * len(ids)),
                      **{name: pa.array(ids if name == "crm_customer_id" else [None] * len(ids), pa.string())
                         for name in IDENTIFIER_TYPES}})
    result = resolve_identities(keyed, settings, fuzzy_links=fuzzy_links(linkage))
    finished = time.perf_counter()
    person_of = dict(zip(["crm_customer_id:" + value for value in result.identifiers.column("id_value").to_pylist()],
                         result.identifiers.column("person_id").to_pylist(), strict=True))
    groups: dict[int, list[str]] = {}
    for key, entity in truth.items():
        groups.setdefault(entity, []).append(key)
    true_pairs = {tuple(sorted(pair)) for members in groups.values() for pair in combinations(members, 2)}
    scores = pair_scores(resolved_pairs(person_of), true_pairs)  # type: ignore[arg-type]
    return {"records": table.num_rows, "persons": result.persons, "candidate_pairs": linkage.candidate_pairs,
            "links": linkage.links.num_rows, "seconds": {**linkage.seconds, "linkage": round(linked - started, 2),
                                                         "union_find": round(finished - linked, 2),
                                                         "total": round(finished - started, 2),
                                                         "cpu_total": round(time.process_time() - cpu_started, 2)},
            **scores}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--duplicate-share", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "eval" / "identity-bench.json")
    args = parser.parse_args()
    report = run(args.records, args.duplicate_share, args.seed)
    print(f"{report['records']:,} customer records → {report['persons']:,} persons in {report['seconds']['total']}s "
          f"(Splink {report['seconds']['linkage']}s, union-find {report['seconds']['union_find']}s; "
          f"CPU {report['seconds']['cpu_total']}s on all threads); "
          f"precision {report['precision']:.4f} recall {report['recall']:.4f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
