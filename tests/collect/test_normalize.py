"""normalize: identifiers, dates, amounts and codes, scalar and column-wise."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from tgportrait.collect.normalize import (
    blank_mask,
    is_blank,
    normalize_column,
    normalize_country,
    normalize_currency,
    normalize_customer_id,
    normalize_email,
    normalize_gender,
    normalize_language,
    normalize_phone,
    normalize_telegram_user_id,
    normalize_text_column,
    normalize_username,
    parse_amount,
    parse_amount_column,
    parse_date,
    parse_datetime,
    parse_datetime_column,
    to_usd,
    usd_rate_column,
)


@pytest.mark.parametrize("value", [None, "", "   ", "null", "NULL", " None ", "n/a", "N/A", "nan", "NaN", float("nan")])
def test_junk_values_are_blank(value: object) -> None:
    assert is_blank(value)
    assert normalize_email(value) == (None, "blank")  # type: ignore[arg-type]
    assert normalize_phone(value, "RU") == (None, "blank")  # type: ignore[arg-type]
    assert normalize_username(value) == (None, "blank")  # type: ignore[arg-type]


def test_blank_mask_matches_is_blank() -> None:
    values = pd.Series(["a", None, " null ", "", "0", "none", "x"])
    assert blank_mask(values).tolist() == [False, True, True, True, False, True, False]


@pytest.mark.parametrize(("value", "region", "expected"), [
    ("8 (916) 123-45-67", "RU", ("+79161234567", None)),
    ("+7 926 765-43-21", None, ("+79267654321", None)),
    ("0079267654321", None, ("+79267654321", None)),
    ("020 7946 0018", "gb", ("+442079460018", None)),
    ("+44 20 7946 0018", "RU", ("+442079460018", None)),
    ("9161234567", None, (None, "phone '9161234567' has no country code and the row has no country")),
    ("123", "GB", (None, "'123' is not a valid phone number for GB")),
    ("call me", "GB", (None, "'call me' is not a phone number")),
])
def test_normalize_phone(value: str, region: str | None, expected: tuple[str | None, str | None]) -> None:
    assert normalize_phone(value, region) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (" Ann.Lee@Example.COM ", ("ann.lee@example.com", None)),
    ("mailto:ann@shop.co.id", ("ann@shop.co.id", None)),
    ("ann@", (None, "'ann@' is not an e-mail address (expected local@domain.tld)")),
    ("ann@localhost", (None, "'ann@localhost' is not an e-mail address (expected local@domain.tld)")),
    ("a b@x.com", (None, "'a b@x.com' is not an e-mail address (expected local@domain.tld)")),
])
def test_normalize_email(value: str, expected: tuple[str | None, str | None]) -> None:
    assert normalize_email(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("@Durov_Pavel", ("durov_pavel", None)),
    ("https://t.me/Some_Shop", ("some_shop", None)),
    ("abcd", (None, "'abcd' is not a Telegram username (5-32 characters of a-z, 0-9 and _)")),
    ("has space", (None, "'has space' is not a Telegram username (5-32 characters of a-z, 0-9 and _)")),
    ("a" * 33, (None, f"'{'a' * 33}' is not a Telegram username (5-32 characters of a-z, 0-9 and _)")),
])
def test_normalize_username(value: str, expected: tuple[str | None, str | None]) -> None:
    assert normalize_username(value) == expected


def test_identifier_ids() -> None:
    assert normalize_telegram_user_id(" 123456789 ") == (123456789, None)
    assert normalize_telegram_user_id("123456789.0") == (123456789, None)
    assert normalize_telegram_user_id("@durov") == (
        None, "'@durov' is not a Telegram user id (a positive whole number)")
    assert normalize_telegram_user_id("0") == (None, "'0' is not a Telegram user id (a positive whole number)")
    assert normalize_customer_id(" 00017 ") == "00017"
    assert normalize_customer_id("17850.0") == "17850"
    assert normalize_customer_id("null") is None


def test_codes_and_gender() -> None:
    assert [normalize_country(v) for v in ("United Kingdom", "EIRE", "Россия", "id", "USA", "Indonesia",
                                            "Deutschland", "Unspecified", "European Community")] == [
        "GB", "IE", "RU", "ID", "US", "ID", "DE", None, None]
    assert [normalize_language(v) for v in ("English", "pt-BR", "pt_BR", "русский", "IN", "Klingon")] == [
        "en", "pt", "pt", "ru", "id", None]
    assert [normalize_currency(v) for v in ("usd", "€", "Rp", "руб", "dollars", "")] == [
        "USD", "EUR", "IDR", "RUB", None, None]
    assert [normalize_gender(v) for v in ("F", "Ж", "male", "Pria", "non-binary", "prefer not to say")] == [
        "female", "female", "male", "male", "other", None]


@pytest.mark.parametrize(("value", "expected"), [
    ("2024-03-01T10:15:00+03:00", datetime(2024, 3, 1, 7, 15)),
    ("2024-03-02T09:00:00Z", datetime(2024, 3, 2, 9, 0)),
    ("2024-03-05 12:00:00", datetime(2024, 3, 5, 12, 0)),
    ("2024-03-05", datetime(2024, 3, 5)),
    ("19970101", datetime(1997, 1, 1)),
    ("12/1/10 8:26", datetime(2010, 12, 1, 8, 26)),
    ("13/1/10 8:26", datetime(2010, 1, 13, 8, 26)),
    ("02.03.2024", datetime(2024, 3, 2)),
    ("1704067200", datetime(2024, 1, 1)),
    ("yesterday", None),
    ("2024-02-30", None),
    ("", None),
])
def test_parse_datetime(value: str, expected: datetime | None) -> None:
    assert parse_datetime(value) == expected


def test_parse_datetime_reads_naive_values_in_the_workspace_time_zone() -> None:
    assert parse_datetime("2024-03-10 10:00", "Europe/Moscow") == datetime(2024, 3, 10, 7, 0)
    assert parse_datetime("2024-03-10T10:00:00+00:00", "Europe/Moscow") == datetime(2024, 3, 10, 10, 0)
    assert parse_date("02.03.1985") == date(1985, 3, 2)


def test_parse_datetime_column_matches_the_scalar_parser() -> None:
    values = pd.Series(["2024-01-01T10:00:00+03:00", "2024-01-01 10:00", None, "null", "garbage", "02.03.2024",
                        "2024-01-01T10:00:00Z", "19970101"])
    parsed, invalid = parse_datetime_column(values, "Asia/Jakarta")
    expected = [parse_datetime(v, "Asia/Jakarta") for v in values]
    assert [None if pd.isna(v) else v.to_pydatetime() for v in parsed] == expected
    assert invalid.tolist() == [False, False, False, False, True, False, False, False]


def test_parse_datetime_column_uses_the_scalar_parser_for_leftovers() -> None:
    parsed, invalid = parse_datetime_column(pd.Series(["12/1/10 8:26"] * 3 + ["13/1/10 8:26", "1/13/10 9:00", "x"]))
    assert parsed.tolist()[3:5] == [pd.Timestamp(2010, 1, 13, 8, 26), pd.Timestamp(2010, 1, 13, 9, 0)]
    assert invalid.tolist() == [False] * 5 + [True]


@pytest.mark.parametrize(("value", "expected"), [
    ("12.50", 12.5), (" 2 ", 2.0), ("$3.50", 3.5), ("1,234.50", 1234.5), ("1.234,50", 1234.5),
    ("12,50", 12.5), ("1,234", 1234.0), ("(12.50)", -12.5), ("-1", -1.0), ("EUR 7", 7.0),
    ("two", None), ("inf", None), ("", None),
])
def test_parse_amount(value: str, expected: float | None) -> None:
    assert parse_amount(value) == expected


def test_parse_amount_column() -> None:
    numbers, invalid = parse_amount_column(pd.Series(["1.5", " 2", "abc", "$3.50", "1,234.50", "12,50", None, "inf"]))
    assert numbers.tolist()[:6] == [1.5, 2.0, pytest.approx(np.nan, nan_ok=True), 3.5, 1234.5, 12.5]
    assert invalid.tolist() == [False, False, True, False, False, False, False, True]


def test_usd_conversion() -> None:
    rates = {"USD": 1.0, "EUR": 1.08}
    assert to_usd(10, "eur", rates) == pytest.approx(10.8)
    assert to_usd(10, "XYZ", rates) is None
    assert usd_rate_column(pd.Series(["EUR", "XYZ", None]), rates).tolist()[:1] == [1.08]
    assert usd_rate_column(pd.Series(["EUR", "XYZ", None]), rates).isna().tolist() == [False, True, True]


def test_normalize_column_calls_the_normaliser_once_per_distinct_value() -> None:
    calls: list[object] = []

    def upper(value: object) -> object:
        calls.append(value)
        return None if value is None else str(value).upper()

    result = normalize_column(pd.Series(["a", "b", "a", None, "a"]), upper)
    assert result.tolist() == ["A", "B", "A", None, "A"]
    assert calls == ["a", "b", None]
    assert normalize_text_column(pd.Series([" x ", "null", None])).tolist()[:1] == ["x"]
    assert normalize_text_column(pd.Series([" x ", "null", None])).isna().tolist() == [False, True, True]
