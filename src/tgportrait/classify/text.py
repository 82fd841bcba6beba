"""Text folding: reads message text, writes its folded form (Python strings or an engine expression).

Folding is what every text matcher in tgportrait compares: the lexicon's keyword regexes
(``tgportrait.label.lexicon``), the trained intent model's character n-grams
(``tgportrait.classify.intent_models``) and the events' ``text_folded`` column, filled once at ingest
(``tgportrait.collect.ingest``). It lives here, below both ``collect`` and ``label``, so that importing
data never depends on the labelling stage.

One character table serves both sides:

- Python (``fold_text``, ``fold_texts``): Unicode NFKC, case folding, then ``str.translate`` with the
  table: Latin letters lose their accents (``ê`` → ``e``), a few letter variants are unified (``ё`` →
  ``е``, Arabic alef forms → ``ا``, ``ة`` → ``ه``), full-width ASCII becomes ASCII, odd spaces become a
  space, combining accents, Arabic harakat, tatweel, zero-width spaces and byte-order marks are removed;
- the engines (``fold_expression``): ``TRANSLATE(LOWER(column), from, to)``, which DuckDB and Spark
  both run. Engines do no NFKC, so keywords meant for engine-side text are folded with
  ``fold_for_engine`` (NFC + the same table) instead.

Only ``fold_expression`` touches Ibis, and only through the column it is given: this module imports
nothing heavy.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ibis.expr.types as ir


def _build_fold_table() -> tuple[str, str, str]:
    """(from, to, delete): 1:1 character replacements, then characters to remove."""
    pairs: dict[str, str] = {}
    latin = [*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)]
    for code in latin:
        char = chr(code)
        if char != char.lower():
            continue  # text is lower-cased before folding
        base = unicodedata.normalize("NFD", char)[0]
        if base != char and base.isascii() and base.isalpha():
            pairs[char] = base
    pairs.update({"đ": "d", "ø": "o", "ł": "l", "ё": "е", "’": "'", "‘": "'", "ʼ": "'",
                  "أ": "ا", "إ": "ا", "آ": "ا", "ى": "ي", "ة": "ه"})
    for code in range(0xFF01, 0xFF5F):  # full-width ASCII
        pairs[chr(code)] = chr(code - 0xFEE0).lower()
    for code in (0x00A0, *range(0x2000, 0x200B), 0x202F, 0x3000):  # odd spaces
        pairs[chr(code)] = " "
    deleted = [*map(chr, range(0x0300, 0x0370)),  # combining accents (decomposed Latin text)
               *map(chr, range(0x064B, 0x0653)), "\u0670", "\u0640",  # Arabic harakat, tatweel
               "\u200b", "\ufeff"]  # zero-width space, byte-order mark
    return "".join(pairs), "".join(pairs.values()), "".join(deleted)


FOLD_FROM, FOLD_TO, FOLD_DELETE = _build_fold_table()
_PYTHON_FOLD = str.maketrans(FOLD_FROM, FOLD_TO, FOLD_DELETE)


def fold_text(text: str) -> str:
    """Text as the Python matcher sees it: NFKC, case-folded, accents and letter variants folded."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_PYTHON_FOLD)


def fold_texts(texts: Iterable[str | None]) -> list[str | None]:
    """``fold_text`` over a column (repeated texts folded once); nulls stay null."""
    cache: dict[str, str] = {}
    folded: list[str | None] = []
    for text in texts:
        if text is None:
            folded.append(None)
            continue
        value = cache.get(text)
        if value is None:
            value = cache[text] = fold_text(text)
        folded.append(value)
    return folded


def fold_for_engine(keyword: str) -> str:
    """A keyword as the engine-side text will look (engines do no NFKC: only lower-case + translate)."""
    return unicodedata.normalize("NFC", keyword).casefold().translate(_PYTHON_FOLD)


def fold_expression(column: ir.StringValue) -> ir.StringValue:
    """The engine-side fold of a text column: ``TRANSLATE(LOWER(column), ...)`` (DuckDB and Spark)."""
    return column.lower().translate(FOLD_FROM + FOLD_DELETE, FOLD_TO)


__all__ = ["FOLD_DELETE", "FOLD_FROM", "FOLD_TO", "fold_expression", "fold_for_engine", "fold_text", "fold_texts"]
