"""demo.generate: determinism, the Desktop export's shape, languages and clocks, CRM duplicates, truth, dirt."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import phonenumbers
import pytest

from tgportrait.collect import import_file
from tgportrait.config import DEFAULT_USD_RATES
from tgportrait.demo.catalogue import INDUSTRY_CATALOGUES
from tgportrait.demo.generate import GeneratedCommunity, generate_community
from tgportrait.demo.phrases import INTENTS, MEMBER_PHRASES
from tgportrait.demo.regions import LANGUAGES, REGIONS
from tgportrait.errors import InputError
from tgportrait.workspace import Workspace

END = datetime(2026, 1, 1, tzinfo=UTC)
REGION = {region.code: region for region in REGIONS}
SERVICE_ACTIONS = {"join_group_by_link", "invite_members", "remove_members", "pin_message"}


@pytest.fixture(scope="module")
def community(tmp_path_factory: pytest.TempPathFactory) -> GeneratedCommunity:
    return generate_community(tmp_path_factory.mktemp("community"), users=1500, seed=11, end=END)


@pytest.fixture(scope="module")
def export(community: GeneratedCommunity) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(community.telegram_exports[0].read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def truth(community: GeneratedCommunity) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(community.truth_json.read_text(encoding="utf-8"))
    return loaded


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def member_messages(export: dict[str, Any], truth: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """(message, true person) of every message written by a community member."""
    ids = truth["identifiers"]["telegram_user_id"]
    result = []
    for message in export["messages"]:
        if message["type"] != "message" or not message["from_id"].startswith("user"):
            continue
        person = ids[message["from_id"][4:]]
        if truth["persons"][person]["role"] == "member":
            result.append((message, person))
    return result


def plain_text(message: dict[str, Any]) -> str:
    return "".join(part["text"] for part in message["text_entities"])


def e164(phone: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    first = generate_community(tmp_path / "a", users=300, seed=5, end=END)
    second = generate_community(tmp_path / "b", users=300, seed=5, end=END)
    third = generate_community(tmp_path / "c", users=300, seed=6, end=END)
    files = sorted(path.relative_to(first.out_dir) for path in first.out_dir.rglob("*") if path.is_file())
    assert [str(path) for path in files] == ["crm/customers.csv", "crm/orders.csv", "questionnaire.csv",
                                             "telegram/result.json", "truth.json"]
    for relative in files:
        assert (first.out_dir / relative).read_bytes() == (second.out_dir / relative).read_bytes(), relative
        assert (first.out_dir / relative).read_bytes() != (third.out_dir / relative).read_bytes(), relative


def test_export_is_a_single_chat_desktop_export(export: dict[str, Any], community: GeneratedCommunity) -> None:
    assert list(export) == ["name", "type", "id", "messages"]
    assert export["type"] == "public_supergroup" and export["name"] == "GlowLab Community"
    raw = community.telegram_exports[0].read_text(encoding="utf-8")
    assert raw.startswith('{\n "name": "GlowLab Community",\n "type": "public_supergroup",\n "id": ')
    assert raw.endswith("\n  }\n ]\n}")
    messages = export["messages"]
    ids = [message["id"] for message in messages]
    assert ids == sorted(set(ids))
    times = [int(message["date_unixtime"]) for message in messages if message["type"] != "unsupported"]
    assert times == sorted(times)
    assert community.start.timestamp() <= times[0] and times[-1] < community.end.timestamp()
    types = Counter(message["type"] for message in messages)
    assert types["message"] == community.messages and types["service"] == community.service_messages
    for message in messages:
        if message["type"] == "unsupported":
            assert list(message) == ["id", "type"]
            continue
        assert list(message)[:4] == ["id", "type", "date", "date_unixtime"]
        assert isinstance(message["date_unixtime"], str) and message["date_unixtime"].isdigit()
        local = datetime.fromtimestamp(int(message["date_unixtime"]) + 7 * 3600, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        assert message["date"] == local                      # the exporting computer ran at UTC+07:00
        assert list(message)[-2:] == ["text", "text_entities"] or "reactions" in message \
            or "inline_bot_buttons" in message
        entities = message["text_entities"]
        assert all(set(entity) >= {"type", "text"} for entity in entities)
        if isinstance(message["text"], str):
            assert message["text"] == plain_text(message)
            assert len(entities) == (1 if message["text"] else 0)
        else:
            assert "".join(part if isinstance(part, str) else part["text"] for part in message["text"]) \
                == plain_text(message)
        if message["type"] == "service":
            assert message["action"] in SERVICE_ACTIONS and re.fullmatch(r"user\d+", message["actor_id"])
            assert message["text"] == "" and entities == []
        else:
            assert re.fullmatch(r"(user|channel)\d+", message["from_id"])
        for reaction in message.get("reactions", []):
            assert reaction["type"] in {"emoji", "custom_emoji"} and reaction["count"] >= len(reaction["recent"]) >= 1
            assert all(re.fullmatch(r"user\d+", recent["from_id"]) for recent in reaction["recent"])


def test_export_has_every_kind_of_activity(export: dict[str, Any]) -> None:
    messages = [message for message in export["messages"] if message["type"] == "message"]
    service = [message for message in export["messages"] if message["type"] == "service"]
    assert {message["action"] for message in service} == SERVICE_ACTIONS
    joins = [message for message in service if message["action"] == "join_group_by_link"]
    assert all(join["inviter"] == "GlowLab Admin" for join in joins)
    leaves = [message for message in service if message["action"] == "remove_members"
              and message["members"] == [message["actor"]]]
    assert leaves, "a member leaving shows actor == member"
    known = {message["id"] for message in messages}
    pins = [message for message in service if message["action"] == "pin_message"]
    assert pins and all(pin["message_id"] in known for pin in pins)
    replies = [message for message in messages if "reply_to_message_id" in message]
    assert 0.15 < len(replies) / len(messages) < 0.45
    assert sum(reply["reply_to_message_id"] in known for reply in replies) > 0.95 * len(replies)
    assert sum(1 for message in messages if message["from"] is None) > 0                # deleted accounts
    assert sum(1 for message in messages if message.get("media_type") == "sticker") > 0.04 * len(messages)
    assert sum(1 for message in messages if "photo" in message) > 0.03 * len(messages)
    assert sum(1 for message in messages if "forwarded_from" in message) > 0.02 * len(messages)
    assert sum(1 for message in messages if "edited_unixtime" in message) > 0.01 * len(messages)
    assert any("poll" in message and message["poll"]["total_voters"] == sum(
        answer["voters"] for answer in message["poll"]["answers"]) for message in messages)
    anonymous = [message for message in messages if message["from_id"] == f"channel{export['id']}"]
    assert anonymous and all(message["from"] == export["name"] for message in anonymous)    # anonymous admin
    bots = [message for message in messages if (message["from"] or "").endswith("Bot")]
    promos = [message for message in bots if "inline_bot_buttons" in message]
    assert promos and all(any(entity["type"] == "text_link" for entity in promo["text_entities"]) for promo in promos)
    buttons = [button for promo in promos for row in promo["inline_bot_buttons"] for button in row]
    assert {button["type"] for button in buttons} == {"url", "callback"}
    assert all(button["data"] == "" and button["dataBase64"] for button in buttons if button["type"] == "callback")
    links = [entity["text"] for message in messages for entity in message["text_entities"]
             if entity["type"] == "link"]
    assert any("/promo/" in link for link in links) and any("/p/gl-" in link for link in links)


def test_members_write_all_ten_languages_and_mostly_their_regions_language(
        export: dict[str, Any], truth: dict[str, Any]) -> None:
    patterns = {}
    for language in LANGUAGES:
        templates = [template for intent in INTENTS for template in MEMBER_PHRASES[language][intent]]
        alternatives = "|".join(re.escape(template).replace(r"\{p\}", ".+?").replace(r"\{c\}", ".+?")
                                .replace(r"\{o\}", r"#\S+") for template in templates)
        patterns[language] = re.compile(f"(?:{alternatives})")
    written: Counter[str] = Counter()
    home: Counter[bool] = Counter()
    for message, person in member_messages(export, truth):
        if message.get("media_type") or "photo" in message or "forwarded_from" in message or "via_bot" in message:
            continue
        text = plain_text(message).strip()
        text = re.sub(r"^@\w+ ", "", re.sub(r" https?://\S+$", "", text))
        matched = [language for language, pattern in patterns.items() if pattern.fullmatch(text)]
        if not matched or truth["persons"][person]["role"] != "member":
            continue
        written[matched[0]] += 1
        region = truth["persons"][person]["region"]
        home[REGION[region].language in matched] += 1
    assert set(written) == set(LANGUAGES), written
    assert min(written.values()) > 0.005 * sum(written.values()), written
    assert home[True] / (home[True] + home[False]) > 0.8, home


def test_members_post_mostly_in_their_local_evening(export: dict[str, Any], truth: dict[str, Any]) -> None:
    hours: Counter[int] = Counter()
    for message, person in member_messages(export, truth):
        offset = REGION[truth["persons"][person]["region"]].utc_offset_hours
        local = datetime.fromtimestamp(int(message["date_unixtime"]) + offset * 3600, UTC)
        hours[local.hour] += 1
    total = sum(hours.values())
    evening = sum(hours[hour] for hour in range(18, 24)) / total
    night = sum(hours[hour] for hour in range(1, 7)) / total
    assert evening > 0.45 and night < 0.06, (evening, night)


def test_activity_is_heavy_tailed(export: dict[str, Any], truth: dict[str, Any],
                                  community: GeneratedCommunity) -> None:
    per_member = Counter(person for _, person in member_messages(export, truth))
    members = [pid for pid, person in truth["persons"].items() if person["role"] == "member"]
    counts = np.sort(np.array([per_member.get(pid, 0) for pid in members]))[::-1]
    assert (counts == 0).mean() > 0.35                                  # lurkers
    assert counts[: len(counts) // 10].sum() > 0.5 * counts.sum()       # the top tenth writes most
    assert community.events > 40 * community.users


def test_crm_duplicates_share_the_questionnaires_identifiers(community: GeneratedCommunity,
                                                            truth: dict[str, Any]) -> None:
    customers = read_csv(community.customers_csv)
    answers = {row["telegram_user_id"]: row for row in read_csv(community.questionnaire_csv)}
    tg_of = {person: tg_id for tg_id, person in truth["identifiers"]["telegram_user_id"].items()}
    kinds = {row["customer_id"]: row for row in truth["customer_rows"]}
    cross = [row for row in customers if kinds[row["customer_id"]]["kind"] == "cross_source"]
    assert len(cross) == community.cross_source_duplicates
    assert 0.27 < len(cross) / len(customers) < 0.33
    differently_written = 0
    for row in cross:
        assert row["telegram_user_id"] == ""
        answer = answers[tg_of[kinds[row["customer_id"]]["person"]]]
        same_phone = row["phone"] and e164(row["phone"], row["country"]) == e164(answer["phone"], row["country"])
        same_username = row["telegram_username"] and \
            row["telegram_username"].lstrip("@").lower() == answer["telegram_username"].lstrip("@").lower()
        assert same_phone or same_username, (row, answer)
        differently_written += (row["phone"] != answer["phone"]) if same_phone else \
            (row["telegram_username"] != answer["telegram_username"])
    assert differently_written == len(cross)
    internal = [row for row in customers if kinds[row["customer_id"]]["kind"] == "crm_internal"]
    assert len(internal) == community.internal_duplicates > 0
    rows_of: dict[str, list[dict[str, str]]] = {}
    for row in customers:
        rows_of.setdefault(kinds[row["customer_id"]]["person"], []).append(row)
    for row in internal:
        original = [other for other in rows_of[kinds[row["customer_id"]]["person"]] if other is not row]
        assert any((row["email"] and row["email"].lower() == other["email"].lower())
                   or (row["phone"] and e164(row["phone"], row["country"]) == e164(other["phone"], other["country"]))
                   for other in original)


def test_junk_identifiers_are_shared_by_unrelated_customers(community: GeneratedCommunity,
                                                            truth: dict[str, Any]) -> None:
    customers = read_csv(community.customers_csv)
    person = truth["identifiers"]["customer_id"]
    for column, junk in (("phone", "0000000"), ("email", "test@test.com")):
        owners = {person[row["customer_id"]] for row in customers if row[column] == junk}
        assert len(owners) >= 3, column
        assert junk in truth["junk"][column] and junk not in truth["identifiers"][column]


def test_truth_names_the_person_of_every_identifier(community: GeneratedCommunity, export: dict[str, Any],
                                                   truth: dict[str, Any]) -> None:
    identifiers = truth["identifiers"]
    for message in export["messages"]:
        sender = message.get("from_id") or message.get("actor_id") or ""
        if sender.startswith("user"):
            assert sender[4:] in identifiers["telegram_user_id"]
    for row in read_csv(community.customers_csv):
        person = identifiers["customer_id"][row["customer_id"]]
        if row["telegram_user_id"]:
            assert identifiers["telegram_user_id"][row["telegram_user_id"]] == person
        if row["telegram_username"]:
            assert identifiers["username"][row["telegram_username"].lstrip("@").lower()] == person
        if row["phone"] not in ("", "0000000"):
            assert identifiers["phone"][e164(row["phone"], row["country"])] == person
        if row["email"] not in ("", "test@test.com"):
            assert identifiers["email"][row["email"].lower()] == person
    for row in read_csv(community.questionnaire_csv):
        person = identifiers["telegram_user_id"][row["telegram_user_id"]]
        if row["phone"]:
            region = truth["persons"][person]["region"]
            assert identifiers["phone"][e164(row["phone"], region)] == person
        if row["telegram_username"]:
            assert identifiers["username"][row["telegram_username"].lstrip("@").lower()] == person
    orders_customers = {row["customer_id"] for row in read_csv(community.orders_csv) if row["customer_id"]}
    assert orders_customers <= set(identifiers["customer_id"]) | {None}


def test_every_phone_is_valid_for_its_country(community: GeneratedCommunity) -> None:
    phones = [(row["phone"], row["country"]) for row in read_csv(community.customers_csv)
              if row["phone"] not in ("", "0000000")]
    phones += [(row["phone"], row["region"]) for row in read_csv(community.questionnaire_csv)
               if row["phone"] and row["region"]]
    assert len(phones) > 1000
    assert all(e164(phone, region) for phone, region in phones)
    written = Counter(("+" in phone, " " in phone or "-" in phone) for phone, _ in phones)
    assert len(written) >= 3                                     # mixed formats


def test_orders_have_a_few_malformed_and_future_lines(community: GeneratedCommunity, truth: dict[str, Any]) -> None:
    lines = community.orders_csv.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "order_id,customer_id,ordered_at,amount,currency,quantity,product,category,status"
    rows = list(csv.reader(lines[1:]))
    assert len(rows) == community.orders
    malformed = [row for row in rows if len(row) != 9 or row[2] == "not-a-date" or row[3] == "abc"]
    assert len(malformed) == community.malformed_orders == len(truth["orders"]["malformed"])
    assert 0.002 < len(malformed) / len(rows) < 0.01
    future = [row for row in rows if len(row) == 9 and row[2] != "not-a-date"
              and datetime.fromisoformat(row[2]) > community.end]
    assert len(future) == community.future_orders >= 2
    good = [row for row in rows if row not in malformed]
    assert Counter(row[8] for row in good).most_common(1)[0][0] == "paid"
    assert {row[8] for row in good} == {"paid", "cancelled", "refunded"}
    usd_by_currency: dict[str, list[float]] = {}
    for row in good:
        usd_by_currency.setdefault(row[4], []).append(float(row[3]) * DEFAULT_USD_RATES[row[4]])
    medians = {currency: float(np.median(values)) for currency, values in usd_by_currency.items() if len(values) > 30}
    assert len(medians) > 5 and max(medians.values()) / min(medians.values()) < 1.8, medians


def test_questionnaire_answers_are_plausible_and_a_little_dirty(community: GeneratedCommunity,
                                                                truth: dict[str, Any]) -> None:
    rows = read_csv(community.questionnaire_csv)
    members = sum(1 for person in truth["persons"].values() if person["role"] == "member")
    assert len(rows) == community.questionnaire_rows and 0.62 < len(rows) / members < 0.76
    blank = [row for row in rows if not any(value for key, value in row.items() if key != "telegram_user_id")]
    assert len(blank) == community.blank_questionnaire_rows and 0.01 < len(blank) / len(rows) < 0.06
    answered = [row for row in rows if row not in blank]
    ages = [int(row["age"]) for row in answered if row["age"]]
    assert any(age < 0 or age > 120 for age in ages)
    assert {row["age_band"] for row in answered} <= {"", "18-24", "25-34", "35-44", "45-54", "55+"}
    assert {row["region"] for row in answered} <= set(REGION) | {""}
    topics = set(INDUSTRY_CATALOGUES["beauty"].topics)
    assert all(set(row["interests"].split(";")) <= topics for row in answered)
    for column, share in (("consent_profiling", 0.85), ("consent_marketing", 0.6), ("consent_sensitive", 0.4)):
        yes = sum(row[column] == "yes" for row in answered) / len(answered)
        assert abs(yes - share) < 0.06, column


def test_other_industries_and_several_chats(tmp_path: Path) -> None:
    community = generate_community(tmp_path, users=400, seed=3, industry="3c", end=END, chats=2)
    assert [path.name for path in community.telegram_exports] == ["result_1.json", "result_2.json"]
    chats = [json.loads(path.read_text(encoding="utf-8")) for path in community.telegram_exports]
    assert chats[0]["id"] != chats[1]["id"] and all(chat["messages"] for chat in chats)
    products = {row["product"] for row in read_csv(community.orders_csv) if row.get("product")}
    assert products <= {product.name for product in INDUSTRY_CATALOGUES["3c"].products} | {"gift wrap"}
    with pytest.raises(InputError, match="unknown industry 'cars'"):
        generate_community(tmp_path / "x", users=100, industry="cars")


def test_a_small_community_imports_without_errors(tmp_path: Path) -> None:
    community = generate_community(tmp_path / "inputs", users=300, seed=2, end=END)
    workspace = Workspace.init(tmp_path / "ws", "beauty")
    try:
        reports = {kind: import_file(workspace, kind, path) for kind, path in (
            ("telegram-export", community.telegram_exports[0]), ("crm-customers", community.customers_csv),
            ("crm-orders", community.orders_csv), ("questionnaire", community.questionnaire_csv))}
    finally:
        workspace.close()
    assert reports["telegram-export"].quarantined == 0
    assert reports["telegram-export"].imported > community.messages
    assert reports["crm-customers"].quarantined == 0
    assert reports["crm-customers"].imported == community.customers
    assert reports["crm-orders"].quarantined == community.malformed_orders
    assert reports["crm-orders"].imported == community.orders - community.malformed_orders
    assert reports["questionnaire"].quarantined == 0
