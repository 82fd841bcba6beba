"""Per-word analysis is computed once per distinct word and gathered per batch in text order."""

from __future__ import annotations

import numpy as np

from tgportrait.classify.word_rows import WordRows


def test_words_are_analysed_once_and_gathered_in_order() -> None:
    seen: list[str] = []

    def analyse(word: str) -> tuple[list[int], list[int]]:
        seen.append(word)
        return [len(word)] * len(word), [ord(word[0])]

    rows = WordRows(analyse, parts=2)
    slots, texts = rows.words_of(["ab c ab", "", "c  dddd"])
    assert seen == ["ab", "c", "dddd"]  # a word repeated within the batch is analysed once
    assert texts.tolist() == [0, 0, 0, 2, 2]
    values, owners = rows.gather(0, slots)
    assert values.tolist() == [2, 2, 1, 2, 2, 1, 4, 4, 4, 4]
    assert owners.tolist() == [0, 0, 1, 2, 2, 3, 4, 4, 4, 4]
    firsts, owners = rows.gather(1, slots)
    assert firsts.tolist() == [ord("a"), ord("c"), ord("a"), ord("c"), ord("d")] and owners.tolist() == [0, 1, 2, 3, 4]
    rows.words_of(["dddd ab"])
    assert seen == ["ab", "c", "dddd"] and len(rows) == 3


def test_empty_parts_and_an_empty_batch() -> None:
    rows = WordRows(lambda word: ([],), parts=1)
    slots, texts = rows.words_of(["x y"])
    values, owners = rows.gather(0, slots)
    assert values.size == owners.size == 0 and texts.tolist() == [0, 0]
    slots, texts = rows.words_of([])
    assert slots.size == texts.size == 0 and rows.gather(0, slots)[0].size == 0


def test_a_full_table_starts_again_empty_and_grows_past_its_first_arrays() -> None:
    rows = WordRows(lambda word: (list(range(int(word))),), parts=1, capacity=1000)
    words = [str(n % 300) for n in range(900)]
    slots, _ = rows.words_of([" ".join(words)])
    values, _ = rows.gather(0, slots)
    assert values.tolist() == [v for word in words for v in range(int(word))]  # > 4,096 values, > 1,024 rows
    assert len(rows) == 300
    rows.words_of([" ".join(str(n) for n in range(300, 1000))])
    assert len(rows) == 1000
    slots, _ = rows.words_of(["7 7"])  # full: emptied before this batch
    assert len(rows) == 1 and rows.gather(0, slots)[0].tolist() == list(range(7)) * 2
    assert np.issubdtype(slots.dtype, np.integer)
