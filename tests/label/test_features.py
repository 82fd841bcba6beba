"""Features on a small hand-written event set, on DuckDB: exact values per person."""

from __future__ import annotations

from datetime import datetime

import ibis
import pyarrow as pa
import pytest

from tests.store.conftest import module_engine
from tgportrait.clean.events import attach_person, flag_invalid
from tgportrait.clean.identity import persons_table, resolve_identities
from tgportrait.clean.regions import region_tables
from tgportrait.collect.ingest import with_folded_text
from tgportrait.config import IdentitySettings
from tgportrait.label.catalogue import feature_names
from tgportrait.label.features import FeatureInputs, build_features, tag_intents
from tgportrait.label.lexicon import load_lexicon
from tgportrait.store.engine import Engine
from tgportrait.store.tables import IDENTIFIER_TYPES, event_rows_to_table

AS_OF = datetime(2026, 6, 30, 12, 0)


def event(event_id: str, type_: str, when: datetime | None, **values: object) -> dict[str, object]:
    return {"event_id": event_id, "source": values.pop("source", "telegram_export"), "type": type_,
            "occurred_at": when, **values}


EVENTS = [
    # Ana: Telegram user 1, Indonesian, buys twice, chats in the evening (Jakarta = UTC+7)
    event("q1", "questionnaire_answer", datetime(2026, 1, 2), source="questionnaire", tg_user_id=1,
          answer_key="region", answer_value="ID", phone="+6281234567890"),
    event("q2", "questionnaire_answer", datetime(2026, 1, 2), source="questionnaire", tg_user_id=1,
          answer_key="age_band", answer_value="25-34"),
    event("q3", "questionnaire_answer", datetime(2026, 1, 2), source="questionnaire", tg_user_id=1,
          answer_key="gender", answer_value="female"),
    event("q4", "questionnaire_answer", datetime(2026, 1, 2), source="questionnaire", tg_user_id=1,
          answer_key="interest", answer_value="sensitive skin"),
    event("m1", "message", datetime(2026, 6, 20, 13, 10), tg_user_id=1,
          text="Apakah pelembap ini cocok untuk kulit sensitif?"),
    event("m2", "message", datetime(2026, 6, 21, 13, 40), tg_user_id=1, text="ada produk baru?",
          reply_to_message_id=5),
    event("m3", "message", datetime(2026, 6, 22, 14, 5), tg_user_id=1, text="terima kasih"),
    event("m4", "message", datetime(2026, 1, 5, 3, 0), tg_user_id=1, text="halo"),
    event("r1", "reaction", datetime(2026, 6, 23), tg_user_id=1, count=1, reaction="❤"),
    event("c1", "customer_profile", None, source="crm_customers", crm_customer_id="C1", phone="+6281234567890",
          full_name="Ana Putri", country="ID"),
    event("o1", "order", datetime(2026, 5, 1), source="crm_orders", crm_customer_id="C1", order_id="A",
          amount_usd=30.0, product="Moisturiser", category="moisturiser"),
    event("o2", "order", datetime(2026, 5, 1), source="crm_orders", crm_customer_id="C1", order_id="A",
          amount_usd=20.0, product="Toner", category="toner"),
    event("o3", "order", datetime(2026, 6, 10), source="crm_orders", crm_customer_id="C1", order_id="B",
          amount_usd=70.0, product="Moisturiser", category="moisturiser"),
    event("o4", "refund", datetime(2026, 6, 15), source="crm_orders", crm_customer_id="C1", order_id="B",
          amount_usd=70.0),
    # Bo: CRM only, one old order, British phone
    event("c2", "customer_profile", None, source="crm_customers", crm_customer_id="C2", phone="+447400123456",
          birth_date=datetime(1990, 7, 1).date(), gender="M"),
    event("o5", "order", datetime(2025, 1, 1), source="crm_orders", crm_customer_id="C2", order_id="Z",
          amount_usd=600.0, product="Serum", category="serum"),
    # invalid: a future order and a bot
    event("o6", "order", datetime(2027, 1, 1), source="crm_orders", crm_customer_id="C2", order_id="F",
          amount_usd=5.0),
    event("m9", "message", datetime(2026, 6, 1), tg_user_id=99, tg_username="promo_bot", text="SALE"),
]


@pytest.fixture(scope="module")
def features() -> dict[str, dict[str, object]]:
    events_arrow = with_folded_text(event_rows_to_table(EVENTS))
    backend = ibis.duckdb.connect()
    events = backend.create_table("events", events_arrow)
    flagged = flag_invalid(events, AS_OF)
    records = flagged.filter(flagged.invalid_reason.isnull()).select("source", *IDENTIFIER_TYPES).distinct()
    records_arrow = backend.to_pyarrow(records)
    records_arrow = records_arrow.cast(
        pa.schema([("source", pa.string())] + [(n, pa.string()) for n in IDENTIFIER_TYPES]))
    identity = resolve_identities(records_arrow, IdentitySettings())
    identity_map = backend.create_table("identity", identity.identifiers)
    attached = attach_person(flagged, identity_map)
    valid = tag_intents(attached.filter(attached.invalid_reason.isnull() & attached.person_id.notnull()),
                        load_lexicon("beauty"))
    regions, hints = region_tables()
    inputs = FeatureInputs(valid, backend.create_table("persons", persons_table(identity)),
                           backend.create_table("regions", regions), backend.create_table("hints", hints), AS_OF)
    table = backend.to_pyarrow(build_features(inputs, load_lexicon("beauty"), feature_names("beauty")))
    rows = table.to_pylist()
    by_id = {row["person_id"]: row for row in rows}
    tg_person = identity.identifiers.filter(pa.compute.equal(identity.identifiers["id_value"], "1"))["person_id"][0]
    crm2 = identity.identifiers.filter(pa.compute.equal(identity.identifiers["id_value"], "C2"))["person_id"][0]
    return {"ana": by_id[tg_person.as_py()], "bo": by_id[crm2.as_py()], "_count": {"n": len(rows)}}


def test_invalid_events_do_not_become_persons(features: dict[str, dict[str, object]]) -> None:
    assert features["_count"]["n"] == 2          # the bot is excluded; Ana's CRM record merged into her


def test_consumption_features(features: dict[str, dict[str, object]]) -> None:
    ana = features["ana"]
    assert ana["orders_total"] == 2 and ana["orders_90d"] == 2 and ana["orders_30d"] == 1
    assert ana["spend_total_usd"] == pytest.approx(120.0)
    assert ana["avg_order_usd"] == pytest.approx(60.0)
    assert ana["last_order_days"] == 20
    assert ana["repurchase_interval_days"] == pytest.approx(40.0)
    assert ana["refunds_total"] == 1 and ana["refund_rate"] == pytest.approx(0.5)
    assert ana["top_product_90d"] == "Moisturiser" and ana["top_product_90d_orders"] == 2
    assert ana["top_category"] == "moisturiser"
    bo = features["bo"]
    assert bo["orders_total"] == 1 and bo["orders_365d"] == 0 and bo["spend_365d_usd"] == 0
    assert bo["max_order_usd"] == pytest.approx(600.0)


def test_behaviour_features_use_local_time(features: dict[str, dict[str, object]]) -> None:
    ana = features["ana"]
    assert ana["messages_total"] == 4 and ana["messages_90d"] == 3 and ana["replies_90d"] == 1
    assert ana["reactions_90d"] == 1
    assert ana["active_days_90d"] == 4
    assert (ana["preferred_hour_start"], ana["preferred_hour_end"]) == (20, 22)   # 13:10–14:05 UTC = 20–21 WIB


def test_attribute_features_take_the_strongest_evidence(features: dict[str, dict[str, object]]) -> None:
    ana, bo = features["ana"], features["bo"]
    assert (ana["region"], ana["region_source"], ana["age_band"], ana["gender"]) == (
        "ID", "questionnaire", "25-34", "female")
    assert (bo["region"], bo["region_source"], bo["age_band"], bo["gender"]) == ("GB", "phone", "35-44", "male")
    assert ana["is_customer"] and ana["is_telegram_member"] and ana["has_phone"] and not ana["has_email"]


def test_demand_features_from_messages_questionnaire_and_purchases(features: dict[str, dict[str, object]]) -> None:
    ana = features["ana"]
    assert ana["interest_sensitive_skin"] >= 2      # the message and the questionnaire
    assert ana["interest_moisturizing"] >= 1        # the message ("pelembap") and the purchases
    assert ana["asked_new_product_90d"] == 1


def _languages(rows: list[dict[str, object]], regions: dict[str, str] | None = None) -> dict[str, str]:
    from tgportrait.label.features import detected_languages

    backend = ibis.duckdb.connect()
    events = backend.create_table("language_events", event_rows_to_table(
        [{key: value for key, value in row.items() if key != "person"} for row in rows]).append_column(
        "person_id", pa.array([str(row["person"]) for row in rows])))
    hint_regions = None
    if regions is not None:
        hint_regions = backend.create_table("hint_regions", pa.table(
            {"person_id": list(regions), "region": list(regions.values())}))
    found = backend.to_pyarrow(detected_languages(events, hint_regions)).to_pylist()
    return {row["person_id"]: row["detected_language"] for row in found}


def _said(person: str, lang: str | None, text: str, language_code: str | None = None) -> dict[str, object]:
    return {**event(f"{person}-{lang}-{text[:8]}-{language_code}", "message", AS_OF, text=text, lang=lang,
                    language_code=language_code), "person": person}


def test_person_language_weighs_message_length_and_weak_hints() -> None:
    long_pt = "Olá, gostaria de saber se este hidratante serve para pele sensível, obrigado"
    rows = [_said("a", "en", "ok"), _said("a", "en", "thx"), _said("a", "pt", long_pt),   # 0.33+0.35 < 1.0
            _said("b", "en", "ok"), _said("b", "vi", "dạ"),                                  # a tie, broken by the
            _said("c", "en", "ok"), _said("c", "vi", "dạ"), _said("c", None, "👍", "vi-VN"),  # app language...
            _said("d", "en", "ok"), _said("d", "vi", "dạ")]                                  # ...or the region
    assert _languages(rows, {"d": "GB"}) == {"a": "pt", "b": "vi", "c": "vi", "d": "en"}


def test_indonesian_and_malay_pool_on_the_side_the_hints_name() -> None:
    rows = [_said("a", "id", "boleh tahu harga"), _said("a", "ms", "nak tanya harga"), _said("a", "en", "price list"),
            _said("b", "id", "boleh tahu harga"), _said("b", "ms", "nak tanya harga")]
    assert _languages(rows) == {"a": "id", "b": "id"}                # pooled: 0.57 + 0.55 beats English's 0.47
    assert _languages(rows, {"a": "MY", "b": "ID"}) == {"a": "ms", "b": "id"}


def test_without_hints_indonesian_and_malay_pool_on_the_side_of_the_function_words() -> None:
    texts = {  # each person's larger side (by length) is the other one than their function words say
        "a": [("id", "Saya nak beli krim ni, tak mahu tunggu lama lah, boleh hantar esok?"), ("ms", "ok lah")],
        "b": [("ms", "Kapan pesanan saya dikirim? Sudah seminggu, tidak ada kabar"), ("id", "harga")],
        "c": [("id", "Tidak-tidak, terima kasih banyak ya semuanya sangat membantu"), ("ms", "tak")]}  # one word
    rows = [_said(person, lang, text) for person, said in texts.items() for lang, text in said]
    assert _languages(rows) == {"a": "ms", "b": "id", "c": "ms"}
    assert _languages(rows, {"a": "ID", "b": "MY"}) == {"a": "id", "b": "ms", "c": "ms"}  # hints come first


engine = module_engine("features")


def test_the_engine_counts_function_words_as_python_does(engine: Engine) -> None:
    from tgportrait.classify.language import _WORD, ID_MARKERS, MS_MARKERS
    from tgportrait.label.features import _malay_pair_words

    texts = ["Tidak bisa, TIDAK!", "tak\ttak  tak", "tidak-tidak tak-", "nak.nak,nak", "", "Ça ne marche pas, lah",
             "x tidakk ttidak tidak", "sudah\u00a0sudah\nsudah", "日本 tak 日本tak", "nak\x01 tak"]
    table = engine.from_arrow(pa.table({"person_id": [str(i) for i in range(len(texts))], "text": texts}), "said")
    counted = {row["person_id"]: (row["id_words"], row["ms_words"])
               for row in engine.backend.to_pyarrow(_malay_pair_words(table)).to_pylist()}
    for index, text in enumerate(texts):
        words = _WORD.findall(text.lower())
        expected = (sum(word in ID_MARKERS for word in words), sum(word in MS_MARKERS for word in words))
        assert counted[str(index)] == expected, text
