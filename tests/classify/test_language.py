"""Language detection: per message (lingua + the id/ms and script corrections) and per person with hints."""

from __future__ import annotations

import pytest

from tgportrait.classify.language import (
    DETECTED_LANGUAGES,
    detect_language,
    detect_languages,
    detect_person_language,
    indonesian_or_malay,
)


@pytest.mark.parametrize(("text", "language"), [
    ("Where is my order? I paid three days ago.", "en"),
    ("Kak, pesanan saya kapan dikirim? Sudah bayar kemarin.", "id"),
    ("Bila barang saya nak sampai? Saya dah bayar semalam.", "ms"),
    ("Đơn hàng của tôi khi nào được giao vậy shop?", "vi"),
    ("สินค้าจะส่งถึงเมื่อไหร่คะ", "th"),
    ("Quando o meu pedido vai chegar?", "pt"),
    ("¿Cuándo llega mi pedido? Ya pagué.", "es"),
    ("Когда придёт мой заказ? Я уже оплатил.", "ru"),
    ("متى يصل طلبي؟ لقد دفعت بالفعل", "ar"),
    ("我的订单什么时候到？", "zh"),
    ("أضف we have a theme song الى قائمة تشغيل House Afterwork", "ar"),
    ("Mainkan All Things Must Pass .", "id"),
])
def test_message_language(text: str, language: str) -> None:
    assert detect_language(text).language == language


def test_bad_input_is_undetermined_with_a_reason() -> None:
    assert detect_language("").reason == "empty"
    assert detect_language("   ").reason == "empty"
    assert detect_language("😀🙏🔥 123").reason == "no letters"
    long = detect_language("Please tell me when my order will arrive, thank you very much. " * 800)
    assert (long.language, long.reason) == ("en", None)


def test_indonesian_and_malay_are_separated_by_function_words() -> None:
    assert indonesian_or_malay("saya tidak bisa bayar karena kartu ditolak") == "id"
    assert indonesian_or_malay("saya tak boleh bayar kerana kad ditolak") == "ms"
    assert indonesian_or_malay("terima kasih") == "id"  # no marker: the larger language


def test_detected_languages_are_a_subset_with_our_ten() -> None:
    assert {"en", "id", "ms", "vi", "th", "pt", "es", "ru", "ar", "zh"} <= set(DETECTED_LANGUAGES)
    assert len(DETECTED_LANGUAGES) < 75


def test_repeated_texts_are_detected_once_and_kept_in_order() -> None:
    guesses = detect_languages(["Когда доставка?", None, "Когда доставка?"])
    assert [guess.language for guess in guesses] == ["ru", None, "ru"]


def test_person_language_combines_messages_and_hints() -> None:
    messages = ["ok", "terima kasih kak", "berapa harga ini?"]
    assert detect_person_language(messages).language == "id"
    assert detect_person_language(messages, language_code="ms", region="MY").language == "ms"
    assert detect_person_language([], language_code="pt-BR").language == "pt"
    nothing = detect_person_language([None, "👍"])
    assert (nothing.language, nothing.reason) == (None, "no messages and no hints")


def test_batch_detection_gives_what_each_message_gives_alone() -> None:
    from tgportrait.classify.language import detect_message_language, detect_message_languages

    texts = ["", "   ", "😀😀😀", "ok", "hi", "Apakah produk ini cocok untuk kulit sensitif?",
             "Boleh saya tahu harga produk ini, kakak?", "Quanto custa o frete para São Paulo?",
             "¿Cuánto cuesta el envío a Madrid?", "Когда придёт мой заказ?", "Đơn hàng của tôi ở đâu rồi?",
             "这个多少钱", "สวัสดีครับ ราคาเท่าไหร่", "متى يصل طلبي؟", "Where is my order, it is late again",
             "Where is my order, it is late again", "Wo ist meine Bestellung?", "Bonjour", None]
    expected = [detect_message_language(text).language for text in texts]
    assert detect_message_languages(texts) == expected
    assert expected[:5] == [None, None, None, None, None]
    assert expected[5] == "id" and expected[9] == "ru" and expected[11] == "zh"
