"""The compliance rule database (loading, validation with file:line, region mapping) and the decision rules."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tgportrait.clean.compliance import Evidence, decide, jurisdiction_of, load_rules, parse_jurisdiction
from tgportrait.errors import ConfigError

REQUIRED = {"EU", "UK", "US-CA", "BR", "MX", "ID", "MY", "SG", "TH", "VN", "PH", "IN", "RU", "TR", "AE", "SA", "NG",
            "CN", "default"}
AT = datetime(2026, 6, 1)


def test_every_required_jurisdiction_is_present_with_sources() -> None:
    rules = load_rules()
    assert set(rules) == REQUIRED
    for jurisdiction in rules.values():
        assert jurisdiction.sources, jurisdiction.region
        assert {"sensitive_skin", "acne", "health", "pregnancy"} <= set(jurisdiction.sensitive_labels)
        for rule in jurisdiction.purposes.values():
            assert rule.source.startswith("reference/compliance-facts.yaml#"), (jurisdiction.region, rule)


def test_default_is_the_strictest() -> None:
    rules = load_rules()
    default = rules["default"]
    assert all(rule.opt_in_required for rule in default.purposes.values())
    for purpose, rule in default.purposes.items():
        assert rule.min_age >= max(j.purposes[purpose].min_age for j in rules.values()), purpose
    assert default.access_days == min(j.access_days for j in rules.values())


@pytest.mark.parametrize(("region", "expected"), [
    ("ID", "ID"), ("de", "EU"), ("FR", "EU"), ("NO", "EU"), ("GB", "UK"), ("UK", "UK"), ("US-CA", "US-CA"),
    ("US", "default"), ("XX", "default"), (None, "default"), ("", "default"),
    ("GG", "UK"), ("JE", "UK"), ("IM", "UK")])   # Crown dependencies: phonenumbers gives them for +44 7911, ...
def test_region_maps_to_jurisdiction(region: str | None, expected: str) -> None:
    assert jurisdiction_of(region).region == expected


def test_facts_are_carried_over() -> None:
    assert jurisdiction_of("ID").purposes["profiling"].opt_in_required is True
    assert jurisdiction_of("BR").purposes["profiling"].basis == "legitimate_interest_with_opt_out"
    assert jurisdiction_of("TH").purposes["profiling"].min_age == 20
    assert jurisdiction_of("EU").erasure_days == 30
    assert jurisdiction_of("ID").access_days == 3
    assert jurisdiction_of("CN").purposes["sensitive"].basis == "separate_consent"


def test_validation_names_file_and_line() -> None:
    head = "region: ID\nname: x\nlaw: y\nmembers: [ID]\npurposes:\n  profiling:\n"
    with pytest.raises(ConfigError, match=r"^compliance/bad.yaml:7: unknown basis 'maybe'$"):
        parse_jurisdiction(head + "    basis: maybe\n", "compliance/bad.yaml")
    with pytest.raises(ConfigError, match=r"^compliance/bad.yaml:8: 'opt_in_required' has the wrong type \(str\)$"):
        parse_jurisdiction(head + "    basis: consent\n    opt_in_required: yes please\n", "compliance/bad.yaml")
    with pytest.raises(ConfigError, match=r"^compliance/bad.yaml:1: compliance rules must be a mapping$"):
        parse_jurisdiction("- a list\n", "compliance/bad.yaml")
    with pytest.raises(ConfigError, match=r"^compliance/bad.yaml:1: compliance rules miss 'purposes'$"):
        parse_jurisdiction("region: ID\nname: 5\n", "compliance/bad.yaml")


def _consents(**granted: bool) -> list[dict[str, object]]:
    return [{"purpose": purpose, "granted": value, "source": "questionnaire", "at": AT}
            for purpose, value in granted.items()]


def test_decisions_follow_the_rules() -> None:
    consenting = Evidence("p1", q_region="ID", age=30, decisions=_consents(profiling=True, marketing=True,
                                                                           sensitive=False))
    decision = decide(consenting)
    assert decision.allowed == {"profiling": True, "marketing": True, "sensitive": False}
    assert decision.reasons[0] == "region ID (questionnaire) -> rules compliance/ID.yaml"
    silent_id = decide(Evidence("p2", crm_country="ID", age=30))
    assert silent_id.allowed == {"profiling": False, "marketing": False, "sensitive": False}
    assert "no consent recorded; consent required" in silent_id.reasons[1]
    silent_br = decide(Evidence("p3", crm_country="BR", age=30))
    assert silent_br.allowed == {"profiling": True, "marketing": True, "sensitive": False}
    unknown_age = decide(Evidence("p4", q_region="BR", decisions=_consents(profiling=True)))
    assert unknown_age.allowed["profiling"] is False
    minor = decide(Evidence("p5", q_region="TH", age=19, decisions=_consents(profiling=True, marketing=True)))
    assert minor.allowed == {"profiling": False, "marketing": False, "sensitive": False}


def test_region_evidence_order_and_withdrawal() -> None:
    evidence = Evidence("p1", q_region=None, phone_region="BR", crm_country="ID", age=40)
    assert (decide(evidence).region, decide(evidence).region_source) == ("BR", "phone")
    evidence.q_region = "VN"
    assert decide(evidence).region_source == "questionnaire"
    evidence.decisions = _consents(profiling=True, marketing=True) + [
        {"purpose": "marketing", "granted": False, "source": "stop", "at": datetime(2026, 7, 1)}]
    decision = decide(evidence)
    assert decision.allowed == {"profiling": True, "marketing": False, "sensitive": False}
    assert decision.reasons[2].startswith("marketing: denied: refused by stop at 2026-07-01T00:00:00")


def test_crown_dependency_phone_numbers_get_the_uk_rules() -> None:
    from tgportrait.clean.regions import region_of_phone

    regions = [region_of_phone(number) for number in ("+447911123456", "+447797123456", "+447624123456")]
    assert regions == ["GG", "JE", "IM"]
    decision = decide(Evidence("p1", phone_region=regions[0], age=30))
    assert (decision.region, decision.jurisdiction.region) == ("GG", "UK")
    assert decision.reasons[0] == "region GG (phone) -> rules compliance/UK.yaml"


def test_the_telegram_language_is_reported_but_never_decides() -> None:
    decision = decide(Evidence("p1", language_hint="ID", age=30))
    assert (decision.region, decision.jurisdiction.region) == (None, "default")
    assert decision.reasons[0] == ("region unknown (no evidence; Telegram language suggests ID, too weak to decide) "
                                   "-> rules compliance/default.yaml")
    assert decide(Evidence("p1", phone_region="BR", language_hint="ID", age=30)).reasons[0] == (
        "region BR (phone) -> rules compliance/BR.yaml")


def test_the_decision_log_is_parquet_in_the_run_folder_read_back_per_person(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from tgportrait.clean.compliance import DECISIONS_TABLE, log_decisions, logged_decision
    from tgportrait.store.lake import Lake

    lake = Lake(tmp_path / "lake")
    decisions = [decide(Evidence("p2", q_region="ID", age=30, decisions=_consents(profiling=True))),
                 decide(Evidence("p1", phone_region="BR", age=15))]
    folder = lake.building_dir("r1")
    path = log_decisions(folder, decisions, datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
    assert path == folder / "compliance_decisions" / "part-0.parquet"
    lake.publish("r1", {"run_id": "r1"})
    table = pq.read_table(lake.run_table_path("r1", DECISIONS_TABLE) / "part-0.parquet")
    assert table.column("person_id").to_pylist() == ["p1", "p2"]        # sorted: a look-up skips row groups
    assert table.column("profiling").to_pylist() == [False, True]
    assert logged_decision(lake, "r1", "p2") == {
        "person_id": "p2", "region": "ID", "region_source": "questionnaire", "jurisdiction": "ID",
        "allowed": {"profiling": True, "marketing": False, "sensitive": False},
        "reasons": list(decisions[0].reasons), "decided_at": "2026-06-01T09:00:00"}
    minor = logged_decision(lake, "r1", "p1")
    assert minor is not None and (minor["region_source"], minor["jurisdiction"]) == ("phone", "BR")
    assert minor["reasons"][1] == decisions[1].reasons[1] and "age 15 under" in minor["reasons"][1]
    assert logged_decision(lake, "r1", "p3") is None                      # not in this run
    assert logged_decision(lake, "r0", "p1") is None                      # a run without a log (older build)


def test_an_empty_decision_log_is_still_a_typed_table(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from tgportrait.clean.compliance import DECISIONS_SCHEMA, log_decisions

    path = log_decisions(tmp_path, [], AT)
    table = pq.read_table(path)
    assert (table.num_rows, table.schema.remove_metadata()) == (0, DECISIONS_SCHEMA)
