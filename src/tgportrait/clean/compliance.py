"""Compliance: reads the rule database (package data) and a run's clean events; writes the ``allowed`` table
and the run's decision log (``compliance_decisions`` Parquet in the run folder).

Every person gets one decision per build: their jurisdiction (from the strongest region evidence:
questionnaire region > phone country code > CRM country; the Telegram language is only a weak hint and
never decides), their age (questionnaire age / age band, else CRM birth date) and, per purpose
(profiling, marketing, sensitive), allowed or not with the reasons and the rule file behind them.
Consent comes from the ledger (``tgportrait.clean.consent``) and from questionnaire answers
``consent_profiling`` / ``consent_marketing`` / ``consent_sensitive``; the latest decision wins; a
``stop`` event withdraws marketing. The evidence is gathered per person in the engine
(``tgportrait.clean.consent_evidence``). Unknown region means the strictest rules (``default.yaml``);
unknown or under-age means no profiling.

The decision log is per run and per person, so it lives with the run (``runs/<run>/compliance_decisions/``,
sorted by person id so that reading one person skips the other row groups): it is published atomically with
the run, erased with the run's other tables by ``forget``, and removed with the run; it does not grow a
state table by one row per person and build.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from tgportrait.clean.consent import PURPOSES, consent_ledger, latest_decisions
from tgportrait.clean.consent_evidence import Evidence, evidence_table, gather_evidence
from tgportrait.errors import ConfigError
from tgportrait.store.state import State

if TYPE_CHECKING:
    from tgportrait.store.lake import Lake
    from tgportrait.workspace import Workspace

DEFAULT_REGION = "default"
BASES = ("explicit_consent", "separate_consent", "consent", "consent_or_soft_opt_in",
         "legitimate_interest_with_opt_out", "opt_out", "parental_consent", "prohibited", "unclear")
US_STATES = {"CA": "US-CA"}
DECISIONS_TABLE = "compliance_decisions"        # the run table (folder of Parquet parts) holding the decision log
DECISIONS_SCHEMA = pa.schema([
    ("person_id", pa.string()), ("region", pa.string()), ("region_source", pa.string()),
    ("jurisdiction", pa.string()), ("profiling", pa.bool_()), ("marketing", pa.bool_()), ("sensitive", pa.bool_()),
    ("reasons", pa.list_(pa.dictionary(pa.int32(), pa.string()))), ("decided_at", pa.timestamp("us")),
])
DECISIONS_ROW_GROUP = 64_000    # rows per row group: one person's look-up reads one group of ~2 MB
ALLOWED_SCHEMA = pa.schema([("person_id", pa.string()), ("profiling", pa.bool_()), ("marketing", pa.bool_()),
                            ("sensitive", pa.bool_()), ("jurisdiction", pa.string())])


@dataclass(frozen=True)
class PurposeRule:
    basis: str
    opt_in_required: bool
    min_age: int
    source: str


@dataclass(frozen=True)
class Jurisdiction:
    region: str
    name: str
    law: str
    members: tuple[str, ...]
    purposes: dict[str, PurposeRule]
    sensitive_labels: tuple[str, ...]
    access_days: int
    erasure_days: int
    uncertain: tuple[str, ...]
    sources: tuple[str, ...]
    file: str

    def as_dict(self) -> dict[str, Any]:
        return {"region": self.region, "name": self.name, "law": self.law, "members": list(self.members),
                "purposes": {name: rule.__dict__ for name, rule in self.purposes.items()},
                "sensitive_labels": list(self.sensitive_labels),
                "requests": {"access_days": self.access_days, "erasure_days": self.erasure_days},
                "uncertain": list(self.uncertain), "sources": list(self.sources), "file": self.file}

    def is_sensitive_label(self, label_id: str) -> bool:
        return any(part in self.sensitive_labels for part in label_id.split("/"))


def _where(file: str, node: yaml.Node, key: str | None = None) -> str:
    if key is not None and isinstance(node, yaml.MappingNode):
        for key_node, _value in node.value:
            if key_node.value == key:
                return f"{file}:{key_node.start_mark.line + 1}"
    return f"{file}:{node.start_mark.line + 1}"


def _field(data: dict[str, Any], node: yaml.Node, file: str, key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in data:
        raise ConfigError(f"{_where(file, node)}: compliance rules miss '{key}'",
                          hint="every jurisdiction file needs region, name, law, members, purposes, "
                               "sensitive_labels, requests, uncertain and sources")
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise ConfigError(f"{_where(file, node, key)}: '{key}' has the wrong type ({type(value).__name__})",
                          hint="compare with src/tgportrait/defaults/compliance/default.yaml")
    return value


def parse_jurisdiction(text: str, file: str) -> Jurisdiction:
    """Validate one rule file; errors name the file and line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML ({exc})", hint="fix the YAML syntax") from exc
    if node is None or not isinstance(data, dict):
        raise ConfigError(f"{file}:1: compliance rules must be a mapping", hint="see default.yaml")
    purposes_node = next(v for k, v in node.value if k.value == "purposes") if "purposes" in data else node
    purposes: dict[str, PurposeRule] = {}
    for purpose in PURPOSES:
        raw = _field(_field(data, node, file, "purposes", dict), purposes_node, file, purpose, dict)
        purpose_node = next(v for k, v in purposes_node.value if k.value == purpose)
        basis = _field(raw, purpose_node, file, "basis", str)
        if basis not in BASES:
            raise ConfigError(f"{_where(file, purpose_node, 'basis')}: unknown basis '{basis}'",
                              hint=f"use one of {', '.join(BASES)}")
        purposes[purpose] = PurposeRule(basis, _field(raw, purpose_node, file, "opt_in_required", bool),
                                        _field(raw, purpose_node, file, "min_age", int),
                                        _field(raw, purpose_node, file, "source", str))
    requests = _field(data, node, file, "requests", dict)
    requests_node = next(v for k, v in node.value if k.value == "requests")
    return Jurisdiction(
        str(_field(data, node, file, "region", str)), _field(data, node, file, "name", str),
        _field(data, node, file, "law", str), tuple(_field(data, node, file, "members", list)), purposes,
        tuple(_field(data, node, file, "sensitive_labels", list)),
        _field(requests, requests_node, file, "access_days", int),
        _field(requests, requests_node, file, "erasure_days", int),
        tuple(_field(data, node, file, "uncertain", list)), tuple(_field(data, node, file, "sources", list)), file)


@cache
def load_rules() -> dict[str, Jurisdiction]:
    """Every jurisdiction of the package rule database, by region code (``default`` included)."""
    folder = resources.files("tgportrait.defaults").joinpath("compliance")
    rules: dict[str, Jurisdiction] = {}
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".yaml"):
            jurisdiction = parse_jurisdiction(entry.read_text(encoding="utf-8"), f"compliance/{entry.name}")
            rules[jurisdiction.region] = jurisdiction
    if DEFAULT_REGION not in rules:
        raise ConfigError("compliance/default.yaml is missing", hint="reinstall tgportrait")
    return rules


def jurisdiction_of(region: str | None) -> Jurisdiction:
    """The rules for an ISO region (``ID``, ``US-CA``, ``DE`` -> EU, ``GB`` -> UK); unknown -> strictest default."""
    rules = load_rules()
    code = (region or "").strip().upper()
    if code in rules:
        return rules[code]
    for jurisdiction in rules.values():
        if code and code in jurisdiction.members:
            return jurisdiction
    return rules[DEFAULT_REGION]


@dataclass(frozen=True)
class PersonDecision:
    person_id: str
    region: str | None
    region_source: str | None
    jurisdiction: Jurisdiction
    allowed: dict[str, bool]
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"person_id": self.person_id, "region": self.region, "region_source": self.region_source,
                "jurisdiction": self.jurisdiction.region, "allowed": self.allowed, "reasons": list(self.reasons)}



def decide(evidence: Evidence) -> PersonDecision:
    """Apply the person's jurisdiction to their evidence; every outcome carries its reason and rule."""
    region, source = None, None
    for value, name in ((evidence.q_region, "questionnaire"), (evidence.phone_region, "phone"),
                        (evidence.crm_country, "crm")):
        if value:
            region, source = value, name
            break
    jurisdiction = jurisdiction_of(region)
    hint = ""
    if region is None and evidence.language_hint:
        hint = f"; Telegram language suggests {evidence.language_hint}, too weak to decide"
    reasons = [f"region {region or 'unknown'} ({source or 'no evidence'}{hint}) -> rules {jurisdiction.file}"]
    latest = latest_decisions(evidence.decisions)
    allowed: dict[str, bool] = {}
    for purpose in PURPOSES:
        rule = jurisdiction.purposes[purpose]
        decision = latest.get(purpose)
        if evidence.age is None and purpose == "profiling":
            allowed[purpose], why = False, "age unknown: no profiling"
        elif evidence.age is not None and evidence.age < rule.min_age:
            allowed[purpose], why = False, f"age {evidence.age} under {rule.min_age}"
        elif rule.basis == "prohibited":
            allowed[purpose], why = False, "prohibited"
        elif decision is not None:
            allowed[purpose] = decision.granted
            why = f"{'granted' if decision.granted else 'refused'} by {decision.source} at {decision.at.isoformat()}"
        elif rule.opt_in_required:
            allowed[purpose], why = False, f"no consent recorded; {rule.basis} required"
        else:
            allowed[purpose], why = True, f"no objection recorded; basis {rule.basis}"
        reasons.append(f"{purpose}: {'allowed' if allowed[purpose] else 'denied'}: {why} [{rule.source}]")
    if not allowed["profiling"] and allowed["sensitive"]:
        allowed["sensitive"] = False
        reasons.append("sensitive: denied: sensitive labels need profiling too")
    return PersonDecision(evidence.person_id, region, source, jurisdiction, allowed, tuple(reasons))


def compliance_decisions(state: State, evidence: pa.Table, identifiers: pa.Table,
                         as_of: datetime) -> list[PersonDecision]:
    """One decision per person of the identity map, from ``consent_evidence.evidence_table``'s rows (one per
    person, computed in the engine), the identity map and the consent ledger; sorted by person id."""
    people = gather_evidence(evidence, identifiers, consent_ledger(state), as_of)
    return [decide(people[person_id]) for person_id in sorted(people)]


def allowed_table(decisions: list[PersonDecision]) -> pa.Table:
    """The ``allowed`` table that ``assign_labels(..., allowed=...)`` reads."""
    return pa.Table.from_pylist([{"person_id": d.person_id, **d.allowed, "jurisdiction": d.jurisdiction.region}
                                 for d in decisions], schema=ALLOWED_SCHEMA)


def sensitive_pairs(decisions: list[PersonDecision], label_ids: list[str]) -> pa.Table:
    """(person_id, label_id) of labels sensitive in the person's jurisdiction that the person did not allow."""
    sensitive_in: dict[str, list[str]] = {}     # per jurisdiction, computed once (not once per person)
    persons, labels = [], []
    for d in decisions:
        if d.allowed["profiling"] and not d.allowed["sensitive"]:
            listed = sensitive_in.get(d.jurisdiction.region)
            if listed is None:
                listed = [label for label in label_ids if d.jurisdiction.is_sensitive_label(label)]
                sensitive_in[d.jurisdiction.region] = listed
            persons += [d.person_id] * len(listed)
            labels += listed
    return pa.table({"person_id": pa.array(persons, pa.string()), "label_id": pa.array(labels, pa.string())})


def _reasons_column(decisions: list[PersonDecision]) -> pa.Array:
    """The reasons as a list of dictionary-encoded strings: most persons share their reasons word for word, so
    each distinct list is converted once (at one million persons: 0.8 s instead of 3.3 s for plain strings)."""
    distinct: dict[tuple[str, ...], int] = {}
    positions = [distinct.setdefault(d.reasons, len(distinct)) for d in decisions]
    strings: dict[str, int] = {}
    offsets, flat = [0], []
    for reasons in distinct:
        flat += [strings.setdefault(reason, len(strings)) for reason in reasons]
        offsets.append(len(flat))
    values = pa.DictionaryArray.from_arrays(pa.array(flat, pa.int32()), pa.array(list(strings), pa.string()))
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values).take(pa.array(positions, pa.int32()))


def log_decisions(folder: Path, decisions: list[PersonDecision], at: datetime) -> Path:
    """Write one build's decision log into its run folder (one row per person, sorted by person id)."""
    ordered = sorted(decisions, key=lambda d: d.person_id)
    naive_utc = at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at
    columns: dict[str, list[Any] | pa.Array] = {
        "person_id": [d.person_id for d in ordered], "region": [d.region for d in ordered],
        "region_source": [d.region_source for d in ordered],
        "jurisdiction": [d.jurisdiction.region for d in ordered],
        **{purpose: [d.allowed[purpose] for d in ordered] for purpose in PURPOSES},
        "reasons": _reasons_column(ordered), "decided_at": [naive_utc] * len(ordered),
    }
    table = pa.Table.from_pydict(columns, schema=DECISIONS_SCHEMA)
    path = folder / DECISIONS_TABLE / "part-0.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd", row_group_size=DECISIONS_ROW_GROUP)
    return path


def logged_decision(lake: Lake, run_id: str, person_id: str) -> dict[str, Any] | None:
    """The logged decision of ``person_id`` in run ``run_id`` as ``{"person_id", "region", "region_source",
    "jurisdiction", "allowed", "reasons", "decided_at"}``; None when the run has no log or no row for them."""
    parts = sorted(lake.run_table_path(run_id, DECISIONS_TABLE).glob("*.parquet"))
    rows = [row for part in parts
            for row in pq.read_table(part, filters=[("person_id", "=", person_id)]).to_pylist()]
    if not rows:
        return None
    row = rows[0]
    return {"person_id": person_id, "region": row["region"], "region_source": row["region_source"],
            "jurisdiction": row["jurisdiction"], "allowed": {purpose: row[purpose] for purpose in PURPOSES},
            "reasons": list(row["reasons"]), "decided_at": row["decided_at"].isoformat()}


def check_person(workspace: Workspace, person: str) -> dict[str, Any]:
    """What the current run allows for a person and why: ``{"region", "allowed", "reasons", ...}``."""
    from tgportrait.portrait.query import resolve_person_id

    run_id = workspace.lake.require_current_run()
    person_id = resolve_person_id(workspace, person)
    logged = logged_decision(workspace.lake, run_id, person_id)
    if logged is not None:
        return {"run_id": run_id, **logged}
    identities = workspace.lake.read_run_table("identities", run_id)
    identities = identities.filter(pc.equal(identities.column("person_id"), person_id))
    clean = workspace.lake.read_run_table("events_clean", run_id)
    clean = clean.filter(pc.equal(clean.column("person_id"), person_id))
    as_of = datetime.fromisoformat(str(workspace.lake.read_manifest(run_id)["as_of"]))
    engine = workspace.engine
    evidence = engine.execute(evidence_table(engine.from_arrow(clean, "person_events")), "person_evidence")
    decision = compliance_decisions(workspace.state, evidence, identities, as_of)[0]
    return {"run_id": run_id, **decision.as_dict()}
