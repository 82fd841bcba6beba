"""The intent evaluation on small samples of the real data: proves ``make eval-intents`` runs end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmarks.eval_intents import BITEXT_TO_OURS, main
from benchmarks.intent_default import CANDIDATES, choose_default, effective_speed

from tgportrait.classify.embeddings import packaged_model_dir
from tgportrait.classify.intents import load_vocabulary


def test_bitext_mapping_targets_our_vocabulary() -> None:
    assert set(BITEXT_TO_OURS.values()) <= set(load_vocabulary().ids)
    assert len(BITEXT_TO_OURS) == 27


def test_eval_runs_on_a_sample(shared_data: Path, tmp_path: Path, capsys: object) -> None:
    out = tmp_path / "intents.json"
    cache = tmp_path / "vectors.npz"
    main(["--data", str(shared_data / "intent"), "--sample", "150", "--out", str(out), "--vectors-cache", str(cache)])
    result = json.loads(out.read_text())
    assert cache.is_file() == (packaged_model_dir() is not None)  # the vectors are kept for the next run
    assert result["bitext"]["rows"] == 150 and result["bitext"]["folds"] == 5
    heads = ["fast", "static", "cascade", "accurate"] if packaged_model_dir() is not None else ["fast"]
    candidates = {*heads, *(f"{head}+lexicon" for head in heads), *(f"{head}+lexicon-by-language" for head in heads)}
    assert set(result["bitext"]) == {"rows", "folds", "baseline", "lexicon", *candidates}
    assert 0.0 <= result["bitext"]["fast"]["macro_f1"] <= 1.0
    fast = result["bitext"]["fast"]
    assert fast["errors"] == round((1 - fast["accuracy"]) * 150)
    # Bitext is English, the model's trained language: the gate lets the fast head's every answer stand
    assert result["bitext"]["fast+lexicon-by-language"] == result["bitext"]["fast"]
    assert result["banking77"]["train_rows"] == 150
    assert set(result["banking77"]) >= {"baseline", *candidates}
    assert set(result["default"]["candidates"]) == candidates
    assert result["default"]["chosen"] in candidates
    speed = result["speed"]
    assert set(speed) == {"messages", "accurate_messages", *candidates}
    assert (speed["messages"], speed["accurate_messages"]) == (1000, 50)
    assert all(speed[name] > 0 for name in candidates)
    # the default must be fast enough: a slower candidate is listed as left out
    assert result["default"]["chosen"] not in result["default"]["slow"]
    counted = result["default"]["speed"]  # the slower of Bitext's and banking77's traffic
    assert all(counted[name] <= speed[name] for name in candidates)
    assert result["default"]["slow"] == sorted(name for name in candidates if counted[name] < 10_000)
    if packaged_model_dir() is not None:
        banking_speed = result["banking77"]["speed"]
        assert set(banking_speed) == {"messages", "static", "cascade", "static_accurate_share",
                                      "cascade_accurate_share"}
        assert banking_speed["static_accurate_share"] == 0.0 < banking_speed["cascade_accurate_share"]
        assert counted["cascade"] == min(speed["cascade"], banking_speed["cascade"])
    assert sorted(result["language"]["per_language"]) == ["ar", "en", "id", "zh"]
    assert result["language"]["per_language"]["ar"]["ours"] >= 0.95  # Arabic script settles it
    assert sorted(result["multilingual"]["per_language"]) == ["es", "id", "pt", "ru", "vi", "zh"]
    assert result["abstention"]["rows"] == 22
    assert result["person_language"]["persons"] > 50
    assert result["person_language"]["messages+region"] >= 0.95


def _figures(bitext: float, banking: float, non_english: float, abstention: float = 1.0) -> dict[str, float]:
    return {"bitext": bitext, "banking": banking, "non_english": non_english, "abstention": abstention}


def test_choose_default_prefers_candidates_that_beat_the_baseline() -> None:
    figures = {"fast": _figures(0.99, 0.91, 0.90), "fast+lexicon": _figures(0.99, 0.91, 0.95),
               "accurate": _figures(0.995, 0.94, 0.80), "accurate+lexicon": _figures(0.995, 0.94, 0.85)}
    result: dict[str, dict[str, object]] = {"bitext": {"baseline": {"macro_f1": 0.992}},
                                            "banking77": {"baseline": {"accuracy": 0.92}},
                                            "multilingual": {"average": {"baseline": 0.2}},
                                            "abstention": {"baseline": 0.4}, "speed": {}}
    for name, entry in figures.items():
        result["bitext"][name] = {"macro_f1": entry["bitext"]}
        result["banking77"][name] = {"accuracy": entry["banking"]}
        result["multilingual"]["average"][name] = entry["non_english"]  # type: ignore[index]
        result["abstention"][name] = entry["abstention"]
    choice = choose_default(result)
    # fast+lexicon has the best mean, but only the accurate heads beat the baseline on both figures
    assert (choice["chosen"], choice["beats_baseline"]) == ("accurate+lexicon", True)
    assert choice["beats_baseline_on"] == {"bitext_macro_f1": True, "banking77_accuracy": True,
                                           "non_english_accuracy": True, "abstention": True}
    result["abstention"]["accurate+lexicon"] = 0.3  # now it loses abstention: the other accurate candidate wins
    assert choose_default(result)["chosen"] == "accurate"
    result["abstention"]["accurate+lexicon"] = 1.0
    result["bitext"]["baseline"] = {"macro_f1": 0.999}
    assert choose_default(result)["chosen"] == "fast+lexicon"  # nobody beats it: the best mean wins
    assert choose_default(result)["beats_baseline"] is False
    assert choose_default(result)["beats_baseline_on"] == {"bitext_macro_f1": False, "banking77_accuracy": False,
                                                           "non_english_accuracy": True, "abstention": True}


def test_choose_default_leaves_out_candidates_below_the_speed_target() -> None:
    result: dict[str, dict[str, object]] = {"bitext": {"baseline": {"macro_f1": 0.992}},
                                            "banking77": {"baseline": {"accuracy": 0.92}},
                                            "multilingual": {"average": {"baseline": 0.2}},
                                            "abstention": {"baseline": 0.4},
                                            "speed": {"fast": 17_000, "static": 15_000, "accurate": 95}}
    for name, figures in {"fast": _figures(0.99, 0.91, 0.90), "static": _figures(0.995, 0.925, 0.90),
                          "accurate": _figures(0.996, 0.937, 0.90)}.items():
        result["bitext"][name] = {"macro_f1": figures["bitext"]}
        result["banking77"][name] = {"accuracy": figures["banking"]}
        result["multilingual"]["average"][name] = figures["non_english"]  # type: ignore[index]
        result["abstention"][name] = figures["abstention"]
    choice = choose_default(result)
    # the accurate head is better on every figure but classifies 95 messages per second: it cannot be the default
    assert (choice["chosen"], choice["slow"], choice["fast_enough"], choice["beats_baseline"]) == (
        "static", ["accurate"], True, True)
    result["speed"] = {"fast": 9_000, "static": 9_500, "accurate": 95}  # nobody is fast enough: say so
    choice = choose_default(result)
    assert (choice["chosen"], choice["slow"], choice["fast_enough"]) == (
        "accurate", ["accurate", "fast", "static"], False)
    assert CANDIDATES[:3] == ("fast", "fast+lexicon", "fast+lexicon-by-language") and len(CANDIDATES) == 12


def test_the_slower_traffic_counts_for_the_speed_target() -> None:
    """The cascade is fast on Bitext (its static head is sure) and slower on banking77: the slower counts, and a
    combination keeps its own cost over its head's."""
    result: dict[str, dict[str, object]] = {
        "speed": {"messages": 100, "accurate_messages": 10, "static": 40_000, "cascade": 40_000,
                  "cascade+lexicon-by-language": 20_000},
        "banking77": {"speed": {"messages": 100, "static": 40_000, "cascade": 12_000, "cascade_accurate_share": 0.1}}}
    speed = effective_speed(result)
    assert speed["static"] == 40_000 and speed["cascade"] == 12_000
    # 1/20,000 - 1/40,000 = 25 microseconds of gating, added to 1/12,000
    assert speed["cascade+lexicon-by-language"] == round(1 / (1 / 12_000 + 1 / 40_000))


def test_the_cascade_threshold_rule_runs_on_a_sample(shared_data: Path) -> None:
    if packaged_model_dir() is None:
        pytest.skip("the cascade needs the packaged MiniLM (make install-embeddings)")
    from benchmarks.tune_cascade import REQUIRED_PER_SECOND, THRESHOLDS, tune

    result = tune(shared_data / "intent", runs=1, sample=600, timed_messages=200)
    rows = result["thresholds"]
    assert list(rows) == [f"{threshold:g}" for threshold in THRESHOLDS] and result["holdout_rows"] == 120
    shares = [row["accurate_share"] for row in rows.values()]
    assert shares == sorted(shares) and shares[0] >= 0 and shares[-1] <= 1  # a higher threshold asks more
    fast = [float(name) for name, row in rows.items() if row["per_second"] >= REQUIRED_PER_SECOND]
    assert result["chosen"] == (max(fast) if fast else None)
