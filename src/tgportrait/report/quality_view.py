"""The report's data-quality section: reads a run's ``quality.json`` dictionary, writes formatted rows and the chart.

Before/after rates, invalid identifiers dropped at import and junk identifiers the guardrails block (kept,
never linking), merged profile records (deterministic / fuzzy / manual), redundant and consent-blocked shares,
and one row per source, whose identifier reasons list the rejected ones first, then the blocked ones. Missing
keys (runs written before a figure existed) show as an em dash or zero, never as an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from tgportrait.report.charts import StackedBar, format_count, format_percent, stacked_bar_chart

QUALITY_SERIES = ("clean", "duplicates", "invalid")
MERGE_KINDS = ("deterministic", "fuzzy", "manual")


@dataclass(frozen=True)
class QualitySource:
    source: str
    records_in: int
    duplicates: int
    invalid: int
    kept: int
    invalid_by_reason: list[tuple[str, int]]
    merged: str = "—"                   # "deterministic / fuzzy / manual" profile records
    redundant_share: str = "—"
    consent_blocked_share: str = "—"
    invalid_identifiers: list[tuple[str, int]] = field(default_factory=list)


def number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def quality_chart(before: Mapping[str, Any], after: Mapping[str, Any]) -> Markup | None:
    rows = []
    for name, side in (("Before", before), ("After", after)):
        records = number(side.get("records"))
        duplicates = number(side.get("exact_duplicate_rows"))      # rows imported twice (profiles: see the table)
        invalid = number(side.get("invalid"))
        clean = max(records - duplicates - invalid, 0.0)
        rows.append(StackedBar(name, (clean, duplicates, invalid), f"{format_count(records)} records"))
    if not any(sum(row.values) for row in rows):
        return None
    return stacked_bar_chart("chart-quality", "Records before and after cleaning", rows, QUALITY_SERIES,
                             value_axis_label="records")


def quality_rates(quality: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(metric, before, after) rows of the before/after table; empty when nothing was measured."""
    before, after = quality.get("before") or {}, quality.get("after") or {}
    if not before and not after:
        return []
    return [
        ("Records", format_count(number(before.get("records"))), format_count(number(after.get("records")))),
        ("Invalid rate (records)", format_percent(before.get("invalid_rate")),
         format_percent(after.get("invalid_rate"))),
        ("Profiles (before) / persons (after)", format_count(number(before.get("profile_records"))),
         format_count(number(after.get("persons")))),
        ("Duplication rate (profiles)", format_percent(before.get("duplication_rate")),
         format_percent(after.get("duplication_rate"))),
        ("Invalid identifiers (dropped, row kept)", format_count(number(before.get("invalid_identifiers"))), "—"),
        ("Junk identifiers (blocked, never link)", format_count(number(before.get("blocked_identifiers"))), "—"),
        ("Merged profiles (deterministic / fuzzy / manual)", "—", merged(quality.get("identity") or {})),
        ("Redundant share (events)", "—", format_percent(after.get("redundant_share"))),
        ("Consent-blocked share (events)", "—", format_percent(after.get("consent_blocked_share"))),
    ]


def merged(row: Mapping[str, Any]) -> str:
    """``merged_deterministic / merged_fuzzy / merged_manual`` of a source or the identity block, or a dash."""
    kinds = [row.get(f"merged_{kind}") for kind in MERGE_KINDS]
    return " / ".join(format_count(number(n)) for n in kinds) if any(n is not None for n in kinds) else "—"


def _reasons(reasons: Mapping[str, Any] | None) -> list[tuple[str, int]]:
    return sorted(((str(reason), int(number(n))) for reason, n in (reasons or {}).items()), key=lambda item: -item[1])


def quality_source(name: str, row: Mapping[str, Any]) -> QualitySource:
    return QualitySource(str(name), int(number(row.get("records_in"))), int(number(row.get("duplicates"))),
                         int(number(row.get("invalid"))), int(number(row.get("kept"))),
                         _reasons(row.get("invalid_by_reason")), merged(row),
                         format_percent(row.get("redundant_share")), format_percent(row.get("consent_blocked_share")),
                         _reasons(row.get("invalid_identifiers_by_reason"))
                         + _reasons(row.get("blocked_identifiers_by_reason")))
