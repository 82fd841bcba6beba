"""Data-quality report: reads import logs, flagged events and the identity result, writes ``quality``.

Definitions (also in docs/quality.md):
- records in (per source) = rows offered by imports: imported + exact duplicates + quarantined rows;
- duplicates before = exact duplicate rows skipped at import + profile records that resolved to a
  person another record already had (CRM customers and Telegram users merged by identity);
- invalid before = quarantined rows + imported events flagged invalid (with their reason);
- after = what the cleaned data still holds: invalid rows are excluded (0 by construction) and the
  residual duplicates are *estimated* as persons that share a full name with a city or a birth date.
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
    before_duplicates = exact_duplicates + merged
    return {
        "before": {
            "records": records_in, "duplicates": before_duplicates, "invalid": invalid,
            "duplication_rate": _rate(before_duplicates, records_in), "invalid_rate": _rate(invalid, records_in),
        },
        "after": {
            "records": kept, "duplicates": residual_duplicates, "invalid": 0,
            "duplication_rate": _rate(residual_duplicates, persons_with_profiles), "invalid_rate": 0.0,
        },
        "by_source": dict(sorted(by_source.items())),
        "identity": {
            "profile_records": profile_records, "persons": persons_with_profiles, "merged_records": merged,
            "profile_duplication_rate_before": _rate(merged, profile_records),
            "blocked_identifiers": identity_blocked, "refused_merges": refused_merges,
        },
    }
