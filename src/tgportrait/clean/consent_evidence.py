"""Consent evidence: reads a run's clean events (in the engine), the identity map and the consent ledger;
writes one ``Evidence`` per person for the compliance decision (``clean.compliance.decide``).

The engine does the heavy part: of every kind of evidence a person has (questionnaire region, age, age
band, the three consent answers, a ``stop``, the CRM country and birth date, the Telegram language code)
it keeps the latest, ties broken by event id so DuckDB and Spark agree, and pivots them into one row per
person. Only that row crosses into Python: at a million users the questionnaire alone has ~7 million
answers, which as Python objects took ~15 GB, while one row per person takes a few hundred MB.

What counts, latest first within each kind:
- region: the questionnaire's ``region`` answer (a country name or ISO code);
- age: a questionnaire ``age`` from 1 to 119; else an ``age_band`` that starts with a number (``25-34``,
  ``55+``: its lower end); else the CRM birth date;
- consent: ``consent_profiling`` / ``consent_marketing`` / ``consent_sensitive`` answered yes or no; a
  ``stop`` refuses marketing; the ledger's decisions join these and the latest per purpose wins;
- the Telegram ``language_code`` suggests a region: reported in the reasons, never decisive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from tgportrait.clean.consent import PURPOSES
from tgportrait.clean.regions import LANGUAGE_REGION_HINT, normalise_country, region_of_phone

EVIDENCE_TYPES = ("questionnaire_answer", "customer_profile", "stop")
AGE_PATTERN = r"^\s*0*([1-9][0-9]?|1[01][0-9])\s*$"      # 1..119
BAND_PATTERN = r"^\s*[0-9]+\s*([-+_].*)?$"                # starts with its lower end: 25-34, 55+, 18_24
KINDS = ("region", "age", "age_band", "crm_country", "birth_date", "language", *PURPOSES)


@dataclass
class Evidence:
    """What the events say about one person, for the compliance decision."""

    person_id: str
    q_region: str | None = None
    phone_region: str | None = None
    crm_country: str | None = None
    language_hint: str | None = None     # region suggested by the Telegram language_code: reported, never decides
    age: int | None = None
    age_source: str | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)   # purpose, granted, source, at


def _kind_rows(rows: ir.Table, kind: str, condition: ir.BooleanValue, value: ir.StringValue) -> ir.Table:
    selected = rows.filter(condition)
    return selected.select(person_id=selected.person_id.cast("string"), kind=ibis.literal(kind, type="string"),
                           value=value.cast("string"), at=selected.occurred_at.cast("timestamp"),
                           event_id=selected.event_id.cast("string"))


def evidence_table(clean: ir.Table) -> ir.Table:
    """One row per person: the latest value of each kind (``KINDS``) and, per consent purpose, ``<purpose>_at``.

    ``clean`` are the run's clean events; their ``language_code`` (the sender's Telegram app language) is the
    language hint when the table has that column (runs built before it was kept do not).
    """
    rows = clean.filter(clean.type.isin(EVIDENCE_TYPES))
    answer = rows.answer_value.strip()
    is_answer = rows.type == "questionnaire_answer"
    is_profile = rows.type == "customer_profile"
    parts = [
        _kind_rows(rows, "region", is_answer & (rows.answer_key == "region") & (answer != ""), answer),
        _kind_rows(rows, "age", is_answer & (rows.answer_key == "age") & answer.re_search(AGE_PATTERN), answer),
        _kind_rows(rows, "age_band", is_answer & (rows.answer_key == "age_band") & answer.re_search(BAND_PATTERN),
                   answer),
        _kind_rows(rows, "crm_country", is_profile & (rows.country.strip() != ""), rows.country),
        _kind_rows(rows, "birth_date", is_profile & rows.birth_date.notnull(), rows.birth_date.cast("string")),
        _kind_rows(rows, "marketing", rows.type == "stop", ibis.literal("stop")),
    ]
    for purpose in PURPOSES:
        said = is_answer & (rows.answer_key == f"consent_{purpose}") & answer.lower().isin(["yes", "no"])
        parts.append(_kind_rows(rows, purpose, said, answer.lower()))
    if "language_code" in clean.columns:
        prefix = clean.language_code.re_extract(r"^([^-]*)", 1)
        parts.append(_kind_rows(clean, "language",
                                clean.language_code.notnull() & prefix.isin(list(LANGUAGE_REGION_HINT)), prefix))
    union = ibis.union(*parts, distinct=False)
    ranked = union.mutate(_rank=ibis.row_number().over(group_by=[union.person_id, union.kind],
                                                       order_by=[union.at.desc(), union.event_id.desc()]))
    latest = ranked.filter(ranked._rank == 0)
    return latest.group_by("person_id").aggregate(
        **{kind: latest.value.max(where=latest.kind == kind) for kind in KINDS},
        **{f"{purpose}_at": latest.at.max(where=latest.kind == purpose) for purpose in PURPOSES})


def _age(born: date, as_of: datetime) -> int:
    return as_of.year - born.year - ((as_of.month, as_of.day) < (born.month, born.day))


def _band_start(band: str) -> int:
    """The lower end of a band that matched ``BAND_PATTERN``."""
    return int(band.replace("+", "-").replace("_", "-").split("-")[0].strip())


def _fill(person: Evidence, row: dict[str, Any], as_of: datetime) -> None:
    if row["region"]:
        person.q_region = normalise_country(row["region"]) or row["region"].upper()
    if row["age"]:
        person.age, person.age_source = int(row["age"]), "questionnaire"
    elif row["age_band"]:
        person.age, person.age_source = _band_start(row["age_band"]), "questionnaire"
    elif row["birth_date"]:
        person.age, person.age_source = _age(date.fromisoformat(row["birth_date"][:10]), as_of), "crm"
    person.crm_country = normalise_country(row["crm_country"])
    person.language_hint = LANGUAGE_REGION_HINT.get(row["language"] or "")
    for purpose in PURPOSES:
        if row[purpose]:
            source = "stop" if row[purpose] == "stop" else "questionnaire"
            person.decisions.append({"purpose": purpose, "granted": row[purpose] == "yes", "source": source,
                                     "at": row[f"{purpose}_at"]})


def gather_evidence(evidence: pa.Table, identifiers: pa.Table, ledger: list[dict[str, Any]],
                    as_of: datetime) -> dict[str, Evidence]:
    """Evidence per person of the identity map, from ``evidence_table``'s rows, phones and the ledger."""
    people = {person_id: Evidence(person_id) for person_id in pc.unique(identifiers.column("person_id")).to_pylist()}
    columns = evidence.to_pydict()
    for index, person_id in enumerate(columns["person_id"]):
        person = people.setdefault(person_id, Evidence(person_id))
        _fill(person, {name: values[index] for name, values in columns.items()}, as_of)
    del columns
    # the phone's country matters only where the questionnaire names no region: parse only those phones
    phones = identifiers.filter(pc.equal(identifiers.column("id_type"), "phone"))
    for person_id, phone in zip(phones.column("person_id").to_pylist(), phones.column("id_value").to_pylist(),
                                strict=True):
        person = people[person_id]
        if person.q_region is None and person.phone_region is None:
            person.phone_region = region_of_phone(phone)
    if ledger:
        keys = pc.binary_join_element_wise(identifiers.column("id_type"), identifiers.column("id_value"), ":")
        known = pc.is_in(keys, pa.array(sorted({entry["person_key"] for entry in ledger})))
        keys_of: dict[str, list[str]] = {}
        for key, person_id in zip(pc.filter(keys, known).to_pylist(),
                                  identifiers.filter(known).column("person_id").to_pylist(), strict=True):
            keys_of.setdefault(key, []).append(person_id)
        for entry in ledger:
            for person_id in keys_of.get(entry["person_key"], []):
                people[person_id].decisions.append({**entry, "source": f"ledger:{entry['source']}"})
    return people
