"""Fuzzy record linkage with Splink: reads person records (names, phone, e-mail, city, birth date), writes scored links.

Each record is one CRM customer or one Telegram user, with the attributes it carries
(``LINKAGE_COLUMNS``, null where absent). Splink compares the pairs that the configured blocking
rules generate, its m-probabilities are estimated by expectation maximisation on the workspace's
own records (u-probabilities by random sampling), and every pair at or above the configured match
probability becomes a link ``(left_id, right_id, probability, comparison)``, where ``comparison``
is the attribute whose agreement weighed most in the decision. Links never override the
deterministic guardrails: :func:`tgportrait.clean.identity.resolve_identities` applies them as
ordinary edges, so two different Telegram ids still never merge.

Splink predicts on the workspace's engine through :meth:`tgportrait.store.engine.Engine.splink_database`:
DuckDB (an in-process connection of its own) or Spark (Splink's ``SparkAPI`` on the engine's session,
whose string similarity functions come from the ``scala-udf-similarity`` jar shipped inside the
splink package and put on ``spark.jars`` when the session starts). Training (prior, u, EM) reads
bounded samples and always runs on an in-process DuckDB (on Spark each of its ~60 small queries was
a Spark job); its parameters are copied into the Spark settings, so both engines score alike.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from tgportrait.config import IdentitySettings

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from splink.internals.comparison_creator import ComparisonCreator

    from tgportrait.store.engine import Engine

LINKAGE_COLUMNS = ("first_name", "last_name", "birth_date", "phone", "email", "username", "city", "postcode",
                   "street")
LINK_SCHEMA = pa.schema([("left_id", pa.string()), ("right_id", pa.string()),
                         ("probability", pa.float64()), ("comparison", pa.string())])


@dataclass
class LinkageResult:
    links: pa.Table           # LINK_SCHEMA
    candidate_pairs: int      # blocked pairs scoring at least 0.5 (or the threshold when lower)
    seconds: dict[str, float]


def profile_records_expr(events: ir.Table) -> ir.Table:
    """One row per CRM customer (else Telegram user) with the attributes its events carry (the largest value)."""
    import ibis

    profiles = events.filter(events.crm_customer_id.notnull() | events.tg_user_id.notnull())
    unique_id = ibis.cases((profiles.crm_customer_id.notnull(), "crm_customer_id:" + profiles.crm_customer_id),
                           else_="tg_user_id:" + profiles.tg_user_id.cast("string"))
    profiles = profiles.mutate(unique_id=unique_id, _name=ibis.coalesce(profiles.full_name, profiles.display_name))
    return profiles.group_by("unique_id").aggregate(
        first_name=profiles.first_name.max(), last_name=profiles.last_name.max(), name=profiles._name.max(),
        birth_date=profiles.birth_date.cast("string").max(), phone=profiles.phone.max(), email=profiles.email.max(),
        username=profiles.tg_username.max(), city=profiles.city.max())


def linkage_records(profiles: pa.Table) -> pa.Table:
    """Lower-case, trimmed attributes; first and last name from the full or display name when missing."""
    rows = []
    for row in profiles.to_pylist():
        words = str(row.get("name") or "").lower().split()
        first = (row.get("first_name") or "").strip().lower() or (words[0] if words else "")
        last = (row.get("last_name") or "").strip().lower() or (" ".join(words[1:]) if len(words) > 1 else "")
        city = (row.get("city") or "").strip().lower()
        rows.append({"unique_id": row["unique_id"], "first_name": first or None, "last_name": last or None,
                     "birth_date": row.get("birth_date"), "phone": row.get("phone"), "email": row.get("email"),
                     "username": row.get("username"), "city": city or None})
    names = ["unique_id", "first_name", "last_name", "birth_date", "phone", "email", "username", "city"]
    return pa.Table.from_pylist(rows, schema=pa.schema([(name, pa.string()) for name in names]))


def fuzzy_links(result: LinkageResult) -> list[tuple[str, str, str, float, str]]:
    """Links as ``resolve_identities`` edges; pairs of two Telegram users are dropped (they never merge)."""
    edges = []
    for row in result.links.to_pylist():
        if row["left_id"].startswith("tg_user_id:") and row["right_id"].startswith("tg_user_id:"):
            continue
        edges.append(("fuzzy", row["left_id"], row["right_id"], row["probability"], row["comparison"]))
    return edges


def _comparisons(present: set[str]) -> list[ComparisonCreator | dict[str, Any]]:
    import splink.comparison_library as cl

    table: dict[str, Any] = {
        "first_name": lambda: cl.NameComparison("first_name", jaro_winkler_thresholds=[0.92, 0.8]),
        "last_name": lambda: cl.NameComparison("last_name", jaro_winkler_thresholds=[0.92, 0.8]),
        "birth_date": lambda: cl.DamerauLevenshteinAtThresholds("birth_date", [1, 2]),
        "phone": lambda: cl.DamerauLevenshteinAtThresholds("phone", [1, 2]),
        "email": lambda: cl.EmailComparison("email"),
        "username": lambda: cl.JaroWinklerAtThresholds("username", [0.92, 0.8]),
        "city": lambda: cl.JaroWinklerAtThresholds("city", [0.92, 0.8]),
        "postcode": lambda: cl.DamerauLevenshteinAtThresholds("postcode", [1]),
        "street": lambda: cl.JaroWinklerAtThresholds("street", [0.92, 0.8]),
    }
    return [table[name]() for name in LINKAGE_COLUMNS if name in present]


def _present_columns(records: pa.Table) -> set[str]:
    return {name for name in LINKAGE_COLUMNS
            if name in records.column_names and records.column(name).null_count < records.num_rows}


def _rule_columns(rule: list[str]) -> set[str]:
    return {name for term in rule for name in term.split("=")}


def _rule_sql(rule: list[str]) -> str:
    """``["first_name", "last_name"]`` → both agree; ``"first_name=last_name"`` compares across columns.

    Names are left unquoted (DuckDB and Spark quote differently); only LINKAGE_COLUMNS reach here.
    """
    terms = []
    for term in rule:
        left, _, right = term.partition("=")
        terms.append(f"l.{left} = r.{right or left}")
    return " and ".join(terms)


def _capped_rules(frame: pa.Table, rules: list[list[str]], cap: int) -> tuple[pa.Table, dict[tuple[str, ...], str]]:
    """Blocking rules as SQL, each limited to blocks of at most ``cap`` records.

    A value combination shared by more records than ``cap`` (a common first and last name, a common
    name in a big city) says little about who is who, and its pairs grow with the square of the
    block: at 100,000 users the name rules alone made 3.5 million pairs. So each rule gets a column
    ``_block_<i>`` with the size of the record's block, and a pair is compared under that rule only
    when the block is small enough; such pairs are still compared when another rule brings them
    together (same phone, e-mail, username, birth date...). Cross-column rules (swapped first and
    last names) are rare by nature and stay uncapped.
    """
    import numpy as np
    import pyarrow.compute as pc

    capped: dict[tuple[str, ...], str] = {}
    for index, rule in enumerate(rules):
        sql = _rule_sql(list(rule))
        if any("=" in term for term in rule):
            capped[tuple(rule)] = sql
            continue
        mask = pc.is_valid(frame.column(rule[0]))
        for name in rule[1:]:
            mask = pc.and_(mask, pc.is_valid(frame.column(name)))
        keyed = frame.select(list(rule)).append_column("_row", pa.array(np.arange(frame.num_rows))).filter(mask)
        sizes = keyed.join(keyed.group_by(list(rule)).aggregate([("_row", "count")]), list(rule))
        column = np.zeros(frame.num_rows, dtype=np.int64)   # a null key never matches: its size does not matter
        column[sizes.column("_row").to_numpy()] = sizes.column("_row_count").to_numpy()
        frame = frame.append_column(f"_block_{index}", pa.array(column))
        capped[tuple(rule)] = f"{sql} and l._block_{index} <= {int(cap)}"
    return frame, capped


def link_records(records: pa.Table, settings: IdentitySettings, *, engine: Engine | None = None,
                 threshold: float | None = None, seed: int = 42) -> LinkageResult:
    """Score candidate pairs of ``records`` (``unique_id`` + LINKAGE_COLUMNS) on ``engine`` and keep the links.

    Without ``engine`` Splink runs on a DuckDB engine of its own. Records without any linkage
    attribute never link. Returns no links when fewer than two records carry attributes or when no
    blocking rule applies to the columns present.
    """
    present = _present_columns(records)
    rules = [rule for rule in settings.blocking_rules if _rule_columns(rule) <= present]
    if records.num_rows < 2 or not rules or len(present) < 2:
        return LinkageResult(LINK_SCHEMA.empty_table(), 0, {})
    if engine is not None:
        with engine.splink_database() as database:
            return _link_on(database, records, settings, present, rules, threshold, seed, engine.kind)
    from tgportrait.store.engine import connect_engine

    own_engine = connect_engine("duckdb", Path("."))  # DuckDB never writes to the scratch folder
    try:
        with own_engine.splink_database() as database:
            return _link_on(database, records, settings, present, rules, threshold, seed, "duckdb")
    finally:
        own_engine.close()


def _link_on(database: Any, records: pa.Table, settings: IdentitySettings, present: set[str],
             rules: list[list[str]], threshold: float | None, seed: int, kind: str) -> LinkageResult:
    """Train Splink on DuckDB, predict on ``database`` (a Splink ``DatabaseAPI`` on an engine of ``kind``).

    ``seconds`` holds the duration of each phase: prior, u, train (EM sessions), predict. Training
    (prior, u, EM) always runs on an in-process DuckDB: it reads bounded samples
    (``identity.u_sample_pairs``, ``identity.em_max_pairs``) of records that are already in this
    process, and on Spark each of its ~60 small queries was a Spark job (0.3-1 s each; EM runs one
    per iteration). The trained model then predicts on the workspace engine, where the pairs grow
    with the data. Both engines therefore score with the same parameters.
    """
    import time

    from splink import Linker, SettingsCreator

    keep = ["unique_id", *[name for name in LINKAGE_COLUMNS if name in present]]
    frame = records.select(keep).cast(pa.schema([(name, pa.string()) for name in keep]))
    frame, capped = _capped_rules(frame, rules, settings.max_block_size)
    creator = SettingsCreator(
        link_type="dedupe_only",
        comparisons=_comparisons(present),
        blocking_rules_to_generate_predictions=list(capped.values()),  # type: ignore[arg-type]
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=[name for name in frame.column_names if name.startswith("_block_")],
        max_iterations=settings.em_max_iterations,
    )
    with _training_database(database, kind) as training:
        trainer = Linker(training.register(frame), creator, log_level=None)
        logging.getLogger("splink").setLevel(logging.ERROR)
        seconds = _train(trainer, settings, present, rules, capped, seed)
        model = trainer.misc.save_model_to_json()
    started = time.perf_counter()
    if training is database:
        linker = trainer
    else:   # a generated table name (__splink__input_table_N): never clashes on Spark
        linker = Linker(database.register(frame), _with_parameters(creator, model, kind), log_level=None)
    cut = settings.match_threshold if threshold is None else threshold
    predicted = linker.inference.predict(threshold_match_probability=min(cut, 0.5))
    scored = predicted.as_pyarrow_table()
    seconds["predict"] = round(time.perf_counter() - started, 3)
    links = _links_from_predictions(scored, cut, frozenset(settings.evidence_columns))
    return LinkageResult(links, scored.num_rows, seconds)


@contextmanager
def _training_database(database: Any, kind: str) -> Iterator[Any]:
    """``database`` itself on DuckDB, else an in-process DuckDB of its own, closed after training."""
    if kind == "duckdb":
        yield database
        return
    import duckdb
    from splink import DuckDBAPI

    connection = duckdb.connect()
    try:
        yield DuckDBAPI(connection)
    finally:
        connection.close()


def _train(linker: Any, settings: IdentitySettings, present: set[str], rules: list[list[str]],
           capped: dict[tuple[str, ...], str], seed: int) -> dict[str, float]:
    """Estimate the prior, u (random sampling, Splink's chunks with early stopping) and m (EM); phase durations."""
    import time

    from splink.internals.exceptions import SplinkException

    seconds: dict[str, float] = {}
    started = time.perf_counter()

    def lap(phase: str) -> None:
        nonlocal started
        now = time.perf_counter()
        seconds[phase] = round(now - started, 3)
        started = now

    deterministic: list[Any] = [sql for rule, sql in capped.items() if len(rule) >= 2] or [capped[tuple(rules[0])]]
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.8)
    lap("prior")
    linker.training.estimate_u_using_random_sampling(max_pairs=settings.u_sample_pairs, seed=seed)
    lap("u")
    for rule in settings.training_rules:
        if _rule_columns(rule) <= present and present - _rule_columns(rule):
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    _rule_sql(list(rule)), estimate_without_term_frequencies=True,
                    max_pairs=settings.em_max_pairs)
            except (ValueError, SplinkException) as exc:   # a level never observed, no pairs: keep the others
                logging.getLogger(__name__).info("EM session on %s skipped: %s", rule, exc)
    lap("train")
    return seconds


def _with_parameters(creator: Any, model: dict[str, Any], kind: str) -> dict[str, Any]:
    """``creator``'s settings in ``kind``'s SQL dialect with the prior, m and u of the trained ``model``."""
    settings: dict[str, Any] = creator.get_settings(kind).as_dict()
    settings["probability_two_random_records_match"] = model["probability_two_random_records_match"]
    for comparison, trained in zip(settings["comparisons"], model["comparisons"], strict=True):
        for level, trained_level in zip(comparison["comparison_levels"], trained["comparison_levels"], strict=True):
            assert level["label_for_charts"] == trained_level["label_for_charts"], (level, trained_level)
            for name in ("m_probability", "u_probability"):
                if name in trained_level:
                    level[name] = trained_level[name]
    return settings


def _links_from_predictions(scored: pa.Table, threshold: float, evidence: frozenset[str]) -> pa.Table:
    """Keep pairs at or above ``threshold`` that agree on at least one ``evidence`` column (names and a city
    alone never link); name the comparison with the largest match weight."""
    names = [name[3:] for name in scored.column_names if name.startswith("mw_") and not name.startswith("mw_tf_adj_")]
    columns = {name: scored.column(name).to_pylist() for name in ["unique_id_l", "unique_id_r", "match_probability"]}
    weights = {name: [(weight or 0.0) + (adjust or 0.0) for weight, adjust in zip(
        scored.column(f"mw_{name}").to_pylist(),
        scored.column(f"mw_tf_adj_{name}").to_pylist() if f"mw_tf_adj_{name}" in scored.column_names
        else [0.0] * scored.num_rows, strict=True)] for name in names}
    left, right, probability, comparison = [], [], [], []
    for index, value in enumerate(columns["match_probability"]):
        if value is None or value < threshold or not any(weights[name][index] > 0 for name in names
                                                            if name in evidence):
            continue
        left.append(str(columns["unique_id_l"][index]))
        right.append(str(columns["unique_id_r"][index]))
        probability.append(float(value))
        comparison.append(max(names, key=lambda name: weights[name][index]))
    return pa.table({"left_id": pa.array(left, pa.string()), "right_id": pa.array(right, pa.string()),
                     "probability": pa.array(probability, pa.float64()),
                     "comparison": pa.array(comparison, pa.string())})
