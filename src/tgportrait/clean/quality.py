"""Data-quality report: reads import logs, flagged events and the identity result, writes ``quality``.

Definitions (also in docs/quality.md):
- records in (per source) = rows offered by imports: imported + exact duplicate rows + quarantined rows;
- duplication is measured on *profile records* (each CRM customer record and each Telegram user):
  before = (profile records that resolved into a person another record already had + the estimated
  missed duplicates) / profile records; after = estimated missed duplicates / persons. Missed
  duplicates are estimated as persons sharing a full name and a birth date;
- invalid before = (quarantined rows + imported events flagged invalid) / records in; after = invalid
  records left in the cleaned data (0: they are excluded, and counted here with their reason);
- exact duplicate rows (the same record imported twice) are reported per source as well.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def quality_report(imports: list[dict[str, Any]], invalid_counts: list[dict[str, Any]],
                   kept_by_source: dict[str, int], profile_records: int, persons_with_profiles: int,
                   residual_duplicates: int, identity_blocked: dict[str, int], refused_merges: int) -> dict[str, Any]:
    by_source: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "records_in": 0, "imported": 0, "duplicates": 0, "quarantined": 0, "invalid": 0,
        "invalid_by_reason": {}, "kept": 0})
    for entry in imports:
        source = by_source[entry["source"]]
        source["imported"] += entry["imported"]
        source["duplicates"] += entry["duplicates"]
        source["quarantined"] += entry["quarantined"]
        source["records_in"] += entry["imported"] + entry["duplicates"] + entry["quarantined"]
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
    return {
        "before": {
            "records": records_in, "invalid": invalid, "invalid_rate": _rate(invalid, records_in),
            "profile_records": profile_records, "duplicates": duplicates_before,
            "duplication_rate": _rate(duplicates_before, profile_records), "exact_duplicate_rows": exact_duplicates,
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
