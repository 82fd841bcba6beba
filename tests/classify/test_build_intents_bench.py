"""benchmarks.build_intents on a small count: proves ``make bench-build-intents`` runs end to end."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.build_intents import main


def test_build_intents_benchmark_runs_small(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "build-intents.json"
    main(["--messages", "1500", "--data", str(shared_data / "intent"), "--out", str(out)])
    result = json.loads(out.read_text())
    assert (result["messages"], result["budget_seconds"]) == (1500, 180)
    assert 1400 <= result["with_intent"] <= 1500  # Bitext's account chores are 'other' and may abstain
    assert result["python_pass_cpu_seconds"] >= 0 and result["ingest_language_per_cpu_second"] > 0
