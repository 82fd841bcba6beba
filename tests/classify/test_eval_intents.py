"""The intent evaluation on small samples of the real data: proves ``make eval-intents`` runs end to end."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.eval_intents import BITEXT_TO_OURS, main

from tgportrait.classify.intents import load_vocabulary


def test_bitext_mapping_targets_our_vocabulary() -> None:
    assert set(BITEXT_TO_OURS.values()) <= set(load_vocabulary().ids)
    assert len(BITEXT_TO_OURS) == 27


def test_eval_runs_on_a_sample(shared_data: Path, tmp_path: Path, capsys: object) -> None:
    out = tmp_path / "intents.json"
    main(["--data", str(shared_data / "intent"), "--sample", "150", "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["bitext"]["rows"] == 150 and result["bitext"]["folds"] == 5
    assert set(result["bitext"]) >= {"ours", "ours+lexicon", "lexicon+ours", "baseline", "lexicon"}
    assert 0.0 <= result["bitext"]["ours"]["macro_f1"] <= 1.0
    assert result["banking77"]["train_rows"] == 150
    assert sorted(result["language"]["per_language"]) == ["ar", "en", "id", "zh"]
    assert result["language"]["per_language"]["ar"]["ours"] >= 0.95  # Arabic script settles it
    assert sorted(result["multilingual"]["per_language"]) == ["es", "id", "pt", "ru", "vi", "zh"]
    assert result["abstention"]["rows"] == 22
    assert result["person_language"]["persons"] > 50
    assert result["person_language"]["messages+region"] >= 0.95
