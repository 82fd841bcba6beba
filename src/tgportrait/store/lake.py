"""The lake: Parquet files under the workspace. Reads and writes ``events/`` and ``runs/``.

Events are append-only part files; a part is written to a temporary name and renamed, so a
crash never leaves half a part. Every build writes its outputs into ``runs/.building-<id>/``
and publishes it by renaming the folder and then atomically replacing the ``CURRENT`` pointer:
readers always see the last complete run.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from tgportrait.errors import NoRunYet
from tgportrait.store.tables import EVENTS

CURRENT_POINTER = "CURRENT"


@dataclass(frozen=True)
class AppendResult:
    written: int
    duplicates: int
    part: Path | None
    by_type: dict[str, int]


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%S%fZ") + "-" + uuid.uuid4().hex[:6]


class Lake:
    """Parquet files of one workspace."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.events_dir = root / "events"
        self.runs_dir = root / "runs"

    # ---- events -------------------------------------------------------------------------
    def event_parts(self) -> list[Path]:
        if not self.events_dir.exists():
            return []
        return sorted(self.events_dir.glob("*.parquet"))

    def read_events(self, columns: list[str] | None = None) -> pa.Table:
        parts = self.event_parts()
        if not parts:
            table = EVENTS.empty_table()
            return table.select(columns) if columns else table
        return ds.dataset([str(p) for p in parts], schema=EVENTS, format="parquet").to_table(columns=columns)

    def existing_event_ids(self) -> pa.Array:
        return self.read_events(columns=["event_id"]).column("event_id").combine_chunks()

    def append_events(self, table: pa.Table) -> AppendResult:
        """Append the rows whose ``event_id`` the lake does not hold yet; return counts."""
        table = table.cast(EVENTS)
        before = table.num_rows
        # de-duplicate within the batch (keep the first occurrence)
        if before:
            ids = table.column("event_id").to_pylist()
            seen: set[str] = set()
            keep = []
            for index, event_id in enumerate(ids):
                if event_id not in seen:
                    seen.add(event_id)
                    keep.append(index)
            if len(keep) != before:
                table = table.take(pa.array(keep, type=pa.int64()))
        existing = self.existing_event_ids()
        if len(existing) and table.num_rows:
            mask = pc.invert(pc.is_in(table.column("event_id"), value_set=existing))
            table = table.filter(mask)
        duplicates = before - table.num_rows
        if table.num_rows == 0:
            return AppendResult(0, duplicates, None, {})
        self.events_dir.mkdir(parents=True, exist_ok=True)
        name = f"part-{new_run_id()}.parquet"
        temporary = self.events_dir / f".{name}.tmp"
        pq.write_table(table, temporary, compression="zstd")
        final = self.events_dir / name
        os.replace(temporary, final)
        counts = pc.value_counts(table.column("type")).to_pylist()
        by_type = {str(item["values"]): int(item["counts"]) for item in counts}
        return AppendResult(table.num_rows, duplicates, final, dict(sorted(by_type.items())))

    # ---- runs ---------------------------------------------------------------------------
    def building_dir(self, run_id: str) -> Path:
        path = self.runs_dir / f".building-{run_id}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def publish(self, run_id: str, manifest: dict[str, object]) -> Path:
        """Make a finished run the current one: rename its folder, then switch the pointer."""
        building = self.building_dir(run_id)
        (building / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        final = self.run_dir(run_id)
        os.replace(building, final)
        _atomic_write_bytes(self.runs_dir / CURRENT_POINTER, run_id.encode())
        return final

    def abandon(self, run_id: str) -> None:
        shutil.rmtree(self.runs_dir / f".building-{run_id}", ignore_errors=True)

    def current_run_id(self) -> str | None:
        pointer = self.runs_dir / CURRENT_POINTER
        if not pointer.exists():
            return None
        return pointer.read_text().strip() or None

    def require_current_run(self) -> str:
        run_id = self.current_run_id()
        if run_id is None:
            raise NoRunYet("no build has been published in this workspace yet",
                           hint="Run 'tgportrait build' first.")
        return run_id

    def published_runs(self) -> list[str]:
        if not self.runs_dir.exists():
            return []
        return sorted(p.name for p in self.runs_dir.iterdir() if p.is_dir() and not p.name.startswith("."))

    def run_table_path(self, run_id: str, name: str) -> Path:
        return self.run_dir(run_id) / name

    def read_run_table(self, name: str, run_id: str | None = None) -> pa.Table:
        run_id = run_id or self.require_current_run()
        folder = self.run_table_path(run_id, name)
        parts = sorted(folder.glob("*.parquet"))
        if not parts:
            raise NoRunYet(f"run {run_id} has no table '{name}'", hint="Run 'tgportrait build' again.")
        return ds.dataset([str(p) for p in parts], format="parquet").to_table()

    def read_manifest(self, run_id: str | None = None) -> dict[str, object]:
        run_id = run_id or self.require_current_run()
        loaded: dict[str, object] = json.loads((self.run_dir(run_id) / "manifest.json").read_text())
        return loaded
