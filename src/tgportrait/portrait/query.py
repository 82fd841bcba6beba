"""Read the current run: portraits, persons, quality. Reads ``runs/CURRENT``; writes nothing.

These are the query functions the CLI (and later the API and dashboard) format.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pyarrow.compute as pc

from tgportrait.errors import NotFound
from tgportrait.portrait.build import portrait_document
from tgportrait.workspace import Workspace


def run_as_of(workspace: Workspace, run_id: str | None = None) -> datetime:
    manifest = workspace.lake.read_manifest(run_id)
    return datetime.fromisoformat(str(manifest["as_of"]))


def resolve_person_id(workspace: Workspace, person: str) -> str:
    """Accept a person id or any identifier value (Telegram id, phone, e-mail, CRM id, username)."""
    identities = workspace.lake.read_run_table("identities")
    if person.startswith("p_"):
        matches = identities.filter(pc.equal(identities.column("person_id"), person))
    else:
        candidates = {person, person.lower().lstrip("@")}
        matches = identities.filter(pc.is_in(identities.column("id_value"), value_set=_array(candidates)))
    ids = sorted(set(matches.column("person_id").to_pylist()))
    if not ids:
        raise NotFound(f"no person '{person}' in the current run",
                       hint="Use a person id from 'tgportrait persons', or an identifier such as a Telegram user "
                            "id, phone (E.164), e-mail or CRM customer id.")
    if len(ids) > 1:
        raise NotFound(f"'{person}' matches {len(ids)} persons: {', '.join(ids[:5])}",
                       hint="Pass one of these person ids instead.")
    return ids[0]


def _array(values: set[str]) -> Any:
    import pyarrow as pa

    return pa.array(sorted(values), pa.string())


def portrait(workspace: Workspace, person: str) -> dict[str, Any]:
    person_id = resolve_person_id(workspace, person)
    portraits = workspace.lake.read_run_table("portraits")
    rows = portraits.filter(pc.equal(portraits.column("person_id"), person_id)).to_pylist()
    if not rows:
        raise NotFound(f"person {person_id} has no portrait in the current run", hint="Run 'tgportrait build'.")
    return portrait_document(rows[0])


def persons(workspace: Workspace, limit: int | None = 20, *, order: str = "labels") -> list[dict[str, Any]]:
    portraits = workspace.lake.read_run_table("portraits")
    if order == "labels":
        indices = pc.sort_indices(portraits, sort_keys=[("label_count", "descending"), ("person_id", "ascending")])
        portraits = portraits.take(indices)
    if limit is not None:
        portraits = portraits.slice(0, limit)
    return [{"person_id": row["person_id"], "summary": row["summary"]}
            for row in portraits.select(["person_id", "summary"]).to_pylist()]


def quality(workspace: Workspace, run_id: str | None = None) -> dict[str, Any]:
    run_id = run_id or workspace.lake.require_current_run()
    loaded: dict[str, Any] = json.loads((workspace.lake.run_dir(run_id) / "quality.json").read_text())
    return loaded
