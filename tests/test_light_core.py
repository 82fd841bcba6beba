"""A light core: importing tgportrait (and its CLI) pulls in none of the heavy optional parts.

Each import runs in a fresh interpreter, so modules other tests loaded cannot hide a regression.
A missing optional part says exactly what to install.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tgportrait.errors import EngineUnavailable
from tgportrait.store.engine import connect_engine

HEAVY_MODULES = frozenset({
    "pyspark", "py4j",                                   # the Spark engine
    "torch", "sklearn", "transformers", "sentence_transformers", "lingua", "openai",  # classifiers
    "fastapi", "starlette", "uvicorn",                   # the server
    "aiogram",                                           # the bot
})

REPORT_LOADED_MODULES = "import json, sys; print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))"


def top_level_modules_after(statement: str) -> set[str]:
    """The top-level modules loaded in a fresh interpreter after running ``statement``."""
    completed = subprocess.run([sys.executable, "-c", f"{statement}\n{REPORT_LOADED_MODULES}"],
                               capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, f"{statement!r} failed:\n{completed.stderr}"
    return set(json.loads(completed.stdout.splitlines()[-1]))


@pytest.mark.parametrize("statement", [
    "import tgportrait",
    "import tgportrait.cli",
    "import pathlib, tempfile\n"
    "from tgportrait.store.engine import connect_engine\n"
    "connect_engine('duckdb', pathlib.Path(tempfile.mkdtemp())).close()",
], ids=["library", "cli", "duckdb-engine"])
def test_import_loads_no_heavy_optional_part(statement: str) -> None:
    assert sorted(top_level_modules_after(statement) & HEAVY_MODULES) == []


def test_a_missing_pyspark_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # makes "from pyspark.sql import ..." fail
    with pytest.raises(EngineUnavailable) as caught:
        connect_engine("spark://local[2]", tmp_path)
    assert caught.value.render() == (
        "Error [TGP-S002]: the Spark engine needs pyspark, which is not installed\n"
        "Hint: pip install 'tgportrait[spark]' (and a Java 17 runtime), or use engine = \"duckdb\".")
