"""`tgportrait demo` end to end on a small community: quality, identity against truth, report."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def test_demo_runs_end_to_end_and_writes_a_self_contained_report(tmp_path: Path) -> None:
    workspace = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "tgportrait", "demo", "--users", "300", "-w", str(workspace)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    output = result.stdout
    for heading in ("Imports", "Quality", "Label distribution", "Example portraits", "Segments", "Report:"):
        assert heading in output
    truth = re.search(r"residual duplicates ([\d.]+)%, false merges ([\d.]+)%", output)
    assert truth is not None
    assert float(truth.group(1)) < 1.0 and float(truth.group(2)) == 0.0
    report = (workspace / "report.html").read_text()
    assert report.count("<svg") >= 5
    assert not re.search(r"""(src|href)\s*=\s*["']https?://""", report)
    again = subprocess.run([sys.executable, "-m", "tgportrait", "demo", "--users", "300", "-w", str(workspace)],
                           capture_output=True, text=True, check=False)
    assert again.returncode == 2 and "already exists" in again.stderr and "--force" in again.stderr
