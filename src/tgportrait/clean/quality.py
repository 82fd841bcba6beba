"""Data-quality report: reads import logs, flagged events and the identity result, writes ``quality``.

Definitions (also in docs/quality.md):
- records in (per source) = rows offered by imports: imported + exact duplicate rows + quarantined rows;
- duplication is measured on *profile records* (each CRM customer record and each Telegram user):
  before = (profile records that resolved into a person another record already had + the estimated
  missed duplicates) / profile records; after = estimated missed duplicates / persons. Missed
  duplicates are estimated as persons sharing a full name and a birth date;
- invalid before = (quarantined rows + imported events flagged invalid) / records in; after = invalid
  records left in the cleaned data (0: they are excluded, and counted here with their reason);
- exact duplicate rows (the same record imported twice) are reported per source as well;
- merged (per source and overall) = profile records joined to a person by a deterministic rule, a fuzzy
  (Splink) link or a manual merge;
- redundant share = cleaned events of the redundant value tier / cleaned events (counted, not featured);
- invalid identifiers (per source, by reason) = identifiers an importer rejected on a row it kept (the row
  stays, the identifier is dropped), counted at ingest into the ``imports`` log (CRM customers, questionnaires,
  Telegram bot updates and the inbox; whitespace and placeholders such as 'null' count as
  "placeholder is not a value");
- blocked identifiers (per source, by reason) = distinct identifier values per source that passed import but
  that the identity guardrails block as junk ("email: blocked junk value", "phone: matches a blocked
  pattern"): they stay on the event and never link anything;
- consent-blocked share = cleaned events of persons excluded from profiling by the compliance stage /
  cleaned events;
- pre-label coverage = persons with core data (any message or order) who got at least one label of the
  demand dimension / persons with core data.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tgportrait.clean.identity import Guardrails, Identifier
from tgportrait.config import IdentitySettings
from tgportrait.store.tables import IDENTIFIER_TYPES

# identifier column -> the field name importers use in their reasons ("phone: ...", "telegram_username: ...")
IDENTIFIER_FIELDS = {"tg_user_id": "telegram_user_id", "tg_username": "telegram_username", "phone": "phone",
                     "email": "email", "crm_customer_id": "customer_id"}
BLOCKED_REASONS = {"blocked value": "blocked junk value", "blocked pattern": "matches a blocked pattern"}


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def quality_report(imports: list[dict[str, Any]], invalid_counts: list[dict[str, Any]],
                   kept_by_source: dict[str, int], profile_records: int, persons_with_profiles: int,
                   residual_duplicates: int, identity_blocked: dict[str, int], refused_merges: int) -> dict[str, Any]:
    by_source: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "records_in": 0, "imported": 0, "duplicates": 0, "quarantined": 0, "invalid": 0,
        "invalid_by_reason": {}, "kept": 0, "invalid_identifiers": 0, "invalid_identifiers_by_reason": {}})
    for entry in imports:
        source = by_source[entry["source"]]
        source["imported"] += entry["imported"]
        source["duplicates"] += entry["duplicates"]
        source["quarantined"] += entry["quarantined"]
        source["records_in"] += entry["imported"] + entry["duplicates"] + entry["quarantined"]
        for reason, n in (entry.get("invalid_identifiers") or {}).items():
            reasons = source["invalid_identifiers_by_reason"]
            reasons[reason] = reasons.get(reason, 0) + int(n)
            source["invalid_identifiers"] += int(n)
    for entry in invalid_counts:
        source = by_source[entry["source"]]
        source["invalid"] += entry["n"]
        source["invalid_by_reason"][entry["invalid_reason"]] = entry["n"]
    for name, kept in kept_by_source.items():
        by_source[name]["kept"] = kept
    for source in by_source.values():
        if source["quarantined"]:
            source["invalid_by_reason"]["malformed row (quarantined)"] = source["quarantined"]
        source["duplication_rate"] = _rate(source["duplicates"], source["records_in"])
        source["invalid_rate"] = _rate(source["invalid"] + source["quarantined"], source["records_in"])
    records_in = sum(s["records_in"] for s in by_source.values())
    exact_duplicates = sum(s["duplicates"] for s in by_source.values())
    merged = max(profile_records - persons_with_profiles, 0)
    invalid = sum(s["invalid"] + s["quarantined"] for s in by_source.values())
    kept = sum(kept_by_source.values())
    duplicates_before = merged + residual_duplicates
    identifier_reasons: dict[str, int] = defaultdict(int)
    for source in by_source.values():
        source["invalid_identifiers_by_reason"] = dict(sorted(source["invalid_identifiers_by_reason"].items()))
        for reason, n in source["invalid_identifiers_by_reason"].items():
            identifier_reasons[reason] += n
    return {
        "before": {
            "records": records_in, "invalid": invalid, "invalid_rate": _rate(invalid, records_in),
            "profile_records": profile_records, "duplicates": duplicates_before,
            "duplication_rate": _rate(duplicates_before, profile_records), "exact_duplicate_rows": exact_duplicates,
            "invalid_identifiers": sum(identifier_reasons.values()),
            "invalid_identifiers_by_reason": dict(sorted(identifier_reasons.items())),
        },
        "after": {
            "records": kept, "invalid": 0, "invalid_rate": 0.0,
            "persons": persons_with_profiles, "duplicates": residual_duplicates,
            "duplication_rate": _rate(residual_duplicates, persons_with_profiles),
        },
        "by_source": dict(sorted(by_source.items())),
        "identity": {
            "profile_records": profile_records, "persons": persons_with_profiles, "merged_records": merged,
            "estimated_missed_duplicates": residual_duplicates,
            "blocked_identifiers": identity_blocked, "refused_merges": refused_merges,
        },
    }


def blocked_identifiers_by_source(records: pa.Table, settings: IdentitySettings) -> dict[str, dict[str, int]]:
    """Distinct identifier values per source that the guardrails block as junk, as {source: {reason: n}}.

    ``records`` are the identity stage's distinct identifier tuples (``source`` + IDENTIFIER_TYPES).
    """
    guardrails = Guardrails(settings)
    seen: set[tuple[str, str, str]] = set()
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for batch in records.to_batches(max_chunksize=65_536):
        for row in batch.to_pylist():
            source = str(row.get("source") or "")
            for id_type in IDENTIFIER_TYPES:
                value = row.get(id_type)
                if value is None or value == "" or (source, id_type, str(value)) in seen:
                    continue
                seen.add((source, id_type, str(value)))
                reason = guardrails.blocked_reason(Identifier(id_type, str(value)))
                if reason is not None:
                    counts[source][f"{IDENTIFIER_FIELDS[id_type]}: {BLOCKED_REASONS.get(reason, reason)}"] += 1
    return {source: dict(reasons) for source, reasons in counts.items()}


def add_blocked_identifiers(report: dict[str, Any], blocked: dict[str, dict[str, int]]) -> None:
    """Add the guardrails' junk values (``blocked_identifiers_by_source``) per source and overall, by reason."""
    overall: dict[str, int] = defaultdict(int)
    for name, source in report["by_source"].items():
        reasons = dict(sorted(blocked.get(name, {}).items()))
        source["blocked_identifiers"] = sum(reasons.values())
        source["blocked_identifiers_by_reason"] = reasons
        for reason, n in reasons.items():
            overall[reason] += n
    report["before"]["blocked_identifiers"] = sum(overall.values())
    report["before"]["blocked_identifiers_by_reason"] = dict(sorted(overall.items()))


def merge_kind(rule: str) -> str | None:
    """How a non-anchor identifier joined its person: deterministic, fuzzy or manual (None for the anchor)."""
    if rule == "anchor":
        return None
    if rule.startswith("fuzzy"):
        return "fuzzy"
    return "manual" if rule.startswith("manual") else "deterministic"


def add_merges_and_tiers(report: dict[str, Any], identifiers: pa.Table,
                         tiers_by_source: list[dict[str, Any]]) -> None:
    """Add merged profile records (deterministic / fuzzy / manual) and the redundant share, per source and overall.

    ``identifiers`` is the identity map; ``tiers_by_source`` rows are (source, value_tier, n) of cleaned events.
    """
    profiles = identifiers.filter(pc.is_in(identifiers.column("id_type"),
                                           pa.array(["tg_user_id", "crm_customer_id"])))
    totals = {"deterministic": 0, "fuzzy": 0, "manual": 0}
    per_source: dict[str, dict[str, int]] = defaultdict(lambda: {"deterministic": 0, "fuzzy": 0, "manual": 0})
    for row in profiles.select(["rule", "sources"]).to_pylist():
        kind = merge_kind(row["rule"])
        if kind is None:
            continue
        totals[kind] += 1
        for source in (row["sources"] or "").split(","):
            if source:
                per_source[source][kind] += 1
    report["identity"].update({f"merged_{kind}": n for kind, n in totals.items()})
    by_tier: dict[str, dict[str, int]] = defaultdict(dict)
    for row in tiers_by_source:
        by_tier[row["source"]][row["value_tier"]] = int(row["n"])
    for name, source in report["by_source"].items():
        source.update({f"merged_{kind}": n for kind, n in per_source.get(name, totals.fromkeys(totals, 0)).items()})
        tiers = by_tier.get(name, {})
        source["by_tier"] = tiers
        source["redundant"] = tiers.get("redundant", 0)
        source["redundant_share"] = _rate(source["redundant"], sum(tiers.values()))
    redundant = sum(tiers.get("redundant", 0) for tiers in by_tier.values())
    report["after"]["redundant"] = redundant
    report["after"]["redundant_share"] = _rate(redundant, sum(sum(tiers.values()) for tiers in by_tier.values()))


def add_consent_blocked(report: dict[str, Any], totals: dict[str, int], blocked: dict[str, int]) -> None:
    """Add the cleaned events of persons excluded from profiling, per source and overall, with their share.

    ``totals`` counts the cleaned events per source before the consent filter, ``blocked`` those of persons
    excluded from profiling (both counted in the engine).
    """
    for name, source in report["by_source"].items():
        source["consent_blocked"] = blocked.get(name, 0)
        source["consent_blocked_share"] = _rate(source["consent_blocked"], totals.get(name, 0))
    report["after"]["consent_blocked"] = sum(blocked.values())
    report["after"]["consent_blocked_share"] = _rate(sum(blocked.values()), sum(totals.values()))


def prelabel_coverage(features: pa.Table, labels: pa.Table, demand_dimension: str) -> dict[str, Any]:
    """Share of persons with core data (messages_total or orders_total > 0) holding a ``demand_dimension`` label."""
    core = pc.or_(pc.greater(pc.fill_null(features.column("messages_total"), 0), 0),
                  pc.greater(pc.fill_null(features.column("orders_total"), 0), 0))
    core_persons = set(features.column("person_id").filter(core).to_pylist())
    demand = labels.filter(pc.equal(labels.column("level1"), demand_dimension))
    labelled = core_persons & set(demand.column("person_id").to_pylist())
    return {"dimension": demand_dimension, "persons_with_core_data": len(core_persons),
            "with_demand_label": len(labelled), "coverage": _rate(len(labelled), len(core_persons))}
