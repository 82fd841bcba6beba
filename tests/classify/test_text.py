"""Text folding: the Python fold, the column fold at ingest, the engine fold, and the layering it allows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from tests.store.conftest import ENGINE_PARAMS, open_test_engine
from tgportrait.classify.text import (
    FOLD_DELETE,
    FOLD_FROM,
    FOLD_TO,
    fold_expression,
    fold_for_engine,
    fold_text,
    fold_texts,
)
from tgportrait.collect.ingest import with_folded_text


def test_fold_text_folds_case_accents_widths_and_letter_variants() -> None:
    assert fold_text("BAO NHIÊU") == "bao nhieu"
    assert fold_text("Ｐｒｉｃｅ") == "price"                 # full-width ASCII
    assert fold_text("пришёл") == "пришел"
    assert fold_text("شُكْرًا") == "شكرا"                    # harakat removed
    assert fold_text("أريد") == "اريد"                       # alef variants unified
    assert fold_text("Straße\u00a0x\u200b") == "strasse x"    # case folding, odd space, zero-width space
    assert fold_text("łódź đi ø") == "lodz di o"


def test_fold_texts_keeps_nulls_and_order() -> None:
    assert fold_texts(["Ê", None, "Ê", "b"]) == ["e", None, "e", "b"]
    assert fold_texts([]) == []


def test_the_table_maps_one_character_to_one() -> None:
    assert len(FOLD_FROM) == len(FOLD_TO) == 366
    assert len(set(FOLD_FROM)) == len(FOLD_FROM)
    assert not set(FOLD_FROM) & set(FOLD_DELETE)
    assert fold_for_engine("Cafe\u0301") == "café".translate(str.maketrans("é", "e"))   # NFC, then the table


def test_with_folded_text_fills_the_column_at_ingest() -> None:
    events = pa.table({"text": ["Harga BERAPA?", None, "ＯＫ"], "text_folded": pa.nulls(3, pa.string())})
    assert with_folded_text(events).column("text_folded").to_pylist() == ["harga berapa?", None, "ok"]
    assert with_folded_text(pa.table({"type": ["join"]})).column_names == ["type"]


@pytest.mark.parametrize("kind", ENGINE_PARAMS)
def test_the_engine_fold_matches_the_python_fold(kind: str, tmp_path: Path) -> None:
    texts = ["BAO NHIÊU", "Ｐｒｉｃｅ", "пришёл", "شُكْرًا", "أريد", "Łódź\u00a0Đà", None]
    engine = open_test_engine(kind, tmp_path)
    table = engine.from_arrow(pa.table({"text": pa.array(texts, pa.string())}), "texts")
    folded = engine.execute(table.select(folded=fold_expression(table.text)), "folded").column("folded").to_pylist()
    engine.close()
    assert folded == [None if text is None else fold_for_engine(text) for text in texts]
    assert folded[:6] == ["bao nhieu", "price", "пришел", "شكرا", "اريد", "lodz da"]


def test_importing_data_does_not_import_the_label_stage() -> None:
    code = ("import sys, pyarrow as pa\nfrom tgportrait.collect.ingest import with_folded_text\n"
            "with_folded_text(pa.table({'text': ['A']}))\n"
            "print(sorted(name for name in sys.modules if name.startswith('tgportrait.label')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
