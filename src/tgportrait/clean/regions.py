"""Reference data for regions: time zone and UTC offset, demonym, phone-prefix region, language hints.

Reads nothing at run time beyond ``phonenumbers``' own metadata. Offsets are standard time
(no daylight saving): good to the hour for the preferred-hours window; documented as such.
"""

from __future__ import annotations

import phonenumbers
import pyarrow as pa

# region -> (IANA time zone, UTC offset in minutes, demonym)
REGIONS: dict[str, tuple[str, int, str]] = {
    "ID": ("Asia/Jakarta", 420, "Indonesian"), "MY": ("Asia/Kuala_Lumpur", 480, "Malaysian"),
    "SG": ("Asia/Singapore", 480, "Singaporean"), "TH": ("Asia/Bangkok", 420, "Thai"),
    "VN": ("Asia/Ho_Chi_Minh", 420, "Vietnamese"), "PH": ("Asia/Manila", 480, "Filipino"),
    "IN": ("Asia/Kolkata", 330, "Indian"), "CN": ("Asia/Shanghai", 480, "Chinese"),
    "BR": ("America/Sao_Paulo", -180, "Brazilian"), "MX": ("America/Mexico_City", -360, "Mexican"),
    "ES": ("Europe/Madrid", 60, "Spanish"), "PT": ("Europe/Lisbon", 0, "Portuguese"),
    "RU": ("Europe/Moscow", 180, "Russian"), "TR": ("Europe/Istanbul", 180, "Turkish"),
    "AE": ("Asia/Dubai", 240, "Emirati"), "SA": ("Asia/Riyadh", 180, "Saudi"),
    "NG": ("Africa/Lagos", 60, "Nigerian"), "US": ("America/New_York", -300, "American"),
    "GB": ("Europe/London", 0, "British"), "DE": ("Europe/Berlin", 60, "German"),
    "FR": ("Europe/Paris", 60, "French"), "IT": ("Europe/Rome", 60, "Italian"),
    "NL": ("Europe/Amsterdam", 60, "Dutch"), "AU": ("Australia/Sydney", 600, "Australian"),
    "CA": ("America/Toronto", -300, "Canadian"), "JP": ("Asia/Tokyo", 540, "Japanese"),
    "KR": ("Asia/Seoul", 540, "Korean"), "EG": ("Africa/Cairo", 120, "Egyptian"),
    "AR": ("America/Argentina/Buenos_Aires", -180, "Argentine"), "CO": ("America/Bogota", -300, "Colombian"),
    "UA": ("Europe/Kyiv", 120, "Ukrainian"), "KZ": ("Asia/Almaty", 300, "Kazakh"),
    "PK": ("Asia/Karachi", 300, "Pakistani"), "BD": ("Asia/Dhaka", 360, "Bangladeshi"),
    "HK": ("Asia/Hong_Kong", 480, "Hong Konger"), "TW": ("Asia/Taipei", 480, "Taiwanese"),
}

# A language that points to one country strongly enough to be a (weak) hint.
LANGUAGE_REGION_HINT: dict[str, str] = {
    "id": "ID", "ms": "MY", "vi": "VN", "th": "TH", "ru": "RU", "tr": "TR", "ja": "JP", "ko": "KR",
    "uk": "UA", "de": "DE", "fr": "FR", "it": "IT", "nl": "NL",
}

COUNTRY_NAMES: dict[str, str] = {
    "indonesia": "ID", "malaysia": "MY", "singapore": "SG", "thailand": "TH", "vietnam": "VN", "viet nam": "VN",
    "philippines": "PH", "india": "IN", "china": "CN", "brazil": "BR", "brasil": "BR", "mexico": "MX",
    "méxico": "MX", "spain": "ES", "portugal": "PT", "russia": "RU", "turkey": "TR", "türkiye": "TR",
    "united arab emirates": "AE", "uae": "AE", "saudi arabia": "SA", "nigeria": "NG", "united states": "US",
    "usa": "US", "united kingdom": "GB", "uk": "GB", "germany": "DE", "france": "FR", "italy": "IT",
    "netherlands": "NL", "australia": "AU", "canada": "CA", "japan": "JP", "eire": "IE", "ireland": "IE",
}


def region_of_phone(e164: str) -> str | None:
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
    return region if region and region != "ZZ" else None


def normalise_country(value: str | None) -> str | None:
    if not value:
        return None
    text = value.strip()
    if len(text) == 2 and text.isalpha():
        return text.upper()
    return COUNTRY_NAMES.get(text.lower())


def utc_offset_minutes(region: str | None) -> int:
    return REGIONS[region][1] if region in REGIONS else 0


def timezone_of(region: str | None, default: str = "UTC") -> str:
    return REGIONS[region][0] if region in REGIONS else default


def demonym(region: str | None) -> str | None:
    return REGIONS[region][2] if region in REGIONS else None


def region_tables() -> tuple[pa.Table, pa.Table]:
    regions = pa.table({
        "region": list(REGIONS), "timezone": [v[0] for v in REGIONS.values()],
        "offset_minutes": pa.array([v[1] for v in REGIONS.values()], pa.int64())})
    hints = pa.table({"language": list(LANGUAGE_REGION_HINT), "region": list(LANGUAGE_REGION_HINT.values())})
    return regions, hints
