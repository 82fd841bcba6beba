"""Generate a synthetic demo community: reads nothing (CDNOW-calibrated constants), writes its files to a folder.

``generate_community(out_dir)`` writes what a brand with a Telegram community would hand over:

* ``telegram/result.json`` (``result_<n>.json`` for several chats): Telegram Desktop exports of the brand's
  public supergroups;
* ``crm/customers.csv`` and ``crm/orders.csv``: the CRM, with cross-source and internal duplicates, junk
  identifiers, malformed and future-dated order lines;
* ``questionnaire.csv``: the group-entry questionnaire answers;
* ``truth.json``: the true person behind every identifier, to measure identity resolution.

The same seed gives byte-identical files. Each part draws from its own random stream
(``numpy.random.SeedSequence(seed).spawn``), so changing one part does not reshuffle the others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tgportrait.demo.calibration import CDNOW_PARAMS
from tgportrait.demo.catalogue import INDUSTRY_CATALOGUES
from tgportrait.demo.chat_export import write_chat_export
from tgportrait.demo.chat_plan import Membership, Staff, make_staff, plan_chat, plan_membership
from tgportrait.demo.crm import (
    JUNK_EMAIL,
    JUNK_PHONE,
    CustomerTable,
    OrderTable,
    build_customers,
    simulate_orders,
    write_customers,
    write_orders,
)
from tgportrait.demo.people import Population, build_population
from tgportrait.demo.questionnaire import Questionnaire, plan_questionnaire, write_questionnaire
from tgportrait.demo.regions import LANGUAGES, REGIONS
from tgportrait.errors import InputError

CUSTOMERS_ONLY_SHARE = 0.35      # CRM customers who are not in the community, per member


@dataclass(frozen=True)
class GeneratedCommunity:
    """Paths and counts of one generated community."""

    out_dir: Path
    telegram_exports: tuple[Path, ...]
    customers_csv: Path
    orders_csv: Path
    questionnaire_csv: Path
    truth_json: Path
    start: datetime
    end: datetime
    users: int
    persons: int
    messages: int
    service_messages: int
    reactions: int
    customers: int
    cross_source_duplicates: int
    internal_duplicates: int
    orders: int
    malformed_orders: int
    future_orders: int
    questionnaire_rows: int
    blank_questionnaire_rows: int

    @property
    def import_files(self) -> list[tuple[str, Path]]:
        """(import kind, path) of every file, in the order a workspace imports them."""
        return [*(("telegram-export", path) for path in self.telegram_exports), ("crm-customers", self.customers_csv),
                ("crm-orders", self.orders_csv), ("questionnaire", self.questionnaire_csv)]

    @property
    def events(self) -> int:
        """Messages, service messages, reactions, customer rows, order lines and questionnaire rows."""
        return (self.messages + self.service_messages + self.reactions + self.customers + self.orders
                + self.questionnaire_rows)


def months_before(end: datetime, months: int) -> datetime:
    """The same day-of-month ``months`` calendar months earlier (clipped to the month's length)."""
    month_index = end.year * 12 + end.month - 1 - months
    year, month = divmod(month_index, 12)
    day = end.day
    while True:
        try:
            return end.replace(year=year, month=month + 1, day=day)
        except ValueError:
            day -= 1


def generate_community(out_dir: Path, *, users: int = 20_000, months: int = 6, seed: int = 7,
                       industry: str = "beauty", end: datetime | None = None, chats: int = 1) -> GeneratedCommunity:
    """Write a synthetic community of ``users`` Telegram members over ``months`` months ending at ``end``."""
    if industry not in INDUSTRY_CATALOGUES:
        raise InputError(f"unknown industry '{industry}' for the demo community",
                         hint=f"Use one of: {', '.join(INDUSTRY_CATALOGUES)}.")
    if users < 50 or months < 1 or chats < 1:
        raise InputError(f"a demo community needs users >= 50, months >= 1 and chats >= 1 "
                         f"(got users={users}, months={months}, chats={chats})",
                         hint="Ask for a bigger community.")
    catalogue = INDUSTRY_CATALOGUES[industry]
    end_at = end or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    end_at = end_at.replace(tzinfo=UTC) if end_at.tzinfo is None else end_at.astimezone(UTC)
    start_at = months_before(end_at, months)
    start, stop = int(start_at.timestamp()), int(end_at.timestamp())
    streams = [np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(6 + chats)]
    rng_people, rng_members, rng_answers, rng_crm, rng_orders, rng_staff = streams[:6]

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "telegram").mkdir(exist_ok=True)
    (out_dir / "crm").mkdir(exist_ok=True)
    today = np.datetime64(end_at.date().isoformat(), "D")
    population = build_population(rng_people, users, int(round(users * CUSTOMERS_ONLY_SHARE)), catalogue, today)
    staff = make_staff(rng_staff, catalogue)
    membership = plan_membership(rng_members, population, catalogue, chats, start, stop)
    questionnaire = plan_questionnaire(rng_answers, population, membership, start, stop)
    customers = build_customers(rng_crm, population, questionnaire)
    orders = simulate_orders(rng_orders, population, customers, catalogue, CDNOW_PARAMS, start, stop)

    paths = {"customers": out_dir / "crm" / "customers.csv", "orders": out_dir / "crm" / "orders.csv",
             "questionnaire": out_dir / "questionnaire.csv", "truth": out_dir / "truth.json"}
    write_customers(paths["customers"], customers)
    write_orders(paths["orders"], orders)
    write_questionnaire(paths["questionnaire"], rng_answers, population, questionnaire, catalogue)

    buyer = np.zeros(population.size, dtype=bool)
    buyer[list(orders.first_order)] = True
    first_orders = [orders.first_order.get(person, ("", 0)) for person in range(population.size)]
    exports: list[Path] = []
    messages = service = reactions = 0
    for chat in range(chats):
        rng_chat = streams[6 + chat]
        name = "result.json" if chats == 1 else f"result_{chat + 1}.json"
        plan = plan_chat(rng_chat, chat, population, membership, staff, catalogue, buyer, start, stop)
        counts = write_chat_export(out_dir / "telegram" / name, plan, chat_name=membership.chat_names[chat],
                                   chat_id=membership.chat_ids[chat], population=population, staff=staff,
                                   industry=catalogue, first_orders=first_orders, rng=rng_chat, end=stop)
        exports.append(out_dir / "telegram" / name)
        messages += counts.messages
        service += counts.service
        reactions += counts.reactions

    write_truth(paths["truth"], population, staff, membership, questionnaire, customers, orders,
                generated={"seed": seed, "users": users, "months": months, "industry": industry, "chats": chats,
                           "start": start_at.isoformat(), "end": end_at.isoformat()})
    return GeneratedCommunity(
        out_dir=out_dir, telegram_exports=tuple(exports), customers_csv=paths["customers"],
        orders_csv=paths["orders"], questionnaire_csv=paths["questionnaire"], truth_json=paths["truth"],
        start=start_at, end=end_at, users=users, persons=population.size + len(staff.names), messages=messages,
        service_messages=service, reactions=reactions, customers=len(customers.rows),
        cross_source_duplicates=customers.kind.count("cross_source"),
        internal_duplicates=customers.kind.count("crm_internal"), orders=len(orders.lines),
        malformed_orders=sum(orders.malformed), future_orders=sum(orders.future),
        questionnaire_rows=questionnaire.rows, blank_questionnaire_rows=int(questionnaire.blank.sum()))


def person_id(index: int) -> str:
    return f"P{index + 1:07d}"


def write_truth(path: Path, population: Population, staff: Staff, membership: Membership,
                questionnaire: Questionnaire, customers: CustomerTable, orders: OrderTable,
                generated: dict[str, object]) -> None:
    """The true person behind every identifier (normalised: E.164 phones, lower-case e-mails and usernames)."""
    persons: dict[str, dict[str, object]] = {}
    identifiers: dict[str, dict[str, str]] = {
        "telegram_user_id": {}, "customer_id": {}, "phone": {}, "email": {}, "username": {}}
    for index in range(population.size):
        pid = person_id(index)
        member = index < population.members
        role = ("spammer" if population.spammer[index] else "member") if member else "customer"
        persons[pid] = {
            "role": role, "region": REGIONS[int(population.region[index])].code,
            "language": LANGUAGES[int(population.language[index])],
            "gender": "female" if population.female[index] else "male", "age": int(population.age[index]),
            "deleted": bool(population.deleted[index]), "answered_questionnaire": bool(questionnaire.answered[index]),
        }
        if member:
            identifiers["telegram_user_id"][str(population.tg_id[index])] = pid
            persons[pid]["chat"] = membership.chat_names[int(membership.primary[index])]
        if population.username[index]:
            identifiers["username"][population.username[index].lower()] = pid
        identifiers["phone"][population.phone_e164(index)] = pid
        identifiers["email"][population.email[index].lower()] = pid
    for offset, name in enumerate(staff.names):
        pid = person_id(population.size + offset)
        persons[pid] = {"role": "bot" if staff.is_bot[offset] else "staff", "name": name}
        identifiers["telegram_user_id"][str(staff.tg_ids[offset])] = pid
        identifiers["username"][staff.usernames[offset].lower()] = pid
    rows = []
    for row, (person, kind, shared) in enumerate(zip(customers.person, customers.kind, customers.shared, strict=True)):
        customer_id = customers.rows[row][0]
        identifiers["customer_id"][customer_id] = person_id(person)
        rows.append({"customer_id": customer_id, "person": person_id(person), "kind": kind, "shares": shared})
    truth = {
        "generated": generated,
        "persons": persons,
        "identifiers": identifiers,
        "junk": {"phone": [JUNK_PHONE], "email": [JUNK_EMAIL]},
        "customer_rows": rows,
        "orders": {"malformed": [line.split(",")[0] for line, bad in zip(orders.lines, orders.malformed, strict=True)
                                 if bad],
                   "future": [line.split(",")[0] for line, late in zip(orders.lines, orders.future, strict=True)
                              if late]},
    }
    path.write_text(json.dumps(truth, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
