"""One workspace built on DuckDB and on Spark gives the same features, labels and portraits, row by row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pyarrow as pa
import pytest

from tests.store.conftest import SPARK_MARKS, SPARK_URL, engine_unavailable, spark_missing_reason
from tgportrait.build import build
from tgportrait.collect import import_file
from tgportrait.demo.generate import generate_community
from tgportrait.workspace import Workspace

pytestmark = SPARK_MARKS
AS_OF = datetime(2026, 11, 30)
SORT_KEYS = {"features": ["person_id"], "labels": ["person_id", "label_id"], "portraits": ["person_id"],
             "identities": ["id_type", "id_value"]}


@pytest.fixture(scope="module")
def community_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    if (reason := spark_missing_reason()) is not None:
        engine_unavailable(reason)
    root = tmp_path_factory.mktemp("parity")
    workspace = Workspace.init(root / "ws", "beauty")
    community = generate_community(root / "inputs", users=400, seed=3, end=AS_OF)
    for kind, path in community.import_files:
        import_file(workspace, kind, path)
    yield workspace
    workspace.close()


def _normalised(table: pa.Table, name: str) -> list[dict[str, object]]:
    """Rows in key order; floats compared with a relative tolerance (sums may add up in another order)."""
    rows = table.sort_by([(key, "ascending") for key in SORT_KEYS[name]]).to_pylist()
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float):
                row[key] = pytest.approx(value, rel=1e-9, abs=1e-9)
        row.pop("computed_at", None)
        row.pop("fresh_until", None)
    return rows


def test_duckdb_and_spark_builds_are_identical(community_workspace: Workspace,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    duckdb_run = build(community_workspace, as_of=AS_OF)
    spark_workspace = Workspace(community_workspace.root,
                                community_workspace.settings.model_copy(update={"engine": SPARK_URL}))
    monkeypatch.setattr("tgportrait.build.LABEL_PERSONS_PER_BATCH", 200)   # Spark labels in batches, DuckDB in one
    spark_run = build(spark_workspace, as_of=AS_OF)
    assert spark_run.engine == "spark" and duckdb_run.engine == "duckdb"
    lake = community_workspace.lake
    for name in ("identities", "features", "labels", "portraits"):
        on_duckdb = _normalised(lake.read_run_table(name, duckdb_run.run_id), name)
        on_spark = _normalised(lake.read_run_table(name, spark_run.run_id), name)
        assert len(on_duckdb) == len(on_spark), name
        assert len(on_duckdb) > 0, name
        for left, right in zip(on_duckdb, on_spark, strict=True):
            assert left == right, f"{name} differs for {left.get('person_id')}"
    assert duckdb_run.counts == spark_run.counts
    assert duckdb_run.quality == spark_run.quality
