"""The per-person language evaluation (``make eval-person-language``) on a small community."""

from __future__ import annotations

from pathlib import Path

from benchmarks.eval_person_language import evaluate


def test_the_evaluation_scores_the_build_language_feature(tmp_path: Path) -> None:
    result = evaluate(150, tmp_path)
    feature = result["feature"]
    assert feature["answered questionnaire"]["persons"] > 10
    assert feature["answered questionnaire"]["accuracy"] == 1.0   # their own answer is taken as given
    assert feature["all"]["persons"] == (feature["answered questionnaire"]["persons"]
                                         + feature["no questionnaire"]["persons"])
    assert result["detector_every_member"]["persons"] >= feature["all"]["persons"]
    assert 0.8 < result["detector_every_member"]["accuracy"] <= 1.0
