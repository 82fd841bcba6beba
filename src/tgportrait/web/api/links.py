"""``GET /l/CODE?r=TOKEN``: record a tracked-link click (credited when the token verifies) and redirect."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from tgportrait.collect.links import record_click

router = APIRouter()


@router.get("/l/{code}")
def follow_link(code: str, request: Request, r: str | None = None) -> RedirectResponse:
    app_state = request.app.state
    link = record_click(app_state.workspace.state, app_state.link_key, code[:16], r)
    return RedirectResponse(link.url, status_code=302)
