"""Import CRM exports: reads customers or orders tables (CSV, JSON Lines, Parquet), writes canonical events.

Orders become ``order``, ``cancellation`` or ``refund`` events with the amount converted to USD;
customers become one ``customer_profile`` event per row with normalised identifiers. Columns match the
canonical fields by name (any case; spaces, dashes and underscores ignored), by common synonyms, or by
``--map FIELD=COLUMN``. A row that cannot be used goes to the quarantine with the file, row and reason;
the rest of the file is kept. Event ids come from the row's content, so re-importing adds nothing.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from tgportrait.collect.ingest import ParsedInput, QuarantineRow
from tgportrait.collect.normalize import (
    DATE_FORMATS_HELP,
    blank_mask,
    normalize_column,
    normalize_country,
    normalize_currency,
    normalize_customer_id,
    normalize_email,
    normalize_gender,
    normalize_phone,
    normalize_telegram_user_id,
    normalize_text_column,
    normalize_username,
    parse_amount_column,
    parse_datetime_column,
    usd_rate_column,
)
from tgportrait.collect.tabular import TabularFile, read_tabular, row_event_ids
from tgportrait.config import Settings
from tgportrait.errors import InputError, MappingError
from tgportrait.store.tables import EVENTS

CUSTOMER_ID_SYNONYMS = ("customerid", "clientid", "custid", "customerno", "customernumber", "customer", "client",
                        "buyerid", "memberid", "accountid")
ORDER_FIELDS: dict[str, tuple[str, ...]] = {
    "order_id": ("invoiceno", "invoiceid", "invoicenumber", "invoice", "orderno", "ordernumber", "transactionid",
                 "id"),
    "customer_id": CUSTOMER_ID_SYNONYMS,
    "ordered_at": ("invoicedate", "orderdate", "date", "createdat", "purchasedate", "purchasedat", "transactiondate",
                   "datetime", "timestamp", "time"),
    "amount": ("dollarvalue", "total", "revenue", "ordertotal", "totalamount", "grandtotal", "sum", "value", "sales"),
    "currency": ("currencycode", "cur"),
    "product": ("description", "productname", "item", "itemname", "title"),
    "category": ("productcategory", "categoryname", "department"),
    "status": ("orderstatus",),
    "country": ("countrycode", "shippingcountry", "billingcountry"),
    "quantity": ("qty", "numberofcds", "units", "count"),
    "unit_price": ("unitprice", "price", "itemprice"),
}
CUSTOMER_FIELDS: dict[str, tuple[str, ...]] = {
    "customer_id": (*CUSTOMER_ID_SYNONYMS, "recid", "id"),
    "first_name": ("givenname", "firstname", "fname", "first", "forename"),
    "last_name": ("surname", "lastname", "lname", "familyname", "last"),
    "full_name": ("name", "fullname", "customername", "clientname", "displayname"),
    "phone": ("mobile", "phonenumber", "tel", "telephone", "mobilephone", "cellphone", "cell", "mobilenumber"),
    "email": ("emailaddress", "mail"),
    "birth_date": ("dob", "dateofbirth", "birthday", "birthdate"),
    "gender": ("sex",),
    "street": ("address", "address1", "streetaddress", "addressline1"),
    "city": ("town", "suburb", "locality"),
    "postcode": ("zip", "zipcode", "postalcode"),
    "region": ("state", "province", "county"),
    "country": ("countrycode",),
    "telegram_user_id": ("tguserid", "telegramid", "tgid"),
    "telegram_username": ("tgusername", "telegram", "username"),
    "created_at": ("registeredat", "signupdate", "registrationdate", "created"),
}
CANCELLED = frozenset({"cancelled", "canceled", "cancel", "cancellation", "void", "voided"})
REFUNDED = frozenset({"refunded", "refund", "returned", "return"})
_CANCELLATION_ORDER_ID = r"^C\d+$"      # UCI Online Retail: InvoiceNo "C536383" cancels an order


def column_key(name: str) -> str:
    """How column names compare: lower-case without spaces, dashes, dots and underscores."""
    return re.sub(r"[\s_\-.]", "", name.lower())


def _choices_hint(word: str, choices: list[str], label: str) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    guess = f"Did you mean '{close[0]}'? " if close else ""
    return f"{guess}{label}: {', '.join(choices)}."


def resolve_columns(columns: list[str], fields: Mapping[str, tuple[str, ...]], mapping: Mapping[str, str],
                    *, path: Path, kind: str) -> dict[str, str]:
    """``{field: column}``: ``mapping`` (``--map``) first, then same-named columns, then synonyms in order."""
    resolved: dict[str, str] = {}
    for field, column in mapping.items():
        if field not in fields:
            raise MappingError(f"--map {field}={column}: '{field}' is not a {kind} field",
                               hint=_choices_hint(field, list(fields), "Fields"))
        matches = [name for name in columns if name == column] or [
            name for name in columns if column_key(name) == column_key(column)]
        if len(matches) != 1:
            raise MappingError(f"--map {field}={column}: {path.name} has no column '{column}'",
                               hint=_choices_hint(column, columns, "Columns"))
        resolved[field] = matches[0]
    by_key: dict[str, str] = {}
    for name in columns:
        if name not in resolved.values():
            by_key.setdefault(column_key(name), name)
    for field, synonyms in fields.items():
        if field in resolved:
            continue
        for key in (column_key(field), *synonyms):
            if key in by_key and by_key[key] not in resolved.values():
                resolved[field] = by_key[key]
                break
    return resolved


def _require(fields: Mapping[str, str], required: str, table: TabularFile) -> None:
    if required not in fields:
        raise InputError(f"{table.path}: no column for '{required}' (columns: {', '.join(table.columns)})",
                         hint=f"Name the column with --map {required}=COLUMN.")


class RowProblems:
    """Reasons collected per row; rows with a reason go to the quarantine instead of the lake."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.reasons: dict[int, list[str]] = {}

    def add(self, mask: np.ndarray, reason: Callable[[int], str]) -> None:
        for index in np.flatnonzero(mask).tolist():
            self.reasons.setdefault(index, []).append(reason(index))

    def mask(self) -> np.ndarray:
        flagged = np.zeros(self.size, dtype=bool)
        flagged[list(self.reasons)] = True
        return flagged

    def quarantine(self, table: TabularFile, raw: pa.Array) -> list[QuarantineRow]:
        file = str(table.path)
        rows = [QuarantineRow(file, bad.row, bad.reason, bad.raw) for bad in table.malformed]
        rows += [QuarantineRow(file, int(table.row_numbers[index]), "; ".join(reasons), raw[index].as_py())
                 for index, reasons in self.reasons.items()]
        return sorted(rows, key=lambda row: row.row or 0)


def events_table(columns: Mapping[str, Any], keep: np.ndarray) -> pa.Table:
    """Canonical events from per-row columns (arrow, pandas, numpy, lists) or constants, keeping rows where ``keep``."""
    size = len(keep)
    arrays: list[pa.Array | pa.ChunkedArray] = []
    for name, kind in zip(EVENTS.names, EVENTS.types, strict=True):
        value = columns.get(name)
        if value is None:
            arrays.append(pa.nulls(size, kind))
        elif isinstance(value, str | int | float | datetime):
            arrays.append(pa.repeat(pa.scalar(value, kind), size))
        elif isinstance(value, pa.Array | pa.ChunkedArray):
            arrays.append(value.cast(kind))
        else:
            arrays.append(pa.array(value, kind, from_pandas=True))
    table = pa.Table.from_arrays(arrays, schema=EVENTS)
    return table if keep.all() else table.filter(pa.array(keep))


def _read(path: Path, fields: Mapping[str, tuple[str, ...]], mapping: Mapping[str, str],
          kind: str) -> tuple[TabularFile, dict[str, str], Callable[[str], pd.Series]]:
    table = read_tabular(path.resolve())
    resolved = resolve_columns(table.columns, fields, mapping, path=path, kind=kind)

    @cache
    def values(field: str) -> pd.Series:
        if field in resolved:
            return table.values(resolved[field])
        return pd.Series([None] * table.num_rows, dtype="object")

    return table, resolved, values


def _not_a_number(field: str, values: pd.Series) -> Callable[[int], str]:
    return lambda index: f"{field} '{values[index]}' is not a number"


def parse_crm_orders(path: Path, settings: Settings, mapping: dict[str, str]) -> ParsedInput:
    """Orders file → ``order`` / ``cancellation`` / ``refund`` events, bad rows → quarantine."""
    table, fields, values = _read(path, ORDER_FIELDS, mapping, "crm-orders")
    _require(fields, "customer_id", table)
    _require(fields, "ordered_at", table)
    if "amount" not in fields and not {"quantity", "unit_price"} <= fields.keys():
        raise InputError(f"{table.path}: no column for 'amount', nor for 'quantity' and 'unit_price' "
                         f"(columns: {', '.join(table.columns)})",
                         hint="Name them with --map amount=COLUMN, or --map quantity=COLUMN --map unit_price=COLUMN.")
    problems = RowProblems(table.num_rows)
    raw_text = {field: values(field) for field in ("ordered_at", "amount", "quantity", "unit_price", "currency")}
    customer_id = normalize_column(values("customer_id"), normalize_customer_id)
    problems.add(customer_id.isna().to_numpy(), lambda i: "customer_id is blank")
    ordered_at, bad_date = parse_datetime_column(raw_text["ordered_at"], settings.timezone)
    problems.add(blank_mask(raw_text["ordered_at"]), lambda i: "ordered_at is blank")
    problems.add(bad_date, lambda i: f"ordered_at '{raw_text['ordered_at'][i]}' is not a date "
                                     f"(expected {DATE_FORMATS_HELP})")
    numbers: dict[str, pd.Series] = {}
    for field in ("amount", "quantity", "unit_price"):
        numbers[field], bad_number = parse_amount_column(raw_text[field])
        problems.add(bad_number, _not_a_number(field, raw_text[field]))
    amount = numbers["amount"].fillna(numbers["quantity"] * numbers["unit_price"])
    problems.add(amount.isna().to_numpy() & ~problems.mask(),
                 lambda i: "amount is blank" if "amount" in fields else "quantity or unit_price is blank (no amount)")
    currency = normalize_column(raw_text["currency"], normalize_currency)
    blank_currency = blank_mask(raw_text["currency"])
    problems.add(currency.isna().to_numpy() & ~blank_currency,
                 lambda i: f"currency '{raw_text['currency'][i]}' is not a currency code")
    currency = currency.where(~pd.Series(blank_currency), settings.currency.upper())
    rate = usd_rate_column(currency, settings.usd_rates)
    problems.add(rate.isna().to_numpy() & currency.notna().to_numpy(),
                 lambda i: f"unknown currency '{currency[i]}' (no rate in usd_rates)")
    order_id = normalize_text_column(values("order_id"))
    status = normalize_text_column(values("status")).str.lower()
    event_type = np.full(table.num_rows, "order", dtype=object)
    cancelled = (status.isin(CANCELLED) | order_id.str.match(_CANCELLATION_ORDER_ID, na=False)
                 | (numbers["quantity"] < 0)).to_numpy()
    event_type[cancelled] = "cancellation"
    event_type[status.isin(REFUNDED).to_numpy()] = "refund"
    raw = table.row_json()
    events = events_table({
        "event_id": row_event_ids("crm_orders", raw), "source": "crm_orders", "source_file": str(table.path),
        "source_row": table.row_numbers, "type": event_type, "subtype": status,
        "occurred_at": ordered_at, "received_at": datetime.now(UTC).replace(tzinfo=None),
        "crm_customer_id": customer_id, "order_id": order_id, "amount": amount, "currency": currency,
        "amount_usd": amount * rate, "quantity": numbers["quantity"],
        "product": normalize_text_column(values("product")), "category": normalize_text_column(values("category")),
        "status": status, "country": normalize_column(values("country"), normalize_country), "raw": raw,
    }, ~problems.mask())
    return ParsedInput("crm_orders", str(table.path), events, problems.quarantine(table, raw))


def _identifier(values: pd.Series, results: list[tuple[Any, str | None]], field: str,
                invalid: list[dict[str, Any]]) -> list[Any]:
    """The normalised identifiers; a rejected value and its reason are recorded in ``invalid``.

    An empty cell is simply absent. A cell holding only whitespace or a placeholder ('null', 'none',
    'n/a', 'nan') never links either, but it is junk someone typed, so it is recorded as invalid.
    """
    blank = blank_mask(values)
    for index, (value, reason) in enumerate(results):
        if value is not None:
            continue
        raw = values[index]
        text = "" if raw is None or (isinstance(raw, float) and raw != raw) else str(raw)
        if not blank[index]:
            invalid[index][field] = {"value": text.strip(), "reason": reason}
        elif text:
            invalid[index][field] = {"value": text.strip(), "reason": f"placeholder '{text.strip()}' is not a value"}
    return [value for value, _ in results]


def _phones(values: pd.Series, regions: pd.Series) -> list[tuple[str | None, str | None]]:
    """``normalize_phone`` per row with the row's country as the default region (once per distinct pair)."""
    seen: dict[tuple[Any, Any], tuple[str | None, str | None]] = {}
    results = []
    for pair in zip(values.astype("object").where(values.notna(), None), regions, strict=True):
        if pair not in seen:
            seen[pair] = normalize_phone(*pair)
        results.append(seen[pair])
    return results


def parse_crm_customers(path: Path, settings: Settings, mapping: dict[str, str]) -> ParsedInput:
    """Customers file → one ``customer_profile`` event per row; a bad identifier never rejects the row."""
    table, fields, values = _read(path, CUSTOMER_FIELDS, mapping, "crm-customers")
    _require(fields, "customer_id", table)
    size = table.num_rows
    problems = RowProblems(size)
    customer_id = normalize_column(values("customer_id"), normalize_customer_id)
    problems.add(customer_id.isna().to_numpy(), lambda i: "customer_id is blank")
    invalid_identifiers: list[dict[str, Any]] = [{} for _ in range(size)]
    invalid_values: list[dict[str, Any]] = [{} for _ in range(size)]
    country = normalize_column(values("country"), normalize_country)
    phone = _identifier(values("phone"), _phones(values("phone"), country), "phone", invalid_identifiers)
    identifiers: dict[str, list[Any]] = {}
    for field, normalise in (("email", normalize_email), ("telegram_username", normalize_username),
                             ("telegram_user_id", normalize_telegram_user_id)):
        results = normalize_column(values(field), normalise).tolist()
        identifiers[field] = _identifier(values(field), results, field, invalid_identifiers)
    birth, bad_birth = parse_datetime_column(values("birth_date"))
    created_at, bad_created = parse_datetime_column(values("created_at"), settings.timezone)
    gender = normalize_column(values("gender"), normalize_gender)
    for field, bad, reason in (
            ("birth_date", bad_birth, f"not a date (expected {DATE_FORMATS_HELP})"),
            ("created_at", bad_created, f"not a date (expected {DATE_FORMATS_HELP})"),
            ("gender", gender.isna().to_numpy() & ~blank_mask(values("gender")), "not female, male or other")):
        for index in np.flatnonzero(bad).tolist():
            invalid_values[index][field] = {"value": str(values(field)[index]).strip(), "reason": reason}
    first, last = normalize_text_column(values("first_name")), normalize_text_column(values("last_name"))
    full_name = normalize_text_column(values("full_name"))
    composed = (first.fillna("") + " " + last.fillna("")).str.strip()
    full_name = full_name.fillna(composed.where(composed != ""))
    rows = table.row_json()
    extras = {field: normalize_text_column(values(field)).tolist() for field in ("street", "postcode", "region")
              if field in fields and field not in table.columns}
    raw = [_with_extras(row, {field: column[index] for field, column in extras.items()}, invalid_identifiers[index],
                        invalid_values[index]) for index, row in enumerate(rows.to_pylist())]
    events = events_table({
        "event_id": row_event_ids("crm_customers", rows), "source": "crm_customers",
        "source_file": str(table.path), "source_row": table.row_numbers, "type": "customer_profile",
        "occurred_at": created_at, "received_at": datetime.now(UTC).replace(tzinfo=None),
        "tg_user_id": identifiers["telegram_user_id"], "tg_username": identifiers["telegram_username"],
        "phone": phone, "email": identifiers["email"],
        "crm_customer_id": customer_id, "display_name": full_name, "first_name": first, "last_name": last,
        "full_name": full_name, "birth_date": birth.dt.date, "gender": gender,
        "city": normalize_text_column(values("city")), "country": country, "raw": raw,
    }, ~problems.mask())
    return ParsedInput("crm_customers", str(table.path), events, problems.quarantine(table, rows))


def _with_extras(row: str, extras: Mapping[str, Any], invalid_identifiers: dict[str, Any],
                 invalid_values: dict[str, Any]) -> str:
    additions: dict[str, Any] = {key: value for key, value in extras.items() if isinstance(value, str)}
    if invalid_identifiers:
        additions["invalid_identifiers"] = invalid_identifiers
    if invalid_values:
        additions["invalid_values"] = invalid_values
    if not additions:
        return row
    return row[:-1] + "".join(f", {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}"
                              for key, value in additions.items()) + "}"
