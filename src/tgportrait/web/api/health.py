"""``GET /healthz``: the server is up and the state store answers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

router = APIRouter()


@router.get("/healthz")
def health(request: Request) -> dict[str, Any]:
    from tgportrait.collect.inbox import inbox_stats

    return {"status": "ok", "inbox": inbox_stats(request.app.state.workspace.state)["updates"]}
