"""``tgportrait identity``: explain, export, unmerge surviving a rebuild, merge, log, errors (DuckDB)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tgportrait.cli import cli
from tgportrait.demo.generate import generate_community

AS_OF = "2026-11-30T00:00:00"


def run(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if "--json" in args else result.output


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("identity")
    community = generate_community(root / "inputs", users=200, seed=11, end=datetime(2026, 11, 30))
    folder = str(root / "ws")
    run("init", folder, "--industry", "beauty")
    run("import", "telegram-export", str(community.telegram_exports[0]), "-w", folder, "--json")
    run("import", "crm-customers", str(community.customers_csv), "-w", folder, "--json")
    run("build", "--as-of", AS_OF, "-w", folder, "--json")
    yield folder


def linked_customer(rows: list[dict[str, Any]]) -> tuple[str, str]:
    """A person holding a Telegram id and a CRM customer id: (person_id, crm key)."""
    telegram = {row["person_id"] for row in rows if row["type"] == "tg_user_id"}
    row = next(row for row in rows if row["type"] == "crm_customer_id" and row["person_id"] in telegram)
    return row["person_id"], f"crm_customer_id:{row['value']}"


def test_export_lists_every_identifier_with_source_person_and_probability(workspace: str, tmp_path: Path) -> None:
    rows = run("identity", "export", "-w", workspace, "--json")
    assert set(rows[0]) == {"type", "value", "source", "source_record_id", "person_id", "probability", "rule"}
    customers = [row for row in rows if row["type"] == "crm_customer_id" and row["source"] == "crm_customers"]
    assert customers and all(row["source_record_id"] == row["value"] for row in customers)
    assert all(0.0 < row["probability"] <= 1.0 for row in rows)
    run("identity", "export", "--csv", str(tmp_path / "ids.csv"), "-w", workspace)
    with (tmp_path / "ids.csv").open(encoding="utf-8") as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == len(rows)


def test_explain_shows_how_each_identifier_joined(workspace: str) -> None:
    person, crm_key = linked_customer(run("identity", "export", "-w", workspace, "--json"))
    explained = run("identity", "explain", person, "-w", workspace, "--json")
    assert explained["person_id"] == person
    assert explained["identifiers"][0]["rule"] == "anchor"
    by_key = {f"{row['type']}:{row['value']}": row for row in explained["identifiers"]}
    assert by_key[crm_key]["rule"].startswith(("same record", "fuzzy", "manual"))


def test_unmerge_survives_a_rebuild_and_merge_undoes_it(workspace: str) -> None:
    person, crm_key = linked_customer(run("identity", "export", "-w", workspace, "--json"))
    output = run("identity", "unmerge", person, crm_key, "--note", "two people", "-w", workspace)
    assert "kept apart from" in output
    for _ in range(1):                                  # the decision is read again by every build
        run("build", "--as-of", AS_OF, "-w", workspace, "--json")
        rows = run("identity", "export", "-w", workspace, "--json")
        persons = {row["person_id"] for row in rows if f"{row['type']}:{row['value']}" == crm_key}
        assert person not in persons and len(persons) == 1
    run("identity", "merge", person, crm_key, "-w", workspace)
    run("build", "--as-of", AS_OF, "-w", workspace, "--json")
    rows = run("identity", "export", "-w", workspace, "--json")
    assert {row["person_id"] for row in rows if f"{row['type']}:{row['value']}" == crm_key} == {person}
    log = run("identity", "log", "-w", workspace, "--json")
    assert [(row["action"], row["active"], row["note"]) for row in log] == [
        ("split", False, "two people"), ("merge", True, None)]


def test_unknown_identifier_is_an_error_with_a_hint(workspace: str) -> None:
    result = subprocess.run([sys.executable, "-m", "tgportrait", "-w", workspace, "identity", "merge", "fax:1",
                             "tg_user_id:1"], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "Error [TGP-N001]: 'fax:1' is not an identifier of the form TYPE:VALUE")
    assert result.stderr.splitlines()[1].startswith("Hint: Use one of tg_user_id, crm_customer_id")


def test_quality_counts_merges_by_kind_and_the_redundant_share(workspace: str) -> None:
    quality = run("quality", "-w", workspace, "--json")
    identity = quality["identity"]
    assert identity["merged_deterministic"] > 0
    assert identity["merged_deterministic"] + identity["merged_fuzzy"] + identity["merged_manual"] == identity[
        "merged_records"]
    crm = quality["by_source"]["crm_customers"]
    assert set(crm["by_tier"]) <= {"core", "auxiliary", "redundant"}
    assert 0.0 <= quality["after"]["redundant_share"] < 0.5
    assert crm["redundant_share"] == 0.0

