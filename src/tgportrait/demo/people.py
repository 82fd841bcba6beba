"""Synthetic people of the demo community: reads the region and catalogue tables, returns a Population.

Every person gets a region (so a language, a clock and a currency), a name in Latin and native script,
a gender and an age, a mobile number valid for their country, an e-mail address, product interests and a
concern. The first ``members`` people are Telegram members (with a user id, a display name, maybe a
username, an activity level); the rest are customers the CRM knows but the community does not.
Arrays are numpy, one entry per person; strings are Python lists of the same length.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import phonenumbers

from tgportrait.demo.catalogue import Industry
from tgportrait.demo.regions import LANGUAGES, NAME_LISTS, REGIONS, ascii_fold

NATIVE_SCRIPT_GROUPS = frozenset({"ru", "th", "ar", "zh", "vi"})
ANDROID_SHARE: dict[str, float] = {
    "ID": 0.88, "IN": 0.92, "NG": 0.86, "VN": 0.75, "TH": 0.7, "MY": 0.72, "PH": 0.82, "BR": 0.82, "MX": 0.8,
    "RU": 0.7, "CN": 0.75, "SG": 0.45, "US": 0.42, "GB": 0.5, "AE": 0.48, "SA": 0.5, "ES": 0.72,
}
NAME_EMOJI: tuple[str, ...] = ("🌸", "✨", "💕", "🌿", "🦋", "⭐", "🍀", "💫")
LURKER_SHARE = 0.45              # members who never write (they may still react)
SPAMMER_SHARE = 0.003
DELETED_SHARE = 0.008            # accounts deleted since: the export shows "from": null
USERNAME_SHARE = 0.7
EXPAT_SHARE = 0.03               # phone number from another country than where they live


@dataclass
class Population:
    """People of the demo; index < members are Telegram members."""

    members: int
    region: np.ndarray           # index into REGIONS (where they live)
    phone_region: np.ndarray     # index into REGIONS (country of the phone number)
    language: np.ndarray         # index into LANGUAGES
    female: np.ndarray
    age: np.ndarray
    birth_day: np.ndarray        # datetime64[D]
    first_name: list[str]        # Latin spelling (CRM)
    last_name: list[str]
    native_name: list[str]       # full name in the native script ('' where it is the Latin one)
    display_name: list[str]      # Telegram display name ('' for non-members)
    username: list[str]          # Telegram username without '@' ('' when none)
    tg_id: np.ndarray            # 0 for non-members
    phone_national: list[str]    # national significant number (no trunk prefix)
    email: list[str]
    city: list[str]
    device: list[str]
    activity: np.ndarray         # expected messages per week (0 for lurkers and non-members)
    spammer: np.ndarray
    deleted: np.ndarray
    concern: np.ndarray          # index into industry.concerns
    favourite: np.ndarray        # (persons, 2) indices into industry.categories

    @property
    def size(self) -> int:
        return int(self.region.shape[0])

    def phone_e164(self, person: int) -> str:
        return "+" + REGIONS[int(self.phone_region[person])].calling_code + self.phone_national[person]


def _pick(rng: np.random.Generator, options: tuple[str, ...], size: int) -> list[str]:
    return [options[i] for i in rng.integers(0, len(options), size)]


def _unique(candidates: list[str], rng: np.random.Generator, separator: str = "") -> list[str]:
    """Make each value unique by appending digits to later duplicates (deterministic for the rng)."""
    seen: set[str] = set()
    result: list[str] = []
    for value in candidates:
        candidate = value
        while candidate in seen:
            candidate = f"{value}{separator}{int(rng.integers(2, 9999))}"
        seen.add(candidate)
        result.append(candidate)
    return result


def _names(rng: np.random.Generator, region: np.ndarray, female: np.ndarray
           ) -> tuple[list[str], list[str], list[str], list[str], list[bool]]:
    """Latin and native first/last names per person, and whether the native spelling differs."""
    first_latin: list[str] = []
    last_latin: list[str] = []
    first_native: list[str] = []
    last_native: list[str] = []
    family_first: list[bool] = []
    draws = rng.random((region.shape[0], 3))
    for person, (region_index, is_female) in enumerate(zip(region.tolist(), female.tolist(), strict=True)):
        names = NAME_LISTS[REGIONS[region_index].names]
        firsts = names.female if is_female else names.male
        first = firsts[int(draws[person, 0] * len(firsts))]
        last = names.last[int(draws[person, 1] * len(names.last))]
        latin_last, native_last = last
        if is_female and names.female_last_suffix:
            latin_last += names.female_last_suffix
            native_last += "а" if names.female_last_suffix == "a" else names.female_last_suffix
        if draws[person, 2] < names.single_name_share:
            latin_last = native_last = ""
        first_latin.append(first[0])
        first_native.append(first[1])
        last_latin.append(latin_last)
        last_native.append(native_last)
        family_first.append(names.family_first_native)
    return first_latin, last_latin, first_native, last_native, family_first


def _display_names(rng: np.random.Generator, region: np.ndarray, first_latin: list[str], last_latin: list[str],
                   first_native: list[str], last_native: list[str], family_first: list[bool]) -> list[str]:
    """How people name themselves on Telegram: often the native script, sometimes a first name and an emoji."""
    script = rng.random(len(first_latin))
    style = rng.random(len(first_latin))
    emoji = rng.integers(0, len(NAME_EMOJI), len(first_latin))
    result: list[str] = []
    for person, region_index in enumerate(region.tolist()):
        native = REGIONS[region_index].names in NATIVE_SCRIPT_GROUPS and script[person] < 0.65
        first = first_native[person] if native else first_latin[person]
        last = last_native[person] if native else last_latin[person]
        if native and family_first[person]:
            name = last + first if style[person] < 0.8 else first
        elif style[person] < 0.55 and last:
            name = f"{first} {last}"
        elif style[person] < 0.88:
            name = first
        elif style[person] < 0.95 and last:
            name = f"{first} {last[0]}."
        else:
            name = f"{first} {NAME_EMOJI[emoji[person]]}"
        result.append(name)
    return result


def _usernames(rng: np.random.Generator, first: list[str], last: list[str], birth_year: np.ndarray) -> list[str]:
    pattern = rng.integers(0, 6, len(first))
    digits = rng.integers(1, 999, len(first))
    candidates: list[str] = []
    for person, (first_name, last_name) in enumerate(zip(first, last, strict=True)):
        given = ascii_fold(first_name).replace(" ", "")
        family = ascii_fold(last_name).replace(" ", "")
        choice = int(pattern[person])
        year = int(birth_year[person]) % 100
        if choice == 0 and family:
            name = f"{given}_{family}".lower()
        elif choice == 1:
            name = f"{given}{family}{digits[person]}".lower()
        elif choice == 2:
            name = f"{given}{family}"
        elif choice == 3:
            name = f"{given.lower()}_{year:02d}"
        elif choice == 4:
            name = f"its{given.lower()}"
        else:
            name = f"{given.lower()}{family[:1].lower()}{digits[person]}"
        while len(name) < 5:
            name += str(int(rng.integers(0, 10)))
        candidates.append(name)
    return _unique(candidates, rng)


def _emails(rng: np.random.Generator, region: np.ndarray, first: list[str], last: list[str],
            birth_year: np.ndarray) -> list[str]:
    pattern = rng.integers(0, 5, len(first))
    digits = rng.integers(1, 9999, len(first))
    qq = rng.integers(10_000_000, 3_000_000_000, len(first))
    domain_draw = rng.random(len(first))
    seen: set[str] = set()
    result: list[str] = []
    for person, region_index in enumerate(region.tolist()):
        domains = REGIONS[region_index].email_domains
        domain = domains[min(int(domain_draw[person] ** 1.6 * len(domains)), len(domains) - 1)]
        given = ascii_fold(first[person]).replace(" ", "").lower()
        family = ascii_fold(last[person]).replace(" ", "").lower()
        choice = int(pattern[person])
        if domain == "qq.com":
            local = str(qq[person])
        elif choice == 0 and family:
            local = f"{given}.{family}"
        elif choice == 1:
            local = f"{given}{family}{digits[person] % 100}"
        elif choice == 2:
            local = f"{given}_{int(birth_year[person])}"
        elif choice == 3 and family:
            local = f"{given[0]}{family}"
        else:
            local = f"{given}{digits[person]}"
        address = f"{local}@{domain}"
        while address in seen:
            address = f"{local}{int(rng.integers(2, 999))}@{domain}"
        seen.add(address)
        result.append(address)
    return result


def build_population(rng: np.random.Generator, members: int, customers_only: int, industry: Industry,
                     today: np.datetime64) -> Population:
    """``members`` Telegram members followed by ``customers_only`` people known only to the CRM."""
    size = members + customers_only
    weights = np.array([region.weight for region in REGIONS])
    region = rng.choice(len(REGIONS), size=size, p=weights / weights.sum())
    phone_region = region.copy()
    expats = rng.random(size) < EXPAT_SHARE
    phone_region[expats] = rng.choice(len(REGIONS), size=int(expats.sum()), p=weights / weights.sum())

    home_language = np.array([LANGUAGES.index(REGIONS[i].language) for i in range(len(REGIONS))])
    language = home_language[region]
    english = (rng.random(size) < 0.08) & (language != LANGUAGES.index("en"))
    language[english] = LANGUAGES.index("en")

    female = rng.random(size) < industry.female_share
    age = np.clip(np.round(np.exp(rng.normal(np.log(industry.median_age), 0.27, size))), 18, 75).astype(np.int64)
    minors = rng.random(size) < 0.015
    age[minors] = rng.integers(15, 18, int(minors.sum()))
    birth_day = today - (age * 365.25 + rng.integers(1, 365, size)).astype("timedelta64[D]")
    birth_year = birth_day.astype("datetime64[Y]").astype(np.int64) + 1970

    first_latin, last_latin, first_native, last_native, family_first = _names(rng, region, female)
    display = _display_names(rng, region, first_latin, last_latin, first_native, last_native, family_first)
    display[members:] = [""] * customers_only
    native_name = [
        "" if first == first_native[k] and last == last_native[k] else
        last_native[k] + first_native[k] if family_first[k] else f"{first_native[k]} {last_native[k]}".strip()
        for k, (first, last) in enumerate(zip(first_latin, last_latin, strict=True))]

    has_username = rng.random(size) < USERNAME_SHARE
    has_username[members:] = False
    usernames = _usernames(rng, first_latin, last_latin, birth_year)
    username = [name if has else "" for name, has in zip(usernames, has_username.tolist(), strict=True)]

    tg_id = np.zeros(size, dtype=np.int64)
    drawn = rng.integers(100_000_000, 7_900_000_000, members + members // 10 + 16, dtype=np.int64)
    _, first_index = np.unique(drawn, return_index=True)
    tg_id[:members] = drawn[np.sort(first_index)[:members]]

    phone_national: list[str] = []
    subscriber = rng.random((size, 10))
    prefix_draw = rng.random(size)
    for person, region_index in enumerate(phone_region.tolist()):
        spec = REGIONS[region_index]
        digits = "".join(str(2 + int(subscriber[person, 0] * 8)) if k == 0 else str(int(subscriber[person, k] * 10))
                         for k in range(spec.subscriber_digits))
        phone_national.append(spec.mobile_prefixes[int(prefix_draw[person] * len(spec.mobile_prefixes))] + digits)
    phone_national = _unique(phone_national, rng)

    email = _emails(rng, region, first_latin, last_latin, birth_year)
    city_draw = rng.random(size).tolist()
    city = [REGIONS[i].cities[int(u * len(REGIONS[i].cities))] for i, u in zip(region.tolist(), city_draw, strict=True)]
    android = np.array([ANDROID_SHARE[REGIONS[i].code] for i in region.tolist()])
    device_draw = rng.random(size)
    device = ["Desktop" if u < 0.07 else "Web" if u < 0.09 else "Android" if (u - 0.09) / 0.91 < share else "iOS"
              for u, share in zip(device_draw.tolist(), android.tolist(), strict=True)]

    activity = np.zeros(size)
    writers = rng.random(members) >= LURKER_SHARE
    activity[:members] = np.where(writers, np.exp(rng.normal(-0.85, 1.3, members)), 0.0)
    spammer = np.zeros(size, dtype=bool)
    spammer[:members] = rng.random(members) < SPAMMER_SHARE
    deleted = np.zeros(size, dtype=bool)
    deleted[:members] = (rng.random(members) < DELETED_SHARE) & ~spammer[:members]

    categories = len(industry.categories)
    favourite = np.stack([rng.integers(0, categories, size), rng.integers(0, categories, size)], axis=1)
    concern = rng.integers(0, len(industry.concerns), size)
    return Population(
        members=members, region=region, phone_region=phone_region, language=language, female=female, age=age,
        birth_day=birth_day, first_name=first_latin, last_name=last_latin, native_name=native_name,
        display_name=display, username=username,
        tg_id=tg_id, phone_national=phone_national, email=email, city=city, device=device, activity=activity,
        spammer=spammer, deleted=deleted, concern=concern, favourite=favourite)


PHONE_STYLES = 6                 # E.164, international, national, national digits, country code digits, spaced
INTERNATIONAL_STYLES = (0, 1)


def format_phone(population: Population, person: int, style: int) -> str:
    """The person's mobile number written the way people write it (``style`` 0..PHONE_STYLES-1).

    People whose number is from another country than where they live always write it internationally.
    """
    region = REGIONS[int(population.phone_region[person])]
    national = population.phone_national[person]
    if population.phone_region[person] != population.region[person]:
        style = INTERNATIONAL_STYLES[style % len(INTERNATIONAL_STYLES)]
    if style == 0:
        return "+" + region.calling_code + national
    if style == 4:
        return region.calling_code + national
    template = _phone_template(region.calling_code, national[:4], len(national), style)
    digits = iter(national)
    return "".join(next(digits) if char == "#" else char for char in template)


@functools.lru_cache(maxsize=4096)
def _phone_template(calling_code: str, leading: str, length: int, style: int) -> str:
    """How phonenumbers lays out numbers starting with ``leading``: '#' marks each national digit.

    Layout depends only on the country, the leading digits and the length, so one formatted example per
    (country, leading digits, length) serves every number like it.
    """
    example = leading + "2" * (length - len(leading))
    number = phonenumbers.PhoneNumber(country_code=int(calling_code), national_number=int(example))
    layout = phonenumbers.PhoneNumberFormat.INTERNATIONAL if style == 1 else phonenumbers.PhoneNumberFormat.NATIONAL
    text = phonenumbers.format_number(number, layout)
    if style == 3:
        text = "".join(char for char in text if char.isdigit())
    elif style == 5:
        text = text.replace("-", " ")
    positions = [index for index, char in enumerate(text) if char.isdigit()][-length:]
    chars = list(text)
    for index in positions:
        chars[index] = "#"
    return "".join(chars)
