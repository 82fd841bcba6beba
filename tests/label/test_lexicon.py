"""The keyword lexicon: loading, per-language matching in Python, and the same answers from the engine."""

from __future__ import annotations

import pyarrow as pa
import pytest
import yaml

from tests.store.conftest import module_engine
from tgportrait.classify.text import fold_text
from tgportrait.errors import ConfigError
from tgportrait.label.lexicon import LEXICON_LANGUAGES, default_lexicon_path, load_lexicon
from tgportrait.store.engine import Engine

INTENTS_BY_PRIORITY = ("complaint", "human", "cancellation", "aftersales", "payment", "logistics", "suitability",
                       "price", "new_product", "presales", "praise")
TOPICS = {
    "beauty": ("sensitive_skin", "moisturizing", "sunscreen", "acne", "brightening", "anti_aging", "makeup",
               "fragrance", "haircare"),
    "3c": ("phones", "laptops", "audio", "gaming", "smart_home", "accessories"),
    "apparel": ("dresses", "shoes", "sportswear", "bags", "kids"),
    "fmcg": ("snacks", "beverages", "household", "baby", "personal_care"),
    "education": ("courses", "language_learning", "exam_prep", "coding", "kids_education"),
}

# (language, message, intent): sentences written for these tests, several per language.
INTENT_CASES = [
    ("en", "Do you have this serum in stock?", "presales"),
    ("en", "Is this cream suitable for oily skin?", "suitability"),
    ("en", "How much is the 50ml bottle?", "price"),
    ("en", "Any new arrivals this week?", "new_product"),
    ("en", "Where is my order? It has not arrived yet", "logistics"),
    ("en", "I want a refund, the bottle was broken", "aftersales"),
    ("en", "Worst service ever, I am very disappointed", "complaint"),
    ("en", "Thank you, I love it!", "praise"),
    ("en", "Please cancel my order", "cancellation"),
    ("en", "Can I pay by bank transfer?", "payment"),
    ("en", "I want to talk to a real person", "human"),
    ("en", "Thanks! How much is shipping to Jakarta?", "logistics"),
    ("en", "Good morning everyone", None),
    ("en", "an inexpensive gift idea", None),
    ("id", "Kak, harga serum ini berapa?", "price"),
    ("id", "Barangnya masih ada kak?", "presales"),
    ("id", "Paket saya belum sampai", "logistics"),
    ("id", "Cocok untuk kulit sensitif gak?", "suitability"),
    ("id", "Terima kasih, mantap!", "praise"),
    ("ms", "Berapa harga untuk dua botol?", "price"),
    ("ms", "Saya nak batalkan pesanan", "cancellation"),
    ("ms", "Barang rosak, saya mahu tukar barang", "aftersales"),
    ("ms", "Boleh bayar guna FPX?", "payment"),
    ("vi", "Sản phẩm này giá bao nhiêu vậy shop?", "price"),
    ("vi", "san pham nay gia bao nhieu vay shop", "price"),
    ("vi", "Đơn hàng của tôi bao giờ nhận được?", "logistics"),
    ("vi", "Shop ơi còn hàng không?", "presales"),
    ("vi", "Tôi muốn hủy đơn", "cancellation"),
    ("vi", "Cảm ơn shop, rất hài lòng", "praise"),
    ("th", "ราคาเท่าไหร่คะ", "price"),
    ("th", "ของยังไม่มาเลยค่ะ", "logistics"),
    ("th", "ขอบคุณมากค่ะ", "praise"),
    ("th", "ขอยกเลิกออเดอร์", "cancellation"),
    ("th", "ครีมนี้เหมาะกับผิวแพ้ง่ายไหม", "suitability"),
    ("pt", "Quanto custa o kit?", "price"),
    ("pt", "Meu pedido ainda não chegou", "logistics"),
    ("pt", "Quero devolver, veio com defeito", "aftersales"),
    ("pt", "Posso pagar com Pix?", "payment"),
    ("pt", "Adorei, muito obrigada!", "praise"),
    ("es", "¿Cuánto cuesta esta crema?", "price"),
    ("es", "Quiero cancelar mi pedido", "cancellation"),
    ("es", "¿Tienen disponible en talla M?", "presales"),
    ("es", "Pésimo servicio, estoy decepcionada", "complaint"),
    ("es", "Quiero hablar con un asesor", "human"),
    ("ru", "Сколько стоит этот крем?", "price"),
    ("ru", "Где мой заказ?", "logistics"),
    ("ru", "Хочу оформить возврат", "aftersales"),
    ("ru", "Спасибо, всё отлично!", "praise"),
    ("ru", "Позовите оператора", "human"),
    ("ru", "Встретимся в центре города", None),
    ("ar", "كم السعر؟", "price"),
    ("ar", "وين طلبي؟", "logistics"),
    ("ar", "أريد استرجاع المبلغ", "aftersales"),
    ("ar", "شُكْرًا جزيلًا", "praise"),
    ("ar", "هل يناسب البشرة الحساسة؟", "suitability"),
    ("zh", "这个多少钱？", "price"),
    ("zh", "我的订单什么时候到？", "logistics"),
    ("zh", "我要退款", "aftersales"),
    ("zh", "谢谢，很好用", "praise"),
    ("zh", "转人工", "human"),
]

# (industry, language, message, topics in lexicon order)
TOPIC_CASES = [
    ("beauty", "en", "My sensitive skin gets redness from this", ["sensitive_skin"]),
    ("beauty", "id", "Ada sunscreen SPF 50?", ["sunscreen"]),
    ("beauty", "ms", "Saya ada masalah jerawat", ["acne"]),
    ("beauty", "vi", "kem chống nắng cho da nhạy cảm", ["sensitive_skin", "sunscreen"]),
    ("beauty", "th", "ครีมกันแดดตัวนี้ดีไหม", ["sunscreen"]),
    ("beauty", "pt", "Preciso de um hidratante para pele seca", ["moisturizing"]),
    ("beauty", "es", "¿Tienen protector solar?", ["sunscreen"]),
    ("beauty", "ru", "Посоветуйте шампунь от перхоти", ["haircare"]),
    ("beauty", "ar", "أبحث عن عطر جديد", ["fragrance"]),
    ("beauty", "zh", "有没有适合痘痘肌的", ["acne"]),
    ("beauty", "en", "ＳＰＦ５０ sunscreen, please", ["sunscreen"]),
    ("3c", "en", "Looking for a laptop for gaming", ["laptops", "gaming"]),
    ("3c", "ru", "Нужен чехол для телефона", ["phones", "accessories"]),
    ("3c", "zh", "蓝牙耳机有吗", ["audio"]),
    ("apparel", "pt", "Vocês têm vestido de festa e sapatos?", ["dresses", "shoes"]),
    ("apparel", "th", "กระเป๋าเป้ใบนี้ราคาเท่าไหร่", ["bags"]),
    ("fmcg", "es", "Busco pañales y toallitas para mi bebé", ["baby"]),
    ("fmcg", "vi", "Shop có bán trà sữa không", ["beverages"]),
    ("education", "id", "Mau daftar kelas persiapan ujian IELTS", ["courses", "exam_prep"]),
    ("education", "ar", "أريد تعلم البرمجة بايثون", ["coding"]),
]

CATEGORY_CASES = [
    ("beauty", "Skincare > Sunscreen", ["sunscreen"]),
    ("beauty", "Face Cream", ["moisturizing"]),
    ("beauty", "Perfume & Fragrance", ["fragrance"]),
    ("beauty", "Shoes", []),
    ("3c", "Mobile Phones", ["phones"]),
    ("fmcg", "Mother & Baby", ["baby"]),
]


engine = module_engine("lexicon")


def test_intents_in_priority_order_and_topics_per_industry() -> None:
    for industry, topics in TOPICS.items():
        lexicon = load_lexicon(industry)
        assert lexicon.intent_ids == INTENTS_BY_PRIORITY
        assert lexicon.topic_ids == topics
    assert load_lexicon("ecommerce").topic_ids == tuple(topic for topics in TOPICS.values() for topic in topics)


def test_every_intent_and_topic_has_a_description_and_keywords_in_every_language() -> None:
    document = yaml.safe_load(default_lexicon_path().read_text(encoding="utf-8"))
    entries = [*document["intents"].values(), *(t for topics in document["topics"].values() for t in topics.values())]
    assert len(entries) == 11 + 30
    for entry in entries:
        assert entry["description"]
        assert sorted(entry["keywords"]) == sorted(LEXICON_LANGUAGES)
        assert all(entry["keywords"][language] for language in LEXICON_LANGUAGES)


def test_unknown_industry_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown industry 'cars' for the lexicon"):
        load_lexicon("cars")


@pytest.mark.parametrize(("language", "text", "intent"), INTENT_CASES, ids=lambda value: str(value)[:24])
def test_match_intent(language: str, text: str, intent: str | None) -> None:
    assert load_lexicon("beauty").match_intent(text) == intent


@pytest.mark.parametrize(("industry", "language", "text", "topics"), TOPIC_CASES, ids=lambda value: str(value)[:24])
def test_match_topics(industry: str, language: str, text: str, topics: list[str]) -> None:
    assert load_lexicon(industry).match_topics(text) == topics


@pytest.mark.parametrize(("industry", "category", "topics"), CATEGORY_CASES)
def test_match_categories(industry: str, category: str, topics: list[str]) -> None:
    assert load_lexicon(industry).match_categories(category) == topics


def test_folding_removes_case_accents_and_script_variants() -> None:
    assert fold_text("BAO NHIÊU") == "bao nhieu"
    assert fold_text("Ｐｒｉｃｅ") == "price"
    assert fold_text("пришёл") == "пришел"
    assert fold_text("شُكْرًا") == "شكرا"
    assert fold_text("أريد") == "اريد"


def test_word_boundaries_outside_thai_and_chinese() -> None:
    lexicon = load_lexicon("beauty")
    assert lexicon.match_intents("scamper") == []          # 'scam' is a whole word only
    assert lexicon.match_intents("refunds please") == ["aftersales"]  # 'refund*' leaves the end open
    assert lexicon.match_intents("ขอบคุณค่ะ") == ["praise"]  # Thai: no spaces, substring match
    assert lexicon.match_intents("太贵了，有优惠吗") == ["price"]


def test_all_intents_of_a_message_in_priority_order() -> None:
    lexicon = load_lexicon("beauty")
    assert lexicon.match_intents("Terrible! I want a refund, thanks") == ["complaint", "aftersales", "praise"]


def test_engine_patterns_use_no_lookaround() -> None:
    for industry in (*TOPICS, "ecommerce"):
        lexicon = load_lexicon(industry)
        for entry in (*lexicon.intents, *lexicon.topics):
            assert "(?<" not in entry.engine_pattern and "(?=" not in entry.engine_pattern
            assert "(?!" not in entry.engine_pattern


def test_engine_expressions_agree_with_python(engine: Engine) -> None:
    texts = [text for _, text, _ in INTENT_CASES] + [text for *_, text, _ in TOPIC_CASES] + [None, ""]
    table = engine.from_arrow(pa.table({"row": list(range(len(texts))), "text": pa.array(texts, pa.string())}),
                              "lexicon_texts")
    for industry in TOPICS:
        lexicon = load_lexicon(industry)
        hits = lexicon.topic_hit_expressions(table.text)
        expression = table.select("row", intent=lexicon.intent_case_expression(table.text), **hits)
        result = engine.execute(expression.order_by("row"), "lexicon_matches").to_pylist()
        for row, text in zip(result, texts, strict=True):
            assert row["intent"] == lexicon.match_intent(text), text
            assert [topic for topic in lexicon.topic_ids if row[topic]] == lexicon.match_topics(text), text


def test_category_expressions_agree_with_python(engine: Engine) -> None:
    categories = [category for _, category, _ in CATEGORY_CASES]
    table = engine.from_arrow(pa.table({"row": list(range(len(categories))), "category": categories}),
                              "lexicon_categories")
    for industry in TOPICS:
        lexicon = load_lexicon(industry)
        expression = table.select("row", **lexicon.category_hit_expressions(table.category)).order_by("row")
        for row, category in zip(engine.execute(expression, "category_hits").to_pylist(), categories, strict=True):
            assert [topic for topic in lexicon.topic_ids if row[topic]] == lexicon.match_categories(category)


def test_the_python_trie_pattern_matches_where_the_plain_alternation_does() -> None:
    import random
    import re

    from tgportrait.label.lexicon import _PY_AFTER, _PY_BEFORE, Keyword, _escape, _pattern

    def plain(keywords: list[Keyword]) -> re.Pattern[str]:  # the alternation the trie replaced
        parts = []
        for keyword in keywords:
            start = not (keyword.unspaced or keyword.open_start)
            end = not (keyword.unspaced or keyword.open_end)
            parts.append((_PY_BEFORE if start else "") + _escape(keyword.text) + (_PY_AFTER if end else ""))
        return re.compile("|".join(parts))

    chooser = random.Random(11)
    stems = ["ref", "refund", "refunds", "re", "return", "ret", "a b", "ab", "a", "c.d", "(x)", "退款", "退", "款项"]
    words = [*stems, "zz", "b", "d", "x", "c", "-", " ", "\t"]
    for _ in range(300):
        chosen = chooser.sample(stems, chooser.randint(1, 6))
        keywords = [Keyword.parse(chooser.choice(["", "*"]) + stem + chooser.choice(["", "*"])) for stem in chosen]
        trie = re.compile(_pattern(keywords, engine=False))
        reference = plain(keywords)
        for _ in range(20):
            text = "".join(chooser.choice(words) + chooser.choice(["", " ", ","]) for _ in range(chooser.randint(0, 6)))
            assert bool(trie.search(text)) == bool(reference.search(text)), (chosen, text, trie.pattern)
