"""Engine fixtures: the same tests run on DuckDB and on Spark in local mode.

``engine`` is session-scoped and parametrised over ``ENGINE_PARAMS``; Spark is marked ``spark``.
When pyspark or Java is missing, Spark tests skip with the reason on a developer machine and fail
in CI (``CI=true``), so CI never passes without having run them. ``open_test_engine`` is importable
for other test folders; Spark itself is started once per process by ``tgportrait.store.engine``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tgportrait.errors import EngineUnavailable
from tgportrait.store.engine import Engine, connect_engine

SPARK_URL = "spark://local[2]"
ENGINE_URLS = {"duckdb": "duckdb", "spark": SPARK_URL}
SPARK_MARKS = [pytest.mark.spark]  # for modules that need Spark: ``pytestmark = SPARK_MARKS``
ENGINE_PARAMS = [pytest.param("duckdb", id="duckdb"), pytest.param("spark", id="spark", marks=SPARK_MARKS)]


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def spark_missing_reason() -> str | None:
    """Why Spark cannot run here, or None when pyspark and a Java runtime are present."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install 'tgportrait[spark]')"
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and (Path(java_home) / "bin" / "java").exists()):
        return "no Java runtime on PATH or in JAVA_HOME (apt-get install openjdk-17-jre-headless)"
    return None


def engine_unavailable(reason: str) -> None:
    """Fail in CI, skip with the reason elsewhere."""
    if running_in_ci():
        pytest.fail(f"Spark is required in CI: {reason}", pytrace=False)
    pytest.skip(f"Spark unavailable: {reason}")


def open_test_engine(kind: str, scratch: Path) -> Engine:
    """Connect ``kind`` ("duckdb" or "spark") for tests; Spark's start time is printed with ``-s``."""
    if kind == "spark" and (reason := spark_missing_reason()) is not None:
        engine_unavailable(reason)
    started = time.perf_counter()
    try:
        engine = connect_engine(ENGINE_URLS[kind], scratch)
    except EngineUnavailable as exc:
        engine_unavailable(exc.message)
        raise  # unreachable: engine_unavailable always raises
    print(f"\n[{kind} engine ready in {time.perf_counter() - started:.1f} s]")
    return engine


def module_engine(prefix: str) -> Any:
    """An ``engine`` fixture for one test module (DuckDB, then Spark), scratch folders named after ``prefix``:
    ``engine = module_engine("lexicon")`` at the module's top level."""

    @pytest.fixture(scope="module", params=ENGINE_PARAMS)
    def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
        opened = open_test_engine(request.param, Path(tmp_path_factory.mktemp(f"{prefix}-{request.param}")))
        yield opened
        opened.close()

    return engine


@pytest.fixture(scope="session", params=ENGINE_PARAMS)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """An engine for the whole test session: DuckDB, then Spark (one Spark session per process)."""
    opened = open_test_engine(request.param, tmp_path_factory.mktemp(f"engine-{request.param}"))
    yield opened
    opened.close()
