"""Import questionnaires: reads answers keyed by Telegram user id (CSV, JSON Lines, Parquet), writes answer events.

Each non-empty answer becomes one ``questionnaire_answer`` event (``answer_key``, ``answer_value``,
``tg_user_id``). Known questions get canonical keys and values: region (ISO country), age_band
("18-24" ... "55+", "<18"), age (plus the derived age_band), gender (female/male/other), language
(ISO 639-1), device (ios/android/desktop/web), interests (one ``interest`` event each) and the
consent_profiling / consent_marketing / consent_sensitive answers (yes/no). Values that are not
recognised are kept as written; other columns are answers under their own snake_case key. A row whose
answers are all blank gives one ``__blank__`` event (subtype "blank"); a row without a numeric user id
goes to the quarantine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from tgportrait.collect.crm import RowProblems, events_table, resolve_columns
from tgportrait.collect.ingest import ParsedInput, make_event_id, rejected_identifier, with_invalid_identifiers
from tgportrait.collect.normalize import (
    DATE_FORMATS_HELP,
    is_blank,
    normalize_column,
    normalize_country,
    normalize_email,
    normalize_gender,
    normalize_language,
    normalize_phone,
    normalize_telegram_user_id,
    normalize_username,
    parse_datetime_column,
)
from tgportrait.collect.tabular import TabularFile, read_tabular, row_event_ids
from tgportrait.config import Settings
from tgportrait.errors import InputError

SOURCE = "questionnaire"
BLANK_KEY = "__blank__"
AGE_BANDS: tuple[str, ...] = ("18-24", "25-34", "35-44", "45-54", "55+")
UNDER_AGE_BAND = "<18"
QUESTIONNAIRE_FIELDS: dict[str, tuple[str, ...]] = {
    "telegram_user_id": ("tguserid", "userid", "telegramid", "tgid"),
    "answered_at": ("submittedat", "timestamp", "createdat", "date", "time", "submitted", "answeredon"),
    "region": ("country", "countrycode", "location"),
    "age_band": ("agegroup", "agerange", "agebracket"),
    "age": ("ageyears", "years"),
    "gender": ("sex",),
    "language": ("lang", "languagecode", "locale"),
    "device": ("platform", "os", "devicetype"),
    "interests": ("interest", "hobbies", "topics"),
    "consent_profiling": ("profilingconsent",),
    "consent_marketing": ("marketingconsent",),
    "consent_sensitive": ("sensitiveconsent",),
    # identifiers the bot's questionnaire collects (contact button, username): they link, they are not answers
    "telegram_username": ("tgusername", "username", "telegramhandle"),
    "phone": ("phonenumber", "mobile", "contactphone"),
    "email": ("emailaddress", "mail"),
}
IDENTIFIER_FIELDS = ("telegram_username", "phone", "email")
ANSWER_FIELDS = tuple(field for field in QUESTIONNAIRE_FIELDS
                      if field not in ("telegram_user_id", "answered_at", *IDENTIFIER_FIELDS))
_DEVICES = {
    "ios": ("ios", "iphone", "ipad", "apple", "ipados"),
    "android": ("android", "samsung", "xiaomi", "huawei", "pixel"),
    "desktop": ("desktop", "windows", "mac", "macos", "os x", "linux", "pc", "computer", "laptop"),
    "web": ("web", "browser", "telegram web", "web app", "webapp"),
}
_YES = frozenset({"yes", "y", "true", "1", "agree", "agreed", "i agree", "accept", "accepted", "ok", "да", "ya",
                  "iya", "setuju", "ja", "oui", "sí", "si", "✅"})
_NO = frozenset({"no", "n", "false", "0", "disagree", "decline", "declined", "нет", "tidak", "nein", "non", "❌"})

Answer = tuple[str, str | None, str | None]        # (answer_key, answer_value, subtype)


def age_band_of(age: float) -> str:
    """Canonical band of an age in completed years ("<18" below 18)."""
    if age < 18:
        return UNDER_AGE_BAND
    for band in AGE_BANDS[:-1]:
        low, high = (int(part) for part in band.split("-"))
        if low <= age < high + 1:
            return band
    return AGE_BANDS[-1]


def normalize_age_band(value: str) -> str | None:
    """Canonical band from spellings such as '25–34', '25 to 34 years', '55 and over', 'under 18'; else None."""
    text = re.sub(r"[–—]", "-", value.strip().lower())
    text = re.sub(r"\s*(?:years?(?: old)?|yrs?|y\.?o\.?|лет|года|tahun)\s*", " ", text).strip()
    bounds: tuple[float, float] | None = None
    if match := re.fullmatch(r"(\d{1,3})\s*(?:-|to|до|sampai|s/d)\s*(\d{1,3})", text):
        bounds = (float(match.group(1)), float(match.group(2)))
    elif match := (re.fullmatch(r"(\d{1,3})\s*(?:\+|plus|and (?:over|above|older)|or (?:more|older))", text)
                   or re.fullmatch(r"(?:over|above|older than|>=?|от)\s*(\d{1,3})", text)):
        bounds = (float(match.group(1)), float("inf"))
    elif match := re.fullmatch(r"(?:under|below|younger than|less than|<|до)\s*(\d{1,3})", text):
        bounds = (0.0, float(match.group(1)) - 1)
    if bounds is None:
        return None
    low, high = age_band_of(bounds[0]), age_band_of(bounds[1])
    return low if low == high else None


def _age_answers(value: str) -> list[Answer]:
    match = re.fullmatch(r"(\d{1,3}(?:[.,]\d+)?)\s*(?:years?(?: old)?|yrs?|y\.?o\.?|лет|года|tahun)?", value.lower())
    if not match:
        return [("age", value, None)]
    return [("age", value, None), ("age_band", age_band_of(float(match.group(1).replace(",", "."))), "derived")]


def _choice(value: str, choices: dict[str, tuple[str, ...]]) -> str:
    text = value.lower()
    return next((canonical for canonical, spellings in choices.items() if text in spellings), value)


def _consent(value: str) -> str:
    text = value.lower()
    return "yes" if text in _YES else "no" if text in _NO else value


def _interests(value: str) -> list[Answer]:
    """One answer per interest: a JSON list, or text split on ; , and |."""
    try:
        items = json.loads(value) if value.startswith("[") else None
    except json.JSONDecodeError:
        items = None
    texts = [str(item) for item in items] if isinstance(items, list) else re.split(r"[;,|]", value)
    parts = dict.fromkeys(part.strip().lower() for part in texts)
    return [("interest", part, None) for part in parts if part]


ANSWER_NORMALISERS: dict[str, Callable[[str], list[Answer]]] = {
    "region": lambda value: [("region", normalize_country(value) or value, None)],
    "age_band": lambda value: [("age_band", normalize_age_band(value) or value, None)],
    "age": _age_answers,
    "gender": lambda value: [("gender", normalize_gender(value) or value, None)],
    "language": lambda value: [("language", normalize_language(value) or value, None)],
    "device": lambda value: [("device", _choice(value, _DEVICES), None)],
    "interests": _interests,
    "consent_profiling": lambda value: [("consent_profiling", _consent(value), None)],
    "consent_marketing": lambda value: [("consent_marketing", _consent(value), None)],
    "consent_sensitive": lambda value: [("consent_sensitive", _consent(value), None)],
}


def answer_key(column: str) -> str:
    """The key of an answer column without a canonical meaning: its name in snake_case."""
    return re.sub(r"\W+", "_", column.strip().lower()).strip("_") or "answer"


def normalize_answers(key: str, value: Any) -> list[Answer]:
    """Events one answer gives: ``[(answer_key, answer_value, subtype), ...]``; none for a blank answer."""
    if is_blank(value):
        return []
    text = str(value).strip()
    normaliser = ANSWER_NORMALISERS.get(key)
    return normaliser(text) if normaliser else [(key, text, None)]


def parse_questionnaire(path: Path, settings: Settings, mapping: dict[str, str]) -> ParsedInput:
    """Questionnaire file → one ``questionnaire_answer`` event per answer; rows without a user id → quarantine."""
    table = read_tabular(path.resolve())
    fields = resolve_columns(table.columns, QUESTIONNAIRE_FIELDS, mapping, path=path, kind="questionnaire")
    if "telegram_user_id" not in fields:
        raise InputError(f"{table.path}: no column for 'telegram_user_id' (columns: {', '.join(table.columns)})",
                         hint="Name the column with --map telegram_user_id=COLUMN "
                              "(accepted names: telegram_user_id, tg_user_id, user_id, telegram_id).")
    answer_columns = {column: field for field, column in fields.items() if field in ANSWER_FIELDS}
    answer_columns.update({column: answer_key(column) for column in table.columns
                           if column not in fields.values()})
    problems = RowProblems(table.num_rows)
    raw_user_id = table.values(fields["telegram_user_id"])
    user_ids = normalize_column(raw_user_id, normalize_telegram_user_id).tolist()
    problems.add(np.array([user_id is None for user_id, _ in user_ids], dtype=bool),
                 lambda i: "telegram_user_id " + ("is blank" if is_blank(raw_user_id[i]) else str(user_ids[i][1])))
    answered_at = pd.Series(pd.NaT, index=range(table.num_rows), dtype="datetime64[us]")
    if "answered_at" in fields:
        raw_answered_at = table.values(fields["answered_at"])
        answered_at, bad_date = parse_datetime_column(raw_answered_at, settings.timezone)
        problems.add(bad_date, lambda i: f"answered_at '{raw_answered_at[i]}' is not a date "
                                         f"(expected {DATE_FORMATS_HELP})")
    answers = [normalize_column(table.values(column), _answers_of(key)).tolist()
               for column, key in answer_columns.items()]
    identifiers, refused_identifiers = _row_identifiers(table, fields)
    raw = table.row_json()
    row_ids = row_event_ids(SOURCE, raw).to_pylist()
    stored_raw = pa.array([with_invalid_identifiers(text, refused_identifiers[index])
                           for index, text in enumerate(raw.to_pylist())], pa.string())
    events: dict[str, Any] = {name: [] for name in ("event_id", "source_row", "tg_user_id", "subtype",
                                                           "occurred_at", "answer_key", "answer_value", "raw")}
    rows: list[int] = []
    rejected = problems.mask()
    for index in np.flatnonzero(~rejected).tolist():
        row_answers = list(dict.fromkeys(
            _without_derived_repeats([answer for column in answers for answer in column[index]]))) or [
            (BLANK_KEY, None, "blank")]
        for key, value, subtype in row_answers:
            events["event_id"].append(make_event_id(SOURCE, row_ids[index], key, value))
            events["answer_key"].append(key)
            events["answer_value"].append(value)
            events["subtype"].append(subtype)
            rows.append(index)
    positions = np.asarray(rows, dtype=np.int64)
    events.update({name: [values[i] for i in rows] for name, values in identifiers.items()})
    events.update(source_row=table.row_numbers[positions], tg_user_id=[user_ids[i][0] for i in rows],
                  occurred_at=answered_at.to_numpy()[positions], raw=take_in_chunks(stored_raw, positions))
    table_out = events_table({**events, "source": SOURCE, "source_file": str(table.path),
                              "type": "questionnaire_answer", "received_at": datetime.now(UTC).replace(tzinfo=None)},
                             np.ones(len(rows), dtype=bool))
    return ParsedInput(SOURCE, str(table.path), table_out, problems.quarantine(table, raw))


def take_in_chunks(values: pa.Array, positions: np.ndarray, rows_per_chunk: int = 250_000) -> pa.ChunkedArray:
    """``values.take(positions)`` a chunk at a time: a row's JSON repeated for each of its answers can pass the
    2 GB one string array holds (a million-row questionnaire did)."""
    chunks = [values.take(pa.array(positions[start:start + rows_per_chunk]))
              for start in range(0, len(positions), rows_per_chunk)]
    return pa.chunked_array(chunks, type=values.type)


def _without_derived_repeats(answers: list[Answer]) -> list[Answer]:
    """Drop an answer derived from another (age → age_band) when the same key was answered directly."""
    direct = {key for key, _value, subtype in answers if subtype != "derived"}
    return [answer for answer in answers if answer[2] != "derived" or answer[0] not in direct]


def _row_identifiers(table: TabularFile,
                     fields: dict[str, str]) -> tuple[dict[str, list[str | None]], list[dict[str, Any]]]:
    """Normalised phone, e-mail and username per row (the region column helps read local phone numbers),
    and per row the identifiers refused with their reason (recorded in ``raw``, counted at ingest)."""
    size = table.num_rows
    regions = list(table.values(fields["region"])) if "region" in fields else [None] * size
    found: dict[str, list[str | None]] = {}
    rejected: list[dict[str, Any]] = [{} for _ in range(size)]
    for field, column in (("phone", "phone"), ("email", "email"), ("telegram_username", "tg_username")):
        if field not in fields:
            continue
        values = list(table.values(fields[field]))
        if field == "phone":
            results = [normalize_phone(value, normalize_country(region) if region else None)
                       for value, region in zip(values, regions, strict=True)]
        else:
            results = [(normalize_email if field == "email" else normalize_username)(value) for value in values]
        found[column] = [value for value, _ in results]
        for index, (value, reason) in enumerate(results):
            if value is None and (entry := rejected_identifier(values[index], reason)) is not None:
                rejected[index][field] = entry
    return found, rejected


def _answers_of(key: str) -> Callable[[Any], list[Answer]]:
    return lambda value: normalize_answers(key, value)
