"""Plan and write the demo CRM: reads Population and Questionnaire, writes crm/customers.csv and crm/orders.csv.

About 60% of members are customers. Roughly 30% of customer rows are the same people as Telegram members
but without a ``telegram_user_id``: they share the phone or username the person gave in the questionnaire,
written differently (reformatted phone, '@' or case in the username) and often with a typo'd or
differently transliterated name. A few people are in the CRM twice (same e-mail in other case, or the same
phone reformatted), and junk values ('0000000', 'test@test.com') are shared by unrelated customers.

Orders follow the CDNOW calibration (calibration.py): first purchase somewhere in the window, then BG/NBD
repeat purchases; spend is lognormal with a customer level, in the customer's local currency converted
from USD with the default rates. About 0.5% of order lines are malformed and a few are dated in the future.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

from tgportrait.config import DEFAULT_USD_RATES
from tgportrait.demo.calibration import CalibrationParams, sample_spend_usd, simulate_repeat_weeks
from tgportrait.demo.catalogue import Industry
from tgportrait.demo.chat_plan import DAY, WEEK, local_evening_times
from tgportrait.demo.people import PHONE_STYLES, Population, format_phone
from tgportrait.demo.questionnaire import Questionnaire, username_as_typed
from tgportrait.demo.regions import ALTERNATIVE_SPELLINGS, REGIONS

CUSTOMER_HEADER = (
    "customer_id", "first_name", "last_name", "full_name", "phone", "email", "birth_date", "gender", "city",
    "country", "telegram_user_id", "telegram_username",
)
ORDER_HEADER = ("order_id", "customer_id", "ordered_at", "amount", "currency", "quantity", "product", "category",
                "status")
MEMBER_CUSTOMER_SHARE = 0.6
CROSS_SOURCE_SHARE = 0.30        # of all customer rows
INTERNAL_DUPLICATE_SHARE = 0.03  # of customers in the CRM
BUYER_SHARE = 0.85               # the rest registered but never ordered
MALFORMED_ORDER_SHARE = 0.005
FUTURE_ORDER_SHARE = 0.001
NATIVE_NAME_SHARE = 0.2         # rows of non-Latin-script people whose name the CRM holds in native script
JUNK_PHONE = "0000000"
JUNK_EMAIL = "test@test.com"
ROUNDING: dict[str, int] = {"IDR": -2, "VND": -3}   # decimals to round local amounts to (default 2)


@dataclass
class CustomerTable:
    rows: list[list[str]] = field(default_factory=list)
    person: list[int] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)      # linked, cross_source, crm_only, crm_internal
    shared: list[str] = field(default_factory=list)    # identifier a duplicate row shares with its person

    def rows_of(self) -> dict[int, list[int]]:
        result: dict[int, list[int]] = {}
        for row, person in enumerate(self.person):
            result.setdefault(person, []).append(row)
        return result


@dataclass(frozen=True)
class OrderTable:
    lines: list[str]             # CSV lines without the header, malformed ones included
    person: list[int]            # true person of each line
    customer_row: list[int]
    usd: list[float]
    malformed: list[bool]
    future: list[bool]
    first_order: dict[int, tuple[str, int]]  # person -> (order id, unix time) of their first order


def _name_variant(rng: np.random.Generator, name: str) -> str:
    """The same name as someone else typed it: another transliteration, a typo, or other case."""
    if not name:
        return name
    choice = rng.random()
    if choice < 0.35 and name in ALTERNATIVE_SPELLINGS:
        return ALTERNATIVE_SPELLINGS[name]
    if choice < 0.7 and len(name) > 3:
        position = int(rng.integers(1, len(name) - 1))
        typo = int(rng.integers(0, 3))
        if typo == 0:
            return name[:position] + name[position + 1] + name[position] + name[position + 2:]
        if typo == 1:
            return name[:position] + name[position + 1:]
        return name[:position] + name[position] + name[position:]
    if choice < 0.85:
        return name.upper()
    return name.lower()


def _written_differently(rng: np.random.Generator, population: Population, person: int, typed: str) -> str:
    """The person's phone in another layout than ``typed`` (someone else typed it)."""
    for other in rng.permutation(PHONE_STYLES).tolist():
        written = format_phone(population, person, other)
        if written != typed:
            return written
    return typed


def build_customers(rng: np.random.Generator, population: Population, questionnaire: Questionnaire) -> CustomerTable:
    members = population.members
    eligible = np.flatnonzero(~population.spammer[:members])
    in_crm = eligible[rng.random(eligible.shape[0]) < MEMBER_CUSTOMER_SHARE]
    crm_only = np.arange(members, population.size)
    crm_persons = np.concatenate([in_crm, crm_only])
    internal = crm_persons[rng.random(crm_persons.shape[0]) < INTERNAL_DUPLICATE_SHARE]
    base_rows = crm_persons.shape[0] + internal.shape[0]
    linkable = in_crm[(questionnaire.phone_style[in_crm] >= 0) | questionnaire.gave_username[in_crm]]
    cross = rng.choice(linkable, min(int(round(CROSS_SOURCE_SHARE * base_rows)), linkable.shape[0]), replace=False)
    is_cross = np.zeros(population.size, dtype=bool)
    is_cross[cross] = True

    table = CustomerTable()
    order = rng.permutation(crm_persons.shape[0])
    draws = rng.random((population.size, 7))
    for person in crm_persons[order].tolist():
        draw = draws[person]
        first, last = population.first_name[person], population.last_name[person]
        style = int(rng.integers(0, PHONE_STYLES))
        phone = format_phone(population, person, style) if draw[0] < 0.93 else ""
        email = population.email[person] if draw[1] < 0.9 else ""
        tg_id = str(population.tg_id[person]) if person < members else ""
        username = population.username[person] if draw[2] < 0.8 else ""
        kind, shared = ("linked" if person < members else "crm_only"), ""
        if is_cross[person]:
            kind, tg_id, username, phone = "cross_source", "", "", ""
            vary = rng.random()
            if vary < 0.7:
                first = _name_variant(rng, first)
            if vary < 0.25:
                last = _name_variant(rng, last)
            has_phone = questionnaire.phone_style[person] >= 0
            has_username = bool(questionnaire.gave_username[person])
            via_phone = has_phone and (not has_username or draw[4] < 0.7)
            via_username = has_username and (not via_phone or draw[5] < 0.2)
            if via_phone:
                typed = format_phone(population, person, int(questionnaire.phone_style[person]))
                phone = _written_differently(rng, population, person, typed)
            if via_username:
                form = (int(questionnaire.username_form[person]) + int(rng.integers(1, 4))) % 4
                username = username_as_typed(population.username[person], form)
            shared = "+".join(name for name, used in (("phone", via_phone), ("username", via_username)) if used)
        table.rows.append(_customer_row(population, person, first, last, phone, email, tg_id, username, draw))
        table.person.append(person)
        table.kind.append(kind)
        table.shared.append(shared)
    first_row = {person: row for row, person in enumerate(table.person)}
    for person in internal[rng.permutation(internal.shape[0])].tolist():
        draw = rng.random(7)
        original = table.rows[first_row[person]]
        if not original[4] and not original[5]:
            continue                                      # nothing to share: it would be another person
        same_email = bool(original[5]) and (not original[4] or draw[0] < 0.55)
        email = _case_variant(original[5], draw[1]) if same_email else ""
        phone = "" if same_email else _written_differently(rng, population, person, original[4])
        first, last = _name_variant(rng, population.first_name[person]), population.last_name[person]
        table.rows.append(_customer_row(population, person, first, last, phone, email, "", "", draw))
        table.person.append(person)
        table.kind.append("crm_internal")
        table.shared.append("email" if same_email else "phone")
    _add_junk(rng, table)
    for index, row in enumerate(table.rows):
        row[0] = f"C{100_001 + index}"
    return table


def _case_variant(email: str, draw: float) -> str:
    local, _, domain = email.partition("@")
    if draw < 0.5:
        return email.upper()
    return local[:1].upper() + local[1:] + "@" + domain.capitalize()


def _customer_row(population: Population, person: int, first: str, last: str, phone: str, email: str, tg_id: str,
                  username: str, draw: np.ndarray) -> list[str]:
    birth = str(population.birth_day[person]) if draw[3] < 0.75 else ""
    gender = ("F" if population.female[person] else "M") if draw[4] < 0.9 else ""
    full_name = f"{first} {last}".strip()
    if population.native_name[person] and draw[6] < NATIVE_NAME_SHARE:
        first, last, full_name = "", "", population.native_name[person]   # typed in the native script
    return ["", first, last, full_name, phone, email, birth, gender, population.city[person],
            REGIONS[int(population.region[person])].code, tg_id, username]


def _add_junk(rng: np.random.Generator, table: CustomerTable) -> None:
    """Junk identifiers typed into unrelated plain CRM rows (never rows whose phone or e-mail links a person)."""
    plain = [row for row, kind in enumerate(table.kind) if kind in ("crm_only", "linked")]
    count = max(3, int(round(len(table.rows) * 0.002)))
    chosen = rng.choice(np.array(plain), min(2 * count, len(plain)), replace=False).tolist()
    duplicated = {person for person, kind in zip(table.person, table.kind, strict=True) if kind == "crm_internal"}
    chosen = [row for row in chosen if table.person[row] not in duplicated]
    for row in chosen[:count]:
        table.rows[row][4] = JUNK_PHONE
        table.kind[row] += "+junk_phone"
    for row in chosen[count:]:
        table.rows[row][5] = JUNK_EMAIL
        table.kind[row] += "+junk_email"


def simulate_orders(rng: np.random.Generator, population: Population, customers: CustomerTable, industry: Industry,
                    params: CalibrationParams, start: int, end: int) -> OrderTable:
    """Orders of CRM people between ``start`` and ``end``: CDNOW-calibrated counts and amounts."""
    rows_of = customers.rows_of()
    persons = np.array(sorted(rows_of))
    buyers = persons[rng.random(persons.shape[0]) < BUYER_SHARE]
    count = int(buyers.shape[0])
    first_at = start + (rng.random(count) * (end - start)).astype(np.int64)
    # Active community members buy more often: the purchase-rate quantile leans on the activity rank.
    activity = population.activity[buyers] + rng.random(count) * 0.01
    activity_score = stats.norm.ppf((np.argsort(np.argsort(activity)) + 0.5) / max(count, 1))
    correlated = 0.4 * activity_score + np.sqrt(1 - 0.4**2) * rng.normal(size=count)
    is_member = buyers < population.members
    quantiles = np.where(is_member, stats.norm.cdf(correlated), rng.random(count))
    owner, weeks = simulate_repeat_weeks(rng, params, (end - first_at) / WEEK, quantiles)
    order_owner = np.concatenate([np.arange(count), owner])
    order_at = np.concatenate([first_at, first_at[owner] + (weeks * WEEK).astype(np.int64)])
    offsets = np.array([int(region.utc_offset_hours * 3600) for region in REGIONS])[population.region[buyers]]
    day_start = order_at - order_at % DAY
    order_at = local_evening_times(rng, np.maximum(day_start, start), np.minimum(day_start + DAY, end),
                                   offsets[order_owner])
    usd = sample_spend_usd(rng, params, order_owner, count) * industry.spend_scale
    sequence = np.lexsort((order_owner, order_at))
    order_owner, order_at, usd = order_owner[sequence], order_at[sequence], usd[sequence]
    total = int(order_owner.shape[0])

    future = rng.random(total) < FUTURE_ORDER_SHARE
    if total >= 2 and future.sum() < 2:
        future[rng.choice(total, 2, replace=False)] = True
    shown_at = np.where(future, end + rng.integers(DAY, 200 * DAY, total), order_at)
    malformed_kind = np.where(rng.random(total) < MALFORMED_ORDER_SHARE, rng.integers(1, 5, total), 0)
    if total >= 10 and (malformed_kind > 0).sum() < 2:
        malformed_kind[rng.choice(total, 2, replace=False)] = (3, 4)
    status_draw = rng.random(total)
    favourite_pick = rng.random(total)
    category_random = rng.integers(0, len(industry.categories), total)
    row_pick = rng.random(total)
    lines: list[str] = []
    order_person: list[int] = []
    order_row: list[int] = []
    first_order: dict[int, tuple[str, int]] = {}
    for index in range(total):
        person = int(buyers[order_owner[index]])
        rows = rows_of[person]
        row = rows[0] if len(rows) == 1 or row_pick[index] < 0.65 else rows[1]
        favourite = population.favourite[person]
        category_index = (int(favourite[0]) if favourite_pick[index] < 0.45 else int(favourite[1])
                          if favourite_pick[index] < 0.7 else int(category_random[index]))
        category = industry.categories[category_index]
        product = next(p for p in industry.products if p.category == category.key)
        region = REGIONS[int(population.region[person])]
        amount = float(usd[index]) / DEFAULT_USD_RATES[region.currency]
        decimals = ROUNDING.get(region.currency, 2)
        amount_text = f"{round(amount, decimals):.{max(decimals, 0)}f}"
        quantity = int(np.clip(round(float(usd[index]) / product.price_usd), 1, 12))
        status = "paid" if status_draw[index] < 0.91 else "cancelled" if status_draw[index] < 0.965 else "refunded"
        order_id = f"SO{1_000_001 + index}"
        first_order.setdefault(person, (order_id, int(order_at[index])))
        ordered_at = _local_iso(int(shown_at[index]), region.utc_offset_hours)
        fields = [order_id, customers.rows[row][0], ordered_at, amount_text, region.currency, str(quantity),
                  product.name, category.key, status]
        lines.append(_order_line(fields, int(malformed_kind[index])))
        order_person.append(person)
        order_row.append(row)
    return OrderTable(lines, order_person, order_row, usd.tolist(), (malformed_kind > 0).tolist(), future.tolist(),
                      first_order)


def _local_iso(unix: int, offset_hours: float) -> str:
    offset = int(offset_hours * 3600)
    local = np.datetime_as_string(np.datetime64(unix + offset, "s"))
    sign = "+" if offset >= 0 else "-"
    minutes = abs(offset) // 60
    return f"{local}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _csv_line(fields: list[str]) -> str:
    return ",".join(f'"{value}"' if "," in value or '"' in value else value for value in fields)


def _order_line(fields: list[str], malformed: int) -> str:
    """A CSV line; malformed 1 = a field missing, 2 = an extra field, 3 = 'not-a-date', 4 = amount 'abc'."""
    if malformed == 1:
        fields = fields[:-1]
    elif malformed == 2:
        fields = fields + ["gift wrap"]
    elif malformed == 3:
        fields = fields[:2] + ["not-a-date"] + fields[3:]
    elif malformed == 4:
        fields = fields[:3] + ["abc"] + fields[4:]
    return _csv_line(fields)


def write_customers(path: Path, customers: CustomerTable) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CUSTOMER_HEADER)
        writer.writerows(customers.rows)


def write_orders(path: Path, orders: OrderTable) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(ORDER_HEADER) + "\n")
        handle.write("".join(line + "\n" for line in orders.lines))
