"""Consent enforcement and erasure end to end: own fixture files → import → build → segment/export → forget."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from sqlalchemy import func, inspect, select

from tgportrait.build import build
from tgportrait.clean.compliance import check_person, logged_decision
from tgportrait.clean.consent import record_consent
from tgportrait.clean.erasure import TOMBSTONE_DROPS, export_person
from tgportrait.cli.compliance import COMMANDS
from tgportrait.collect import import_file
from tgportrait.portrait.segments import export_segment, run_segment
from tgportrait.report.figures import gather_report
from tgportrait.report.html import write_report
from tgportrait.workspace import Workspace

AS_OF = datetime(2026, 11, 30)
QUESTIONNAIRE = ["telegram_user_id", "answered_at", "telegram_username", "phone", "region", "age_band", "age",
                 "gender", "language", "device", "interests", "consent_profiling", "consent_marketing",
                 "consent_sensitive"]
# tg id, username, region, age, profiling, marketing, sensitive
RESPONDENTS = [
    ("700001", "siti_glow", "ID", "30", "yes", "yes", "yes"),     # everything allowed
    ("700002", "dewi_care", "ID", "31", "yes", "yes", "no"),      # no sensitive consent
    ("700003", "rina_no", "ID", "32", "no", "no", "no"),          # no profiling consent
    ("700004", "nobody_knows", "", "33", "yes", "yes", "yes"),    # unknown region, consents given
    ("700007", "young_ana", "ID", "16", "yes", "yes", "yes"),     # under-age
    ("700008", "changed_mind", "ID", "34", "yes", "yes", "yes"),  # withdraws profiling in the ledger later
]
CUSTOMERS = [  # customer id, tg id, full name, phone, email, birth date, country
    ("C9001", "700001", "Siti Rahmawati", "0812 3456 7001", "siti.rahmawati@example.com", "1995-02-01", "ID"),
    ("C9002", "700002", "Dewi Lestari", "0812 3456 7002", "dewi.lestari@example.com", "1994-03-01", "ID"),
    ("C9003", "700003", "Rina Wijaya", "0812 3456 7003", "rina.wijaya@example.com", "1993-04-01", "ID"),
    ("C9004", "700004", "Nadia Putri", "", "nadia.putri@example.com", "1992-05-01", ""),
    ("C9005", "", "Joana Silva", "+55 11 98765 4321", "joana.silva@example.com", "1990-06-01", "BR"),
    ("C9006", "", "Ghost Buyer", "", "ghost.buyer@example.com", "1990-07-01", ""),
    ("C9007", "700007", "Ana Muda", "0812 3456 7007", "ana.muda@example.com", "2010-01-01", "ID"),
    ("C9008", "700008", "Maya Sari", "0812 3456 7008", "maya.sari@example.com", "1991-01-01", "ID"),
]


def write_inputs(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"questionnaire": folder / "questionnaire.csv", "crm-customers": folder / "customers.csv",
             "crm-orders": folder / "orders.csv"}
    with paths["questionnaire"].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(QUESTIONNAIRE)
        for tg_id, username, region, age, profiling, marketing, sensitive in RESPONDENTS:
            writer.writerow([tg_id, "2026-06-01T10:00:00Z", username, "", region, "25-34", age, "female", "id",
                             "Android", "sensitive skin;moisturising", profiling, marketing, sensitive])
    with paths["crm-customers"].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "full_name", "phone", "email", "birth_date", "gender", "country",
                         "telegram_user_id"])
        for customer_id, tg_id, name, phone, email, born, country in CUSTOMERS:
            writer.writerow([customer_id, name, phone, email, born, "F", country, tg_id])
    with paths["crm-orders"].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order_id", "customer_id", "ordered_at", "amount", "currency", "quantity", "product",
                         "category", "status"])
        for number, (customer_id, *_rest) in enumerate(CUSTOMERS):
            for repeat, category in enumerate(("sensitive skin", "sensitive skin", "moisturiser", "moisturiser")):
                writer.writerow([f"SO{number}{repeat}", customer_id, f"2026-0{7 + repeat}-10T10:00:00+07:00",
                                 "200000", "IDR", "1", f"Calm Cream {repeat}", category, "paid"])
    return paths


def new_workspace(root: Path) -> Workspace:
    Workspace.init(root, "beauty").close()
    with (root / "tgportrait.toml").open("a") as handle:   # eight customers: too few pairs to train Splink on
        handle.write("\n[identity]\nfuzzy_linkage = false\n")
    return Workspace.open(root)


def import_all(workspace: Workspace, paths: dict[str, Path]) -> None:
    for kind in ("crm-customers", "crm-orders", "questionnaire"):
        import_file(workspace, kind, paths[kind])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, dict[str, Path]]]:
    root = tmp_path_factory.mktemp("privacy")
    workspace = new_workspace(root / "ws")
    paths = write_inputs(root / "inputs")
    import_all(workspace, paths)
    record_consent(workspace.state, "tg_user_id:700008", "profiling", False, "bot:button", datetime(2026, 9, 1))
    build(workspace, as_of=AS_OF)
    yield workspace, paths
    workspace.close()


def labels_of(workspace: Workspace, person: str) -> set[str]:
    from tgportrait.portrait.query import resolve_person_id

    person_id = resolve_person_id(workspace, person)
    labels = workspace.lake.read_run_table("labels").to_pylist()
    return {row["label_id"] for row in labels if row["person_id"] == person_id}


def portrait_ids(workspace: Workspace) -> set[str]:
    return set(workspace.lake.read_run_table("portraits").column("person_id").to_pylist())


def test_consent_everything_gives_sensitive_and_other_labels(built: tuple[Workspace, dict[str, Path]]) -> None:
    workspace, _ = built
    assert {"skin/sensitive", "skin/moisturizing"} <= labels_of(workspace, "700001")
    assert check_person(workspace, "700001")["allowed"] == {"profiling": True, "marketing": True, "sensitive": True}


def test_no_sensitive_consent_keeps_only_non_sensitive_labels(built: tuple[Workspace, dict[str, Path]]) -> None:
    workspace, _ = built
    labels = labels_of(workspace, "700002")
    assert "skin/moisturizing" in labels
    assert not labels & {"skin/sensitive", "skin/acne"}


def test_no_profiling_consent_means_no_labels_no_portrait_no_segment(
        built: tuple[Workspace, dict[str, Path]]) -> None:
    workspace, _ = built
    result = check_person(workspace, "700003")
    assert result["allowed"]["profiling"] is False
    assert any("refused by questionnaire" in reason for reason in result["reasons"])
    assert labels_of(workspace, "700003") == set()
    person_id = result["person_id"]
    assert person_id not in portrait_ids(workspace)
    assert person_id not in set(workspace.lake.read_run_table("features").column("person_id").to_pylist())
    members = run_segment(workspace, "orders_total >= 0").members.column("person_id").to_pylist()
    assert person_id not in members and len(members) == len(portrait_ids(workspace))


def test_unknown_region_uses_the_strictest_rules(built: tuple[Workspace, dict[str, Path]]) -> None:
    workspace, _ = built
    given = check_person(workspace, "700004")       # no region evidence, but consents given
    assert (given["region"], given["jurisdiction"]) == (None, "default")
    assert given["allowed"]["profiling"] is True
    ghost = check_person(workspace, "C9006")        # CRM only, no region, no consent: strictest -> nothing
    assert ghost["jurisdiction"] == "default" and ghost["allowed"]["profiling"] is False
    brazil = check_person(workspace, "C9005")       # CRM only in BR: legitimate interest allows profiling
    assert (brazil["region"], brazil["jurisdiction"]) == ("BR", "BR")
    assert brazil["allowed"] == {"profiling": True, "marketing": True, "sensitive": False}
    assert labels_of(workspace, "C9005") & {"skin/sensitive"} == set()


def test_under_age_and_withdrawn_consent_mean_no_profiling(built: tuple[Workspace, dict[str, Path]]) -> None:
    workspace, _ = built
    young = check_person(workspace, "700007")
    assert young["allowed"]["profiling"] is False
    assert any("age 16 under 18" in reason for reason in young["reasons"])
    withdrawn = check_person(workspace, "700008")
    assert withdrawn["allowed"]["profiling"] is False
    assert any("refused by ledger:bot:button" in reason for reason in withdrawn["reasons"])
    assert portrait_ids(workspace).isdisjoint({young["person_id"], withdrawn["person_id"]})


def test_compliance_check_cli_json(built: tuple[Workspace, dict[str, Path]]) -> None:
    workspace, _ = built
    group = next(command for command in COMMANDS if command.name == "compliance")
    result = CliRunner().invoke(group, ["check", "700002", "-w", str(workspace.root), "--json"],
                                catch_exceptions=False)
    payload = json.loads(result.output)
    assert payload["region"] == "ID"
    assert payload["allowed"] == {"profiling": True, "marketing": True, "sensitive": False}
    assert payload["reasons"][0] == "region ID (questionnaire) -> rules compliance/ID.yaml"
    # read from the run's decision log (Parquet in the run folder), not recomputed; no state table grows per build
    assert (payload["decided_at"], payload["region_source"]) == ("2026-11-30T00:00:00", "questionnaire")
    run_folder = workspace.lake.run_dir(workspace.lake.require_current_run())
    assert pq.read_table(run_folder / "compliance_decisions" / "part-0.parquet").num_rows == len(
        workspace.lake.read_run_table("identities").column("person_id").unique())
    with workspace.state.engine.connect() as connection:
        assert "compliance_decisions" not in set(inspect(connection).get_table_names())


SITI = ["700001", "siti_glow", "+6281234567001", "siti.rahmawati@example.com", "C9001", "Siti Rahmawati"]


def workspace_texts(root: Path) -> Iterator[tuple[Path, str]]:
    """Every file of the workspace as searchable text (Parquet and SQLite decoded, the rest as bytes)."""
    for path in sorted(root.rglob("*")):
        if not path.is_file() or ".secret" in path.parts:
            continue
        if path.suffix == ".parquet":
            yield path, json.dumps(pq.read_table(path).to_pylist(), default=str, ensure_ascii=False)
        elif path.suffix == ".db":
            connection = sqlite3.connect(path)
            tables = [row[0] for row in connection.execute("select name from sqlite_master where type='table'")]
            dump = [repr(connection.execute(f'select * from "{table}"').fetchall()) for table in tables]
            connection.close()
            yield path, "\n".join(dump) + path.read_bytes().decode("latin-1")
        else:
            yield path, path.read_bytes().decode("utf-8", errors="replace")


def test_forget_leaves_nothing_and_reimport_brings_nothing_back(tmp_path: Path) -> None:
    workspace = new_workspace(tmp_path / "ws")
    paths = write_inputs(tmp_path / "inputs")
    import_all(workspace, paths)
    record_consent(workspace.state, "tg_user_id:700001", "marketing", True, "bot:button", datetime(2026, 8, 1))
    build(workspace, as_of=AS_OF)
    build(workspace, as_of=AS_OF)                  # two published runs
    export = export_segment(run_segment(workspace, "orders_total >= 0"), tmp_path / "ws" / "exports" / "all.csv")
    outside = export_segment(run_segment(workspace, "orders_total >= 0"), tmp_path / "elsewhere.parquet")
    data = gather_report(workspace, segments=[], notes=[])
    write_report(data, workspace.root / "report.html")
    access: dict[str, Any] = json.loads(json.dumps(export_person(workspace, "700001"), default=str))
    assert {"type": "email", "value": "siti.rahmawati@example.com"} in access["identifiers"]
    assert access["labels"] and access["portraits"] and access["consents"]
    assert access["request"]["kind"] == "access" and access["request"]["jurisdiction"] == "ID"
    assert any("Siti Rahmawati" in text for _path, text in workspace_texts(workspace.root))
    runs = workspace.lake.published_runs()
    siti_of = {run: next(row["person_id"] for row in workspace.lake.read_run_table("identities", run).to_pylist()
                         if row["id_value"] == "700001") for run in runs}
    logs = {run: pq.read_table(workspace.lake.run_dir(run) / "compliance_decisions" / "part-0.parquet")
            for run in runs}
    for run in runs:     # both runs' decision logs hold Siti's decision
        assert logged_decision(workspace.lake, run, siti_of[run])["jurisdiction"] == "ID"  # type: ignore[index]

    group = next(command for command in COMMANDS if command.name == "forget")
    result = CliRunner().invoke(group, ["700001", "--yes", "-w", str(workspace.root), "--json"],
                                catch_exceptions=False)
    report = json.loads(result.output)
    assert report["removed"]["event_rows"] > 0 and report["tombstones"] >= 5
    assert report["request"]["jurisdiction"] == "ID"
    # both requests name the same subject, a keyed digest: the request log keeps no person id
    assert access["request"]["subject"] == report["request"]["subject"] and len(access["request"]["subject"]) == 64
    workspace.close()
    texts = [*workspace_texts(workspace.root), (outside, json.dumps(pq.read_table(outside).to_pylist()))]
    assert len(texts) > 20
    for path, text in texts:
        for needle in SITI:
            assert needle not in text, f"{needle} still in {path}"
    assert "Siti" not in export.read_text()
    assert set(report["person_ids"]) == set(siti_of.values())
    for path, text in texts:       # nor her person id: the decision logs of both runs are scrubbed too
        for person_id in report["person_ids"]:
            assert person_id not in text, f"{person_id} still in {path}"
    for run in runs:
        scrubbed = pq.read_table(workspace.lake.run_dir(run) / "compliance_decisions" / "part-0.parquet")
        assert scrubbed.num_rows == logs[run].num_rows - 1
        assert logged_decision(workspace.lake, run, siti_of[run]) is None

    workspace = Workspace.open(tmp_path / "ws")
    import_all(workspace, paths)                   # a re-import of the same files
    build(workspace, as_of=AS_OF)
    identities = workspace.lake.read_run_table("identities").column("id_value").to_pylist()
    assert not set(SITI) & {str(value) for value in identities}
    with workspace.state.engine.connect() as connection:
        dropped = connection.execute(select(func.sum(TOMBSTONE_DROPS.c.dropped))).scalar()
    assert dropped == report["removed"]["event_rows"]    # every erased event came back and was dropped
    workspace.close()
