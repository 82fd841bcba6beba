"""The whole path from files to portraits through the command line, on the embedded default (DuckDB)."""

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

import tgportrait.build as build_module
from tgportrait.cli import cli
from tgportrait.demo.generate import GeneratedCommunity, generate_community
from tgportrait.errors import TgPortraitError
from tgportrait.workspace import Workspace

AS_OF = "2026-11-30T00:00:00"


def run(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if "--json" in args else result.output


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, GeneratedCommunity]]:
    root = tmp_path_factory.mktemp("pipeline")
    community = generate_community(root / "inputs", users=300, seed=5, end=datetime(2026, 11, 30))
    workspace = root / "ws"
    run("init", str(workspace), "--industry", "beauty")
    for path in community.telegram_exports:
        run("import", "telegram-export", str(path), "-w", str(workspace), "--json")
    run("import", "crm-customers", str(community.customers_csv), "-w", str(workspace), "--json")
    orders = run("import", "crm-orders", str(community.orders_csv), "-w", str(workspace), "--json")
    assert orders["quarantined"] == community.malformed_orders
    run("import", "questionnaire", str(community.questionnaire_csv), "-w", str(workspace), "--json")
    report = run("build", "--as-of", AS_OF, "-w", str(workspace), "--json")
    assert report["counts"]["persons"] > 0
    yield workspace, community


def test_quality_reports_before_and_after(built: tuple[Path, GeneratedCommunity]) -> None:
    workspace, community = built
    quality = run("quality", "-w", str(workspace), "--json")
    assert set(quality) >= {"before", "after", "by_source", "identity"}
    assert quality["before"]["duplication_rate"] > 0.2          # ~30% of CRM customers duplicate members
    assert quality["after"]["duplication_rate"] < quality["before"]["duplication_rate"]
    assert quality["after"]["invalid_rate"] == 0.0
    orders = quality["by_source"]["crm_orders"]
    assert orders["quarantined"] == community.malformed_orders
    assert orders["invalid_by_reason"]["date in the future"] == community.future_orders
    assert quality["by_source"]["questionnaire"]["invalid_by_reason"]["blank questionnaire"] > 0
    with community.customers_csv.open(newline="") as handle:    # the generator's junk phone '0000000' is rejected
        junk_phones = sum(row["phone"] == "0000000" for row in csv.DictReader(handle))
    customers = quality["by_source"]["crm_customers"]
    assert customers["invalid_identifiers_by_reason"] == {"phone: not a valid phone number": junk_phones}
    assert (junk_phones, customers["invalid_identifiers"], quality["before"]["invalid_identifiers"]) == (3, 3, 4)
    local_phone = "phone: phone has no country code and the row has no country"   # a questionnaire row, no region
    assert quality["by_source"]["questionnaire"]["invalid_identifiers_by_reason"] == {local_phone: 1}
    assert quality["before"]["invalid_identifiers_by_reason"] == {"phone: not a valid phone number": 3, local_phone: 1}
    assert all(quality["by_source"][name]["invalid_identifiers"] == 0 for name in ("crm_orders", "telegram_export"))
    blocked = {name: row["consent_blocked"] for name, row in quality["by_source"].items()}
    assert blocked == {"crm_customers": 147, "crm_orders": 216, "questionnaire": 372, "telegram_export": 3795}
    assert (customers["consent_blocked_share"], quality["after"]["consent_blocked"],
            quality["after"]["consent_blocked_share"]) == (round(147 / 283, 6), 4530, round(4530 / 11969, 6))
    assert (customers["merged_deterministic"], customers["merged_fuzzy"], customers["merged_manual"]) == (177, 0, 0)
    text = run("quality", "-w", str(workspace))
    assert "Consent: 4,530 cleaned events (37.8%) belong to persons excluded from profiling" in " ".join(text.split())


def test_persons_and_portrait_documents(built: tuple[Path, GeneratedCommunity]) -> None:
    workspace, _ = built
    persons = run("persons", "--limit", "3", "-w", str(workspace), "--json")
    assert len(persons) == 3 and all(set(p) == {"person_id", "summary"} for p in persons)
    portrait = run("portrait", persons[0]["person_id"], "-w", str(workspace), "--json")
    assert set(portrait) >= {"person_id", "identifiers", "attributes", "labels", "facts", "summary"}
    assert portrait["summary"] == persons[0]["summary"]
    assert portrait["labels"], "the most labelled person has labels"
    for label in portrait["labels"]:
        assert set(label) == {"id", "path", "weight", "evidence"} and len(label["path"]) == 3
        assert "rule" in label["evidence"]
    weights = [label["weight"] for label in portrait["labels"]]
    assert weights == sorted(weights, reverse=True)
    telegram = next(i["value"] for i in portrait["identifiers"] if i["type"] == "tg_user_id")
    assert run("portrait", telegram, "-w", str(workspace), "--json")["person_id"] == portrait["person_id"]


def test_segment_counts_and_exports(built: tuple[Path, GeneratedCommunity], tmp_path: Path) -> None:
    workspace, _ = built
    everyone = run("segment", "orders_total >= 0", "-w", str(workspace), "--json")
    buyers = run("segment", "orders_total >= 1", "-w", str(workspace), "--json")
    assert 0 < buyers["count"] < everyone["count"] == everyone["total"]
    export = tmp_path / "buyers.csv"
    run("segment", "orders_total >= 1", "--export", str(export), "-w", str(workspace), "--json")
    with export.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == buyers["count"] and rows[0]["person_id"].startswith("p_")


def test_a_bad_rule_is_an_error_with_a_caret_and_a_suggestion(built: tuple[Path, GeneratedCommunity]) -> None:
    workspace, _ = built
    result = subprocess.run([sys.executable, "-m", "tgportrait", "-w", str(workspace), "segment", "msgs_90d > 3"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("Error [TGP-R012]")
    assert "^^^^^^^^" in result.stderr and "did you mean 'messages_90d'?" in result.stderr
    assert "Traceback" not in result.stderr
    hostile = subprocess.run([sys.executable, "-m", "tgportrait", "-w", str(workspace), "segment",
                              "__import__('os').system('touch pwned')"], capture_output=True, text=True,
                             check=False, cwd=workspace)
    assert hostile.returncode == 2 and hostile.stderr.startswith("Error")
    assert not (workspace / "pwned").exists()


def test_a_crash_mid_build_leaves_the_previous_run_serving(built: tuple[Path, GeneratedCommunity],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    workspace_dir, _ = built
    workspace = Workspace.open(workspace_dir)
    before = workspace.lake.current_run_id()
    portraits_before = workspace.lake.read_run_table("portraits").num_rows

    def explode(*_args: object, **_kwargs: object) -> None:
        raise TgPortraitError("simulated crash while assigning labels")

    monkeypatch.setattr(build_module, "assign_labels", explode)
    with pytest.raises(TgPortraitError, match="simulated crash"):
        build_module.build(workspace)
    assert workspace.lake.current_run_id() == before
    assert workspace.lake.read_run_table("portraits").num_rows == portraits_before
    assert not [p for p in workspace.lake.runs_dir.iterdir() if p.name.startswith(".building")]
    failed = [run for run in workspace.state.runs() if run["status"] == "failed"]
    assert failed and "simulated crash" in failed[-1]["error"]
    workspace.close()


def test_reimporting_a_file_adds_nothing(built: tuple[Path, GeneratedCommunity]) -> None:
    workspace, community = built
    again = run("import", "crm-orders", str(community.orders_csv), "-w", str(workspace), "--json")
    assert again["imported"] == 0 and again["duplicates"] > 0
    quarantine = run("quarantine", "list", "-w", str(workspace), "--json")
    assert len([q for q in quarantine if q["file"].endswith("orders.csv")]) == community.malformed_orders
