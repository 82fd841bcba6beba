"""Store what an importer parsed: events into the lake, rejected rows into the quarantine.

Reads a ``ParsedInput`` (canonical events + quarantined rows) and writes the lake's
``events`` and the state's ``quarantine`` and ``imports`` tables. Re-importing the same file
adds nothing: event ids are deterministic and the lake skips ids it already holds.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from tgportrait.workspace import Workspace


def make_event_id(source: str, *parts: object) -> str:
    """Deterministic event id from the source kind and the source's own identifiers."""
    digest = hashlib.sha1("\x1f".join([source, *map(str, parts)]).encode("utf-8")).hexdigest()
    return digest[:24]


@dataclass(frozen=True)
class QuarantineRow:
    file: str
    row: int | None
    reason: str
    raw: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "row": self.row, "reason": self.reason, "raw": self.raw}


@dataclass
class ParsedInput:
    """What an importer produced from one file: canonical events and rejected rows."""

    source: str
    file: str
    events: pa.Table
    quarantined: list[QuarantineRow] = field(default_factory=list)


@dataclass(frozen=True)
class ImportReport:
    imported: int
    duplicates: int
    quarantined: int
    by_type: dict[str, int]
    invalid_identifiers: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"imported": self.imported, "duplicates": self.duplicates, "quarantined": self.quarantined,
                "by_type": self.by_type}


def invalid_identifier_reason(identifier: str, reason: str) -> str:
    """The reason category of a rejected identifier: its field and the reason without the value or region."""
    text = re.sub(r"'[^']*'\s*", "", reason).strip()
    text = re.sub(r"\s+for [A-Z]{2}$", "", text).removeprefix("is ").strip()
    return f"{identifier}: {text}"


def rejected_identifier(raw_value: object, reason: str | None) -> dict[str, str] | None:
    """What an importer records for an identifier its normaliser refused (None for an empty cell).

    Whitespace and placeholders ('null', 'n/a'...) never link, but someone typed them: they are recorded too.
    """
    from tgportrait.collect.normalize import is_blank

    text = "" if raw_value is None or (isinstance(raw_value, float) and raw_value != raw_value) else str(raw_value)
    if not text:
        return None
    if is_blank(text):
        return {"value": text.strip(), "reason": f"placeholder '{text.strip()}' is not a value"}
    return {"value": text.strip(), "reason": reason or "invalid"}


def with_invalid_identifiers(raw: str, rejected: dict[str, Any]) -> str:
    """``raw`` (a JSON object) with the rejected identifiers added under "invalid_identifiers" (the CRM convention)."""
    if not rejected or not raw.endswith("}"):
        return raw
    return raw[:-1] + f', "invalid_identifiers": {json.dumps(rejected, ensure_ascii=False)}}}'


def count_invalid_identifiers(raw: pa.Array | pa.ChunkedArray) -> dict[str, int]:
    """Count the identifiers importers rejected, by reason, from the events' ``raw`` JSON ("invalid_identifiers").

    Events of one source record share its ``raw`` (a questionnaire row's answers, an update's events): each
    distinct ``raw`` counts once.
    """
    counts: Counter[str] = Counter()
    for text in dict.fromkeys(raw.to_pylist()):
        if not text or '"invalid_identifiers"' not in text:
            continue
        rejected = json.loads(text).get("invalid_identifiers") or {}
        for identifier, entry in rejected.items():
            counts[invalid_identifier_reason(identifier, str(entry.get("reason") or "invalid"))] += 1
    return dict(sorted(counts.items()))


def with_folded_text(events: pa.Table) -> pa.Table:
    """Fill ``text_folded`` (``classify.text.fold_text`` of ``text``) once, at ingest, for every later build."""
    from tgportrait.classify.text import fold_texts

    if "text" not in events.column_names or events.num_rows == 0:
        return events
    folded = pa.array(fold_texts(events.column("text").to_pylist()), pa.string())
    if "text_folded" in events.column_names:
        return events.set_column(events.schema.get_field_index("text_folded"), "text_folded", folded)
    return events.append_column("text_folded", folded)


def ingest(workspace: Workspace, parsed: ParsedInput) -> ImportReport:
    """Append the parsed events to the lake and log the import; return the summary.

    Rejected identifiers are counted on the newly written events only, so re-importing a file adds none.
    """
    from tgportrait.clean.erasure import drop_tombstoned

    events = with_folded_text(drop_tombstoned(workspace, parsed.events, parsed.file))
    if workspace.settings.intents.detect_language_at_ingest:
        from tgportrait.classify.language import with_detected_languages

        events = with_detected_languages(events)  # each message's lang, on the event
    result = workspace.lake.append_events(events)
    invalid = count_invalid_identifiers(pq.read_table(result.part, columns=["raw"]).column("raw")) \
        if result.part is not None else {}
    report = ImportReport(result.written, result.duplicates, len(parsed.quarantined), result.by_type, invalid)
    workspace.state.add_quarantine(parsed.source, [q.as_dict() for q in parsed.quarantined])
    workspace.state.record_import(parsed.source, parsed.file, report.imported, report.duplicates,
                                  report.quarantined, report.by_type, invalid)
    return report
