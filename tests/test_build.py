"""The build's batching: labels computed for ranges of person ids equal labels computed in one plan."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tgportrait.build import build
from tgportrait.collect import import_file
from tgportrait.demo.generate import generate_community
from tgportrait.workspace import Workspace

AS_OF = datetime(2026, 11, 30)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("batches")
    opened = Workspace.init(root / "ws", "beauty")
    community = generate_community(root / "inputs", users=250, seed=5, end=AS_OF)
    for kind, path in community.import_files:
        import_file(opened, kind, path)
    yield opened
    opened.close()


def _rows(table: pa.Table) -> list[dict[str, object]]:
    return table.drop_columns(["computed_at"]).sort_by([("person_id", "ascending"),
                                                        ("label_id", "ascending")]).to_pylist()


def test_labels_in_person_batches_equal_labels_in_one_plan(workspace: Workspace,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    whole = build(workspace, as_of=AS_OF)
    monkeypatch.setattr("tgportrait.build.LABEL_PERSONS_PER_BATCH", 37)
    batched = build(workspace, as_of=AS_OF)
    lake = workspace.lake
    parts = sorted(lake.run_table_path(batched.run_id, "labels").glob("*.parquet"))
    assert len(parts) >= whole.counts["features"] // 37            # one part (or more) per batch
    one, many = lake.read_run_table("labels", whole.run_id), lake.read_run_table("labels", batched.run_id)
    assert one.num_rows > 1000
    assert _rows(one) == _rows(many)
    examples = pc.sum(pc.match_substring(many.column("evidence"), '"examples"')).as_py()
    assert examples > 0                                              # message examples survive the batching
    assert whole.counts == batched.counts and whole.quality == batched.quality
    assert lake.read_run_table("portraits", whole.run_id).drop_columns(["computed_at"]).sort_by("person_id").equals(
        lake.read_run_table("portraits", batched.run_id).drop_columns(["computed_at"]).sort_by("person_id"))
