"""Normalise raw values: reads strings from outside files, writes canonical identifiers, dates, amounts and codes.

Phones become E.164, e-mails and Telegram usernames lower-case, dates naive UTC, amounts floats, countries
ISO 3166 alpha-2, languages ISO 639-1. A rejected value comes back as ``None`` with the reason. The scalar
functions serve identity resolution and the bot; the ``*_column`` functions do a whole column at once
(vectorised with pandas, scalar fallback only for the values the fast path could not read).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

JUNK_VALUES = frozenset({"", "null", "none", "n/a", "nan", "#n/a"})
BLANK_REASON = "blank"
TELEGRAM_USERNAME = re.compile(r"[a-z0-9_]{5,32}")
EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)*\.[a-z]{2,}")
DATE_FORMATS: tuple[str, ...] = (
    "%m/%d/%y %H:%M", "%m/%d/%Y %H:%M", "%m/%d/%y %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y", "%m/%d/%y",
    "%d.%m.%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S",
    "%d/%m/%Y", "%d/%m/%Y %H:%M", "%d/%m/%y %H:%M", "%d/%m/%Y %H:%M:%S",
    "%Y/%m/%d", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S",
)
DATE_FORMATS_HELP = "ISO 8601, YYYYMMDD, M/D/YY H:MM, DD.MM.YYYY or unix seconds"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}.*")
_ISO_OFFSET = r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"
_COMPACT_DATE = re.compile(r"\d{8}")
_UNIX_SECONDS = re.compile(r"-?\d{9,11}(?:\.\d+)?")
_CURRENCY_SYMBOLS = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "₽": "RUB", "РУБ": "RUB", "RUR": "RUB",
                     "RP": "IDR", "¥": "JPY", "₹": "INR", "R$": "BRL", "₺": "TRY", "₫": "VND", "฿": "THB",
                     "₱": "PHP", "RM": "MYR", "S$": "SGD", "₩": "KRW", "₦": "NGN", "元": "CNY"}
_GENDERS = {
    "female": ("f", "female", "woman", "women", "w", "girl", "ж", "жен", "женский", "женщина", "wanita",
               "perempuan", "mujer", "femme", "weiblich", "女"),
    "male": ("m", "male", "man", "men", "boy", "м", "муж", "мужской", "мужчина", "pria", "laki-laki",
             "hombre", "homme", "männlich", "男"),
    "other": ("other", "non-binary", "nonbinary", "non binary", "nb", "x", "diverse", "другое", "lainnya"),
}
_COUNTRY_ALIASES = {"uk": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
                    "great britain": "GB", "britain": "GB", "eire": "IE", "usa": "US", "america": "US",
                    "united states of america": "US", "rsa": "ZA", "uae": "AE", "korea": "KR", "czechia": "CZ",
                    "russian federation": "RU", "holland": "NL", "gbr": "GB", "rus": "RU", "idn": "ID",
                    "mys": "MY", "sgp": "SG", "tha": "TH", "vnm": "VN", "phl": "PH", "ind": "IN", "bra": "BR",
                    "mex": "MX", "tur": "TR", "are": "AE", "sau": "SA", "nga": "NG", "chn": "CN", "jpn": "JP",
                    "kor": "KR", "aus": "AU", "can": "CA", "deu": "DE", "fra": "FR", "esp": "ES", "ita": "IT",
                    "ukr": "UA", "kaz": "KZ", "uzb": "UZ", "bhr": "BH"}
_LANGUAGE_NAMES = {
    "en": ("english",), "ru": ("russian", "русский"), "id": ("indonesian", "bahasa indonesia", "bahasa"),
    "ms": ("malay", "bahasa melayu"), "th": ("thai", "ไทย"), "vi": ("vietnamese", "tiếng việt"),
    "es": ("spanish", "español", "espanol"), "pt": ("portuguese", "português", "portugues"),
    "fr": ("french", "français", "francais"), "de": ("german", "deutsch"), "it": ("italian", "italiano"),
    "ar": ("arabic", "العربية"), "tr": ("turkish", "türkçe", "turkce"), "zh": ("chinese", "mandarin", "中文"),
    "ja": ("japanese", "日本語"), "ko": ("korean", "한국어"), "hi": ("hindi", "हिन्दी"), "uk": ("ukrainian",
    "українська"), "fa": ("persian", "farsi", "فارسی"), "uz": ("uzbek", "o'zbek"), "kk": ("kazakh", "қазақ"),
    "pl": ("polish", "polski"), "nl": ("dutch", "nederlands"), "tl": ("tagalog", "filipino"),
    "bn": ("bengali", "bangla"), "ur": ("urdu",), "he": ("hebrew",), "be": ("belarusian",),
}
_DEPRECATED_LANGUAGE_CODES = {"in": "id", "iw": "he", "ji": "yi", "mo": "ro"}


def _strings(values: pd.Series) -> pa.Array:
    array = pa.array(values, type=pa.string(), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def is_blank(value: object) -> bool:
    """True for missing values and placeholders: None, '', whitespace, 'null', 'none', 'n/a', 'nan'."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return True
    return str(value).strip().lower() in JUNK_VALUES


def blank_mask(values: pd.Series) -> np.ndarray:
    """Vectorised ``is_blank`` over a column of strings."""
    text = _strings(values).fill_null("")
    text = pc.utf8_lower(pc.utf8_trim_whitespace(text))
    return np.asarray(pc.is_in(text, value_set=pa.array(sorted(JUNK_VALUES))), dtype=bool)


def normalize_column(values: pd.Series, function: Callable[[Any], Any]) -> pd.Series:
    """Apply a scalar normaliser once per distinct value of a string column; an object Series of its results."""
    encoded = pc.dictionary_encode(_strings(values))
    distinct: list[Any] = [*encoded.dictionary.to_pylist(), None]
    results = np.empty(len(distinct), dtype=object)
    for index, value in enumerate(distinct):
        results[index] = function(value)
    indices = encoded.indices.fill_null(len(distinct) - 1).to_numpy(zero_copy_only=False)
    return pd.Series(results[indices], dtype="object")


def normalize_text_column(values: pd.Series) -> pd.Series:
    """Stripped text with blanks and placeholders missing (a pandas string Series)."""
    values = values.reset_index(drop=True)
    text = pc.utf8_trim_whitespace(_strings(values))
    return pd.Series(text.to_pandas()).where(pd.Series(~blank_mask(values)))


def normalize_phone(value: str | None, default_region: str | None) -> tuple[str | None, str | None]:
    """E.164 phone, or ``None`` and the reason; without a region only numbers written with + parse."""
    if is_blank(value):
        return None, BLANK_REASON
    text = str(value).strip()
    region = default_region.upper() if default_region else None
    if region is None and text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        if region is None and not text.startswith("+"):
            return None, f"phone '{text}' has no country code and the row has no country"
        return None, f"'{text}' is not a phone number"
    if not phonenumbers.is_valid_number(number):
        where = f" for {region}" if region and not text.startswith("+") else ""
        return None, f"'{text}' is not a valid phone number{where}"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def normalize_email(value: str | None) -> tuple[str | None, str | None]:
    """Lower-case e-mail address, or ``None`` and the reason when it is not local@domain.tld."""
    if is_blank(value):
        return None, BLANK_REASON
    text = str(value).strip().lower().removeprefix("mailto:")
    if not EMAIL.fullmatch(text):
        return None, f"'{text}' is not an e-mail address (expected local@domain.tld)"
    return text, None


def normalize_username(value: str | None) -> tuple[str | None, str | None]:
    """Telegram username without @ and lower-case (5-32 of a-z, 0-9, _), or ``None`` and the reason."""
    if is_blank(value):
        return None, BLANK_REASON
    text = str(value).strip()
    text = re.sub(r"^(?:https?://)?(?:t\.me|telegram\.me)/", "", text).lstrip("@").lower()
    if not TELEGRAM_USERNAME.fullmatch(text):
        return None, f"'{text}' is not a Telegram username (5-32 characters of a-z, 0-9 and _)"
    return text, None


def normalize_telegram_user_id(value: str | None) -> tuple[int | None, str | None]:
    """Telegram user id as an integer ('123' or '123.0'), or ``None`` and the reason."""
    if is_blank(value):
        return None, BLANK_REASON
    text = str(value).strip()
    match = re.fullmatch(r"(\d{1,18})(?:\.0+)?", text)
    if not match or int(match.group(1)) == 0:
        return None, f"'{text}' is not a Telegram user id (a positive whole number)"
    return int(match.group(1)), None


def normalize_customer_id(value: str | None) -> str | None:
    """CRM customer id as text: stripped, and '17850.0' (a number read as float) becomes '17850'."""
    if is_blank(value):
        return None
    text = str(value).strip()
    match = re.fullmatch(r"(\d+)\.0+", text)
    return match.group(1) if match else text


def normalize_gender(value: str | None) -> str | None:
    """'female', 'male' or 'other' from common spellings (several languages); ``None`` if unrecognised."""
    if is_blank(value):
        return None
    text = str(value).strip().lower()
    for gender, spellings in _GENDERS.items():
        if text in spellings:
            return gender
    return None


@cache
def _country_names() -> dict[str, str]:
    from phonenumbers.geodata.locale import LOCALE_DATA

    names: dict[str, str] = {}
    for english_first in (True, False):   # an English name wins over the same spelling in another language
        for region, by_language in LOCALE_DATA.items():
            for language, name in by_language.items():
                if (language == "aa") != english_first:   # "aa" holds the English name in this table
                    continue
                resolved = by_language.get(name[1:], "") if name.startswith("*") else name
                if resolved:
                    names.setdefault(resolved.casefold(), region)
    return names


def normalize_country(value: str | None) -> str | None:
    """ISO 3166 alpha-2 code from a code, a common alias or a country name in many languages; else ``None``."""
    if is_blank(value):
        return None
    text = re.sub(r"[.]", "", str(value).strip()).casefold()
    if len(text) == 2 and text.upper() in phonenumbers.SUPPORTED_REGIONS:
        return text.upper()
    if text in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[text]
    return _country_names().get(text)


@cache
def _language_codes() -> dict[str, str]:
    from phonenumbers.geodata.locale import LOCALE_DATA

    codes = {code: _DEPRECATED_LANGUAGE_CODES.get(code, code) for code in LOCALE_DATA["US"]}
    for code, names in _LANGUAGE_NAMES.items():
        codes.update({name: code for name in names})
    return codes


def normalize_language(value: str | None) -> str | None:
    """ISO 639-1 code from a code ('en', 'pt-BR', 'pt_BR') or a language name; else ``None``."""
    if is_blank(value):
        return None
    text = str(value).strip().lower()
    codes = _language_codes()
    if text in codes:
        return codes[text]
    prefix = re.split(r"[-_]", text, maxsplit=1)[0]
    return codes.get(prefix) if len(prefix) == 2 else None


def normalize_currency(value: str | None) -> str | None:
    """ISO 4217 code from a code ('usd') or a symbol ('$', '€', 'Rp'); ``None`` if blank or unrecognisable."""
    if is_blank(value):
        return None
    text = str(value).strip().upper()
    if text in _CURRENCY_SYMBOLS:
        return _CURRENCY_SYMBOLS[text]
    return text if re.fullmatch(r"[A-Z]{3}", text) else None


def _to_utc(moment: datetime, timezone: str) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC).replace(tzinfo=None)


def parse_datetime(value: str | None, timezone: str = "UTC") -> datetime | None:
    """Naive UTC datetime from ISO 8601, YYYYMMDD, M/D/YY H:MM, DD.MM.YYYY or unix seconds; else ``None``.

    Values without an offset are read in ``timezone`` (the workspace's) and converted to UTC.
    """
    if is_blank(value):
        return None
    text = str(value).strip()
    if _UNIX_SECONDS.fullmatch(text):
        return datetime.fromtimestamp(float(text), UTC).replace(tzinfo=None)
    formats = ("%Y%m%d",) if _COMPACT_DATE.fullmatch(text) else DATE_FORMATS
    if _ISO_DATE.fullmatch(text):
        try:
            return _to_utc(datetime.fromisoformat(text), timezone)
        except ValueError:
            pass
    for date_format in formats:
        try:
            return _to_utc(datetime.strptime(text, date_format), timezone)
        except ValueError:
            continue
    return None


def parse_date(value: str | None) -> date | None:
    """Calendar date (birth dates): the date part of ``parse_datetime`` read without time-zone shift."""
    moment = parse_datetime(value, "UTC")
    return moment.date() if moment is not None else None


def _matches(text: pd.Series, pattern: str) -> pd.Series:
    """Vectorised regular-expression search (RE2 through pyarrow; missing values do not match)."""
    found = pc.match_substring_regex(_strings(text), pattern)
    return pd.Series(np.asarray(pc.fill_null(found, False), dtype=bool), index=text.index)


def _parse_iso_column(text: pd.Series, timezone: str) -> pd.Series:
    iso = text.where(_matches(text, r"^\d{4}-\d{2}-\d{2}"))
    aware = _matches(iso, _ISO_OFFSET)
    result = pd.to_datetime(iso.where(aware), format="ISO8601", utc=True, errors="coerce").dt.tz_localize(None)
    naive = pd.to_datetime(iso.where(~aware), format="ISO8601", errors="coerce")
    return result.fillna(_localize_column(naive, timezone))


def _localize_column(moments: pd.Series, timezone: str) -> pd.Series:
    if timezone == "UTC":
        return moments
    local = moments.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    return local.dt.tz_convert("UTC").dt.tz_localize(None)


def _parse_column_as(text: pd.Series, how: str, timezone: str) -> pd.Series:
    if how == "iso":
        return _parse_iso_column(text, timezone)
    if how == "unix":
        seconds = pd.to_numeric(text.where(_matches(text, f"^{_UNIX_SECONDS.pattern}$")), errors="coerce")
        return pd.to_datetime(seconds, unit="s", errors="coerce")
    if how == "%Y%m%d":
        text = text.where(_matches(text, f"^{_COMPACT_DATE.pattern}$"))
    return _localize_column(pd.to_datetime(text, format=how, errors="coerce"), timezone)


def parse_datetime_column(values: pd.Series, timezone: str = "UTC") -> tuple[pd.Series, np.ndarray]:
    """``parse_datetime`` over a column: (naive-UTC datetimes with NaT, mask of non-blank unparseable values).

    The format that reads most of a sample is applied to the whole column at C speed; only values it
    could not read go through the scalar parser.
    """
    values = values.reset_index(drop=True)
    todo = ~blank_mask(values)
    text = values.astype("str").str.strip().where(pd.Series(todo))
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
    if todo.any():
        sample = text[todo].head(500)
        methods = ("iso", "unix", "%Y%m%d", *DATE_FORMATS)
        best = max(methods, key=lambda how: int(_parse_column_as(sample, how, timezone).notna().sum()))
        result = _parse_column_as(text, best, timezone).astype("datetime64[us]")
        leftovers = np.flatnonzero(todo & result.isna().to_numpy())
        for index in leftovers:
            moment = parse_datetime(text.iat[index], timezone)
            if moment is not None:
                result.iat[index] = moment
    return result, todo & result.isna().to_numpy()


def parse_amount(value: str | None) -> float | None:
    """Float from '12.50', '1,234.50', '1 234,50', '12,50', '$12.50', '(12.50)'; ``None`` if not a number."""
    if is_blank(value):
        return None
    text = str(value).strip()
    negative = text.startswith("(") and text.endswith(")")
    text = re.sub(r"[^\d,.\-+eE]", "", re.sub(r"^[A-Za-z]{3}\s*|\s*[A-Za-z]{3}$", "", text.strip("()")))
    if "," in text and "." in text:
        thousands = "," if text.rfind(",") < text.rfind(".") else "."
        text = text.replace(thousands, "").replace(",", ".")
    elif "," in text:
        text = text.replace(",", "") if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+", text) else text.replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        return None
    if not np.isfinite(number):
        return None
    return -number if negative else number


def parse_amount_column(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """``parse_amount`` over a column: (floats with NaN, mask of non-blank values that are not numbers)."""
    values = values.reset_index(drop=True)
    todo = ~blank_mask(values)
    numbers = pd.to_numeric(values.where(pd.Series(todo)), errors="coerce").astype("float64")
    numbers[~np.isfinite(numbers.to_numpy())] = np.nan
    for index in np.flatnonzero(todo & numbers.isna().to_numpy()):
        parsed = parse_amount(values.iat[index])
        if parsed is not None:
            numbers.iat[index] = parsed
    return numbers, todo & numbers.isna().to_numpy()


def to_usd(amount: float | None, currency: str, rates: Mapping[str, float]) -> float | None:
    """``amount`` in USD at ``rates`` (USD per unit); ``None`` when the amount or the currency's rate is unknown."""
    code = normalize_currency(currency)
    if amount is None or code is None or code not in rates:
        return None
    return float(amount) * rates[code]


def usd_rate_column(currencies: pd.Series, rates: Mapping[str, float]) -> pd.Series:
    """USD rate of each row's currency code (NaN when the currency has no rate)."""
    return currencies.map(dict(rates)).astype("float64")
