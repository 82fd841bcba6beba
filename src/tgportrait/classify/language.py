"""Language identification: reads message texts and weak hints, writes ISO 639-1 codes with a confidence.

Per message, ``detect_language`` runs ``lingua`` over a preloaded subset of languages (the ten the
project serves plus the distractors present in xSID, never all 75; offline, models ship in the wheel)
and then corrects lingua where it is weak: Indonesian against Malay. The two are nearly one language
and lingua splits short texts between them almost at random; a small table of function words that only
one of them uses (``tidak``/``bisa``/``karena`` vs ``tak``/``nak``/``kerana``) decides, and without a
marker the larger language (Indonesian, ~10x the speakers) wins.

Per person, ``detect_person_language`` adds up the confidences of their messages (weighted by length)
and weak hints: Telegram's ``language_code``, the questionnaire language and the region's main language.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa
    from lingua import LanguageDetector

SERVED_LANGUAGES: tuple[str, ...] = ("en", "id", "ms", "vi", "th", "pt", "es", "ru", "ar", "zh")
# Distractors: languages present in xSID (and common in Telegram) that must not be mistaken for ours.
DISTRACTOR_LANGUAGES: tuple[str, ...] = ("da", "de", "it", "ja", "kk", "lt", "nl", "nb", "sr", "tr", "fr", "uk", "fa")
DETECTED_LANGUAGES: tuple[str, ...] = SERVED_LANGUAGES + DISTRACTOR_LANGUAGES



def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Function words that tell Indonesian (ID_MARKERS) from Malay (MS_MARKERS); words are runs of ``WORD_LETTERS``
# in the lower-cased text. The engine counts them the same way (``label.features.detected_languages``).
ID_MARKERS = _word_set("""tidak bisa karena saja kapan besok uang mobil kantor gratis silakan sih dong nggak
enggak gak ga aja udah sudah kok banget gimana bagaimana mau pengen ingin kamu anda tolong berapa apakah sekarang
harus jam hari ini itu yang untuk dengan belum pesanan kirim barang tanya minta lagi juga""")
MS_MARKERS = _word_set("""tak nak mahu kerana sahaja bila esok wang kereta pejabat percuma sila awak hendak
macam lah kat encik cik ni tu hantar beritahu sebab jer je""")
WORD_LETTERS = "a-z-"
_WORD = re.compile(f"[{WORD_LETTERS}]+")

# Words of the Indonesian/Malay family that no other detected language uses; with them, English names
# inside an Indonesian sentence ("Mainkan All Things Must Pass") no longer make it English.
_MALAY_FAMILY_MARKERS = ID_MARKERS | MS_MARKERS | _word_set("""saya ke dari yang dan ini itu cari carikan sini lagu
bintang sebuah beberapa tolong putar tampilkan ingin mau nilai acara oleh""")

# Region (ISO 3166-1 alpha-2) -> its main language, as a weak hint.
REGION_LANGUAGE: dict[str, str] = {
    "ID": "id", "MY": "ms", "BN": "ms", "SG": "en", "VN": "vi", "TH": "th", "BR": "pt", "PT": "pt", "ES": "es",
    "MX": "es", "AR": "es", "CO": "es", "CL": "es", "PE": "es", "RU": "ru", "KZ": "ru", "BY": "ru", "SA": "ar",
    "AE": "ar", "EG": "ar", "QA": "ar", "KW": "ar", "CN": "zh", "TW": "zh", "HK": "zh", "US": "en", "GB": "en",
    "AU": "en", "CA": "en", "IN": "en", "PH": "en", "NG": "en",
}

# Codes a hint may carry for a language we name otherwise (Norwegian, the old Indonesian and Hebrew codes).
LEGACY_LANGUAGE_CODES: dict[str, str] = {"no": "nb", "nn": "nb", "in": "id", "zsm": "ms", "iw": "he"}

# Weights of the evidence for a person's language (a message counts by its confidence x length factor).
HINT_WEIGHTS: dict[str, float] = {"language_code": 1.5, "questionnaire": 2.0, "region": 0.5}


@dataclass(frozen=True)
class LanguageGuess:
    """One text's language (None: undetermined) and lingua's confidence in it (0..1)."""

    language: str | None
    confidence: float
    reason: str | None = None


@cache
def language_detector() -> LanguageDetector:
    """The lingua detector over ``DETECTED_LANGUAGES``, models preloaded (built once per process)."""
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, code.upper()) for code in DETECTED_LANGUAGES]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_preloaded_language_models().build()


@cache
def fast_language_detector() -> LanguageDetector:
    """lingua's low-accuracy mode (trigram models only) over the same languages: ~5x faster, loads in ~0.1 s."""
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, code.upper()) for code in DETECTED_LANGUAGES]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_low_accuracy_mode().build()


def indonesian_or_malay(text: str) -> str:
    """``id`` or ``ms`` by the function words each uses alone; ties (no marker) go to Indonesian."""
    words = _WORD.findall(text.lower())
    indonesian = sum(word in ID_MARKERS for word in words)
    malay = sum(word in MS_MARKERS for word in words)
    return "ms" if malay > indonesian else "id"


def _normalise_code(code: str) -> str:
    """A lingua ISO code (``NB``) or hint (``pt-BR``, ``no``, ``zh-hans``) -> our lower-case code."""
    base = code.strip().lower().replace("_", "-").split("-")[0]
    return LEGACY_LANGUAGE_CODES.get(base, base)


def _has_letters(text: str) -> bool:
    return any(char.isalpha() for char in text)


MAX_DETECT_CHARS = 2000  # longer texts are cut: the first 2,000 characters decide


def detect_language(text: str | None, *, fast: bool = False) -> LanguageGuess:
    """The language of one message; empty, letterless (emoji-only) texts are undetermined, with a reason.

    ``fast``: lingua's low-accuracy mode (``fast_language_detector``) instead of the full models.
    """
    if not text or not text.strip():
        return LanguageGuess(None, 0.0, "empty")
    clipped = text[:MAX_DETECT_CHARS]
    if not _has_letters(clipped):
        return LanguageGuess(None, 0.0, "no letters")
    by_script = _language_by_script(clipped)
    if by_script is not None:
        return by_script
    values = (fast_language_detector() if fast else language_detector()).compute_language_confidence_values(clipped)
    return _guess_from(clipped, values)


def _guess_from(clipped: str, values: Sequence[Any]) -> LanguageGuess:
    """lingua's confidence values for ``clipped`` (best first) -> our guess (Malay-family rules applied)."""
    if not values:
        return LanguageGuess(None, 0.0, "undetermined")
    best = values[0]
    code = _normalise_code(best.language.iso_code_639_1.name)
    confidence = float(best.value)
    if code not in ("id", "ms") and _looks_malay_family(clipped, confidence):
        code = "id"
    if code in ("id", "ms"):
        pair = sum(float(value.value) for value in values
                   if _normalise_code(value.language.iso_code_639_1.name) in ("id", "ms"))
        code, confidence = indonesian_or_malay(clipped), pair
    return LanguageGuess(code, round(confidence, 4))


def _looks_malay_family(text: str, confidence: float) -> bool:
    words = _WORD.findall(text.lower())
    markers = sum(word in _MALAY_FAMILY_MARKERS or (len(word) > 5 and word.endswith("kan")) for word in words)
    return markers >= 2 or (markers == 1 and confidence < 0.7)


_DECIDING_SCRIPTS = re.compile("[\u0600-\u06ff\u0e00-\u0e7f\u4e00-\u9fff\u3400-\u4dbf\u3040-\u30ff]")


def _language_by_script(text: str) -> LanguageGuess | None:
    """Scripts that settle the question: Arabic letters (Latin names inside are common), Thai, Han without kana.

    Arabic script is also Persian's; Persian-only letters (پ چ ژ گ) leave the decision to lingua.
    """
    if _DECIDING_SCRIPTS.search(text) is None:  # most texts: none of these scripts, nothing to count
        return None
    letters = [char for char in text if char.isalpha()]
    arabic = sum("\u0600" <= char <= "\u06ff" for char in letters)
    thai = sum("\u0e00" <= char <= "\u0e7f" for char in letters)
    han = sum("\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf" for char in letters)
    kana = sum("\u3040" <= char <= "\u30ff" for char in letters)
    if arabic >= 2 and not any(char in "پچژگ" for char in text):
        return LanguageGuess("ar", round(arabic / len(letters), 4))
    if thai >= 2:
        return LanguageGuess("th", round(thai / len(letters), 4))
    if han >= 1 and kana == 0:
        return LanguageGuess("zh", round(han / len(letters), 4))
    if kana >= 1:
        return LanguageGuess("ja", round((han + kana) / len(letters), 4))
    return None


def detect_languages(texts: Sequence[str | None], *, fast: bool = False) -> list[LanguageGuess]:
    """``detect_language`` over a column; repeated texts are detected once."""
    seen: dict[str, LanguageGuess] = {}
    guesses: list[LanguageGuess] = []
    for text in texts:
        key = text or ""
        guess = seen.get(key)
        if guess is None:
            guess = seen[key] = detect_language(text, fast=fast)
        guesses.append(guess)
    return guesses


FAST_MODE_SURE = 0.9  # below this confidence of the fast mode, the full models decide
MIN_MESSAGE_LETTERS = 6  # "hi", "ok", "thx" say nothing about a language (scripts like Han or Thai still do)


def _decided_without_lingua(text: str) -> LanguageGuess | None:
    """A message's guess when lingua need not run: empty or letterless text, fewer than ``MIN_MESSAGE_LETTERS``
    letters (undetermined unless the script decides), or a script that decides; None: lingua decides."""
    if not text.strip():
        return LanguageGuess(None, 0.0, "empty")
    if not _has_letters(text[:MAX_DETECT_CHARS]):
        return LanguageGuess(None, 0.0, "no letters")
    if sum(char.isalpha() for char in text[:MIN_MESSAGE_LETTERS * 4]) < MIN_MESSAGE_LETTERS:
        return _language_by_script(text) or LanguageGuess(None, 0.0, "too few letters")
    return _language_by_script(text[:MAX_DETECT_CHARS])


def detect_message_language(text: str | None) -> LanguageGuess:
    """One message's language within the ingest budget: lingua's fast mode first, the full models only when
    the fast mode is under ``FAST_MODE_SURE`` (a quarter of xSID's texts; accuracy in BENCHMARKS.md).
    Texts with fewer than ``MIN_MESSAGE_LETTERS`` letters are undetermined unless their script decides."""
    decided = _decided_without_lingua(text or "")
    if decided is not None:
        return decided
    guess = detect_language(text, fast=True)
    if guess.language is not None and guess.confidence < FAST_MODE_SURE:
        return detect_language(text)
    return guess


def detect_message_languages(texts: Sequence[str | None]) -> list[str | None]:
    """The ``lang`` stored on each message event: ``detect_message_language`` of each, with lingua run over
    the batch on all cores (its Rust code releases the GIL). Repeated texts are detected once."""
    found: dict[str, str | None] = {}
    pending: list[tuple[str, str]] = []          # (text, clipped) that lingua must decide
    for text in dict.fromkeys(text or "" for text in texts):
        decided = _decided_without_lingua(text)
        if decided is not None:
            found[text] = decided.language
        else:
            pending.append((text, text[:MAX_DETECT_CHARS]))
    unsure: list[tuple[str, str]] = []
    fast_values = fast_language_detector().compute_language_confidence_values_in_parallel(
        [clipped for _, clipped in pending]) if pending else []
    for (text, clipped), values in zip(pending, fast_values, strict=True):
        guess = _guess_from(clipped, values)
        found[text] = guess.language
        if guess.language is not None and guess.confidence < FAST_MODE_SURE:
            unsure.append((text, clipped))
    full_values = language_detector().compute_language_confidence_values_in_parallel(
        [clipped for _, clipped in unsure]) if unsure else []
    for (text, clipped), values in zip(unsure, full_values, strict=True):
        found[text] = _guess_from(clipped, values).language
    return [found[text or ""] for text in texts]


def detect_person_language(messages: Iterable[str | None], *, language_code: str | None = None,
                           questionnaire_language: str | None = None, region: str | None = None) -> LanguageGuess:
    """A person's language from all their messages plus weak hints; confidence is the winner's share."""
    scores: dict[str, float] = defaultdict(float)
    texts = list(messages)
    for guess, text in zip(detect_languages(texts), texts, strict=True):
        if guess.language is None:
            continue
        length_factor = min(1.0, 0.3 + _effective_length(text or "") / 60)
        scores[guess.language] += guess.confidence * length_factor
    hints = (("language_code", language_code), ("questionnaire", questionnaire_language),
             ("region", REGION_LANGUAGE.get((region or "").upper())))
    for kind, value in hints:
        if value:
            scores[_normalise_code(value)] += HINT_WEIGHTS[kind]
    if scores.get("id") and scores.get("ms"):
        _merge_malay_pair(scores, language_code, region, " ".join(text or "" for text in texts))
    if not scores:
        return LanguageGuess(None, 0.0, "no messages and no hints")
    total = sum(scores.values())
    language, score = max(scores.items(), key=lambda item: (item[1], item[0]))
    return LanguageGuess(language, round(score / total, 4))


def _effective_length(text: str) -> int:
    """Characters, a Han or kana character counting three (one carries about a Latin word's information)."""
    dense = sum("\u3040" <= char <= "\u30ff" or "\u3400" <= char <= "\u9fff" for char in text)
    return len(text) + 2 * dense


def _merge_malay_pair(scores: dict[str, float], language_code: str | None, region: str | None, text: str) -> None:
    """id and ms both present: one message cannot separate them well, so the pair's evidence goes to one
    side: the one the hints name, else the one whose function words all the person's messages use more."""
    hinted = {_normalise_code(language_code or ""), REGION_LANGUAGE.get((region or "").upper(), "")}
    words = _WORD.findall(text.lower())
    markers = {"id": sum(word in ID_MARKERS for word in words), "ms": sum(word in MS_MARKERS for word in words)}
    if "ms" in hinted and "id" not in hinted:
        winner = "ms"
    elif "id" in hinted:
        winner = "id"
    elif markers["id"] != markers["ms"]:
        winner = max(("id", "ms"), key=lambda code: markers[code])
    else:
        winner = max(("id", "ms"), key=lambda code: scores[code])
    loser = "ms" if winner == "id" else "id"
    scores[winner] += scores.pop(loser)


MESSAGE_TYPES_WITH_LANGUAGE = ("message", "forward", "media", "poll")


def with_detected_languages(events: pa.Table) -> pa.Table:
    """Fill ``lang`` of message events that have text and no ``lang`` yet (at ingest; other rows unchanged)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if events.num_rows == 0 or "text" not in events.column_names or "type" not in events.column_names:
        return events
    current = events.column("lang").to_pylist() if "lang" in events.column_names else [None] * events.num_rows
    wanted = pc.and_(pc.is_in(events.column("type"), pa.array(MESSAGE_TYPES_WITH_LANGUAGE)),
                     pc.is_valid(events.column("text"))).to_pylist()
    indexes = [index for index, (want, language) in enumerate(zip(wanted, current, strict=True))
               if want and language is None]
    if not indexes:
        return events
    texts = events.column("text").to_pylist()
    for index, language in zip(indexes, detect_message_languages([texts[i] for i in indexes]), strict=True):
        current[index] = language
    column = pa.array(current, pa.string())
    if "lang" in events.column_names:
        return events.set_column(events.schema.get_field_index("lang"), "lang", column)
    return events.append_column("lang", column)
