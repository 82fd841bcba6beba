"""Splink linkage on DuckDB and Spark: FEBRL subsets with known truth, links with probability and deciding rule."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from benchmarks.eval_identity import evaluate_febrl, febrl_records

from tests.store.conftest import SPARK_MARKS, open_test_engine
from tgportrait.clean.identity import resolve_identities
from tgportrait.clean.linkage import LinkageResult, fuzzy_links, link_records, linkage_records
from tgportrait.config import IdentitySettings
from tgportrait.store.tables import IDENTIFIER_TYPES


def test_febrl_dataset1_subset_meets_the_precision_target(shared_data: Path) -> None:
    result = evaluate_febrl(shared_data / "record_linkage", IdentitySettings(), ("dataset1",), limit=600)
    scores = result["dataset1"]
    assert scores["records"] == 600
    assert scores["precision"] >= 0.999
    assert scores["recall"] >= 0.95


def test_each_link_has_a_probability_above_the_threshold_and_a_deciding_comparison(shared_data: Path) -> None:
    records = febrl_records(shared_data / "record_linkage" / "dataset1.csv", limit=400)
    started = time.perf_counter()
    result = link_records(records, IdentitySettings())
    elapsed = time.perf_counter() - started
    assert result.links.num_rows > 50
    assert set(result.seconds) == {"prior", "u", "train", "predict"}   # each a phase's duration, not cumulative
    assert sum(result.seconds.values()) <= elapsed
    assert min(result.links.column("probability").to_pylist()) >= 0.99
    assert set(result.links.column("comparison").to_pylist()) <= {
        "first_name", "last_name", "birth_date", "city", "postcode", "street"}
    assert result.candidate_pairs >= result.links.num_rows


def test_too_few_records_or_columns_give_no_links() -> None:
    one = pa.table({"unique_id": ["crm_customer_id:C1"], "first_name": ["ann"], "last_name": ["lee"]})
    assert link_records(one, IdentitySettings()).links.num_rows == 0
    names_only = pa.table({"unique_id": ["crm_customer_id:C1", "crm_customer_id:C2"], "first_name": ["ann", "ann"]})
    assert link_records(names_only, IdentitySettings()).links.num_rows == 0


def test_linkage_records_split_display_names_and_lower_case() -> None:
    profiles = pa.Table.from_pylist([
        {"unique_id": "tg_user_id:7", "first_name": None, "last_name": None, "name": "Anna Maria Lee",
         "birth_date": None, "phone": None, "email": None, "username": "annlee", "city": None},
        {"unique_id": "crm_customer_id:C1", "first_name": " Anna ", "last_name": "LEE", "name": "Anna Lee",
         "birth_date": "1990-01-02", "phone": "+6591234567", "email": "a@x.org", "username": None, "city": "Bandung"},
    ])
    rows = linkage_records(profiles).to_pylist()
    assert rows[0]["first_name"] == "anna" and rows[0]["last_name"] == "maria lee"
    assert rows[1]["first_name"] == "anna" and rows[1]["last_name"] == "lee" and rows[1]["city"] == "bandung"


def test_fuzzy_links_never_join_two_telegram_ids() -> None:
    from tgportrait.clean.linkage import LINK_SCHEMA, LinkageResult

    links = pa.Table.from_pylist([
        {"left_id": "tg_user_id:1", "right_id": "tg_user_id:2", "probability": 0.9999, "comparison": "first_name"},
        {"left_id": "crm_customer_id:C1", "right_id": "tg_user_id:2", "probability": 0.995, "comparison": "email"},
        {"left_id": "crm_customer_id:C1", "right_id": "tg_user_id:1", "probability": 0.999, "comparison": "phone"},
    ], schema=LINK_SCHEMA)
    edges = fuzzy_links(LinkageResult(links, 3, {}))
    assert [edge[1:3] for edge in edges] == [("crm_customer_id:C1", "tg_user_id:2"),
                                              ("crm_customer_id:C1", "tg_user_id:1")]
    records = pa.table({"source": ["telegram_export", "telegram_export", "crm_customers"],
                        **{name: {"tg_user_id": ["1", "2", None], "crm_customer_id": [None, None, "C1"]}.get(
                            name, [None, None, None]) for name in IDENTIFIER_TYPES}})
    result = resolve_identities(records, IdentitySettings(), fuzzy_links=edges)
    people = {f"{r['id_type']}:{r['id_value']}": r for r in result.identifiers.to_pylist()}
    assert people["tg_user_id:1"]["person_id"] != people["tg_user_id:2"]["person_id"]
    # the most probable link wins; the other is refused: C1 then already has another Telegram id
    assert people["crm_customer_id:C1"]["person_id"] == people["tg_user_id:1"]["person_id"]
    assert people["crm_customer_id:C1"]["probability"] == pytest.approx(0.999)
    assert people["crm_customer_id:C1"]["rule"] == "fuzzy on phone with tg_user_id:1"
    assert {"left": "crm_customer_id:C1", "right": "tg_user_id:2",
            "reason": "conflicting tg_user_id"} in result.refused_merges


@pytest.mark.parametrize("kind", [pytest.param("spark", marks=SPARK_MARKS)])
def test_spark_gives_the_links_of_duckdb(kind: str, shared_data: Path, tmp_path: Path) -> None:
    """The same 300 FEBRL records linked by Splink on DuckDB and on Spark (with the similarity jar).

    Training runs on DuckDB for both and the trained parameters predict on Spark, so the links and
    their probabilities are the same up to floating-point summation order (1e-9).
    """
    records = febrl_records(shared_data / "record_linkage" / "dataset1.csv", limit=300)
    settings = IdentitySettings(training_rules=[["first_name", "last_name"]])
    duckdb_engine = open_test_engine("duckdb", tmp_path)
    on_duckdb = link_records(records, settings, engine=duckdb_engine)
    duckdb_engine.close()
    spark_engine = open_test_engine(kind, tmp_path)
    on_spark = link_records(records, settings, engine=spark_engine)
    views = {table.name for table in spark_engine.session.catalog.listTables() if table.isTemporary}
    spark_engine.close()

    def by_pair(result: LinkageResult) -> dict[tuple[str, str], dict[str, Any]]:
        return {(row["left_id"], row["right_id"]): row for row in result.links.to_pylist()}

    duckdb_links, spark_links = by_pair(on_duckdb), by_pair(on_spark)
    assert len(duckdb_links) == 146
    assert set(spark_links) == set(duckdb_links)
    for pair, row in duckdb_links.items():
        assert spark_links[pair]["probability"] == pytest.approx(row["probability"], rel=1e-9, abs=1e-9)
        assert spark_links[pair]["comparison"] == row["comparison"]
    assert not [name for name in views if name.startswith("__splink__")]  # Splink's work views are dropped


def test_trained_parameters_move_to_the_spark_dialect_level_by_level() -> None:
    import splink.comparison_library as cl
    from splink import SettingsCreator

    from tgportrait.clean.linkage import _with_parameters

    creator = SettingsCreator(link_type="dedupe_only", comparisons=[cl.JaroWinklerAtThresholds("city", [0.9])],
                              blocking_rules_to_generate_predictions=["l.city = r.city"])
    model = creator.get_settings("duckdb").as_dict()
    model["probability_two_random_records_match"] = 0.25
    for index, level in enumerate(model["comparisons"][0]["comparison_levels"][1:]):
        level["m_probability"], level["u_probability"] = 0.1 * (index + 1), 0.01 * (index + 1)
    settings = _with_parameters(creator, model, "spark")
    assert settings["sql_dialect"] == "spark"
    assert settings["probability_two_random_records_match"] == 0.25
    levels = settings["comparisons"][0]["comparison_levels"]
    assert "jaro_winkler(`city_l`, `city_r`) >= 0.9" in [level["sql_condition"] for level in levels]
    assert [(level.get("m_probability"), level.get("u_probability")) for level in levels] == [
        (None, None), (0.1, 0.01), (0.2, 0.02), (0.30000000000000004, 0.03)]
