"""questionnaire: canonical keys and values, blank rows, quarantined user ids, JSON Lines, re-import."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tgportrait.collect import import_file
from tgportrait.collect.questionnaire import age_band_of, answer_key, normalize_age_band, parse_questionnaire
from tgportrait.config import Settings
from tgportrait.errors import InputError, MappingError
from tgportrait.workspace import Workspace

FIXTURES = Path(__file__).parent / "fixtures"


def answers(path: Path, mapping: dict[str, str] | None = None) -> list[tuple[int, str, str | None, str | None]]:
    events = parse_questionnaire(path, Settings.model_validate({}), mapping or {}).events
    return [(r["tg_user_id"], r["answer_key"], r["answer_value"], r["subtype"]) for r in events.to_pylist()]


def test_csv_answers_become_canonical_events() -> None:
    assert answers(FIXTURES / "questionnaire_answers.csv") == [
        (111111111, "region", "ID", None),
        (111111111, "age", "27", None),
        (111111111, "age_band", "25-34", "derived"),
        (111111111, "gender", "female", None),
        (111111111, "language", "id", None),
        (111111111, "device", "ios", None),
        (111111111, "interest", "skincare", None),
        (111111111, "interest", "makeup", None),
        (111111111, "interest", "perfume", None),
        (111111111, "consent_profiling", "yes", None),
        (111111111, "consent_marketing", "no", None),
        (111111111, "favourite_brand", "Wardah", None),
        (222222222, "region", "ID", None),
        (222222222, "age_band", "25-34", None),
        (222222222, "gender", "female", None),
        (222222222, "language", "id", None),
        (222222222, "device", "android", None),
        (222222222, "interest", "skincare", None),
        (222222222, "consent_profiling", "yes", None),
        (222222222, "consent_marketing", "no", None),
        (333333333, "__blank__", None, "blank"),
        (555555555, "region", "Wonderland", None),
        (555555555, "age_band", "55+", None),
        (555555555, "age", "sixteen", None),
        (555555555, "gender", "prefer not to say", None),
        (555555555, "language", "Klingon", None),
        (555555555, "device", "smart fridge", None),
        (555555555, "consent_profiling", "maybe", None),
        (555555555, "consent_marketing", "no", None),
    ]


def test_event_columns_rows_and_quarantine() -> None:
    parsed = parse_questionnaire(FIXTURES / "questionnaire_answers.csv", Settings.model_validate({}), {})
    first = parsed.events.slice(0, 1).to_pylist()[0]
    assert {k: first[k] for k in ("source", "type", "source_row", "occurred_at")} == {
        "source": "questionnaire", "type": "questionnaire_answer", "source_row": 1,
        "occurred_at": datetime(2024, 4, 1, 5, 0)}
    assert first["raw"].startswith('{"tg_user_id": "111111111", "answered_at": "2024-04-01T12:00:00+07:00"')
    assert len(set(parsed.events["event_id"].to_pylist())) == parsed.events.num_rows
    assert [(q.row, q.reason) for q in parsed.quarantined] == [
        (4, "telegram_user_id is blank"),
        (5, "telegram_user_id '@durov' is not a Telegram user id (a positive whole number)"),
        (6, "answered_at 'not a date' is not a date (expected ISO 8601, YYYYMMDD, M/D/YY H:MM, DD.MM.YYYY or unix "
            "seconds)"),
    ]


def test_json_lines_answers() -> None:
    assert answers(FIXTURES / "questionnaire_answers.jsonl") == [
        (111111111, "region", "GB", None),
        (111111111, "age_band", "18-24", None),
        (111111111, "interest", "skincare", None),
        (111111111, "interest", "perfume", None),
        (111111111, "consent_sensitive", "yes", None),
        (666666666, "age", "17", None),
        (666666666, "age_band", "<18", "derived"),
        (666666666, "language", "pt", None),
        (666666666, "device", "desktop", None),
    ]


def test_map_names_an_answer_column_and_the_user_id(tmp_path: Path) -> None:
    path = tmp_path / "questionnaire_mapped.csv"
    path.write_text("who,Q1 where do you live\n42,Malaysia\n", encoding="utf-8")
    assert answers(path, {"telegram_user_id": "who", "region": "Q1 where do you live"}) == [(42, "region", "MY", None)]
    assert answers(path, {"telegram_user_id": "who"}) == [(42, "q1_where_do_you_live", "Malaysia", None)]
    with pytest.raises(MappingError, match="'regoin' is not a questionnaire field"):
        answers(path, {"telegram_user_id": "who", "regoin": "Q1 where do you live"})
    with pytest.raises(InputError) as caught:
        answers(path)
    assert caught.value.hint == ("Name the column with --map telegram_user_id=COLUMN (accepted names: "
                                 "telegram_user_id, tg_user_id, user_id, telegram_id).")


@pytest.mark.parametrize(("value", "expected"), [
    ("18-24", "18-24"), ("25–34", "25-34"), ("25 to 34 years", "25-34"), ("35 - 44", "35-44"), ("45-54 лет", "45-54"),
    ("55+", "55+"), ("55 and over", "55+"), ("65+", "55+"), ("over 60", "55+"), ("under 18", "<18"),
    ("20-29", None), ("young", None),
])
def test_normalize_age_band(value: str, expected: str | None) -> None:
    assert normalize_age_band(value) == expected


def test_age_band_of_and_answer_key() -> None:
    assert [age_band_of(age) for age in (12, 17.9, 18, 24.9, 25, 44.5, 54, 55, 90)] == [
        "<18", "<18", "18-24", "18-24", "25-34", "35-44", "45-54", "55+", "55+"]
    assert answer_key("  Favourite Brand? ") == "favourite_brand"


def test_reimport_adds_nothing(workspace: Workspace) -> None:
    first = import_file(workspace, "questionnaire", FIXTURES / "questionnaire_answers.csv")
    again = import_file(workspace, "questionnaire", FIXTURES / "questionnaire_answers.csv")
    assert (first.imported, first.quarantined, first.by_type) == (29, 3, {"questionnaire_answer": 29})
    assert (again.imported, again.duplicates) == (0, 29)
    assert len(workspace.state.quarantine()) == 3


def test_take_in_chunks_equals_one_take() -> None:
    import numpy as np
    import pyarrow as pa

    from tgportrait.collect.questionnaire import take_in_chunks

    values = pa.array(['{"row": 1}', '{"row": 2}', None, '{"row": 4}'], pa.string())
    positions = np.array([0, 0, 1, 3, 3, 3, 2], dtype=np.int64)
    chunked = take_in_chunks(values, positions, rows_per_chunk=3)
    assert chunked.num_chunks == 3
    assert chunked.to_pylist() == values.take(pa.array(positions)).to_pylist()
    assert take_in_chunks(values, np.array([], dtype=np.int64)).to_pylist() == []
