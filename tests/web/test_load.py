"""A small version of the webhook load test: a real ``tgportrait serve`` process, duplicates, one restart."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.webhook_load import make_updates, run_load


def test_make_updates_keeps_real_shapes_with_fresh_ids(shared_data: Path) -> None:
    updates = make_updates(40)
    assert len({u["update_id"] for u in updates}) == 40
    kinds = {next(k for k in u if k != "update_id") for u in updates}
    assert {"message", "callback_query", "my_chat_member", "message_reaction", "edited_message"} <= kinds


@pytest.mark.slow
@pytest.mark.parametrize("server", ["httptools", "h11"])     # as shipped, and the pure-Python comparison
def test_every_update_is_stored_exactly_once_across_a_server_kill(tmp_path: Path, shared_data: Path,
                                                                  server: str) -> None:
    report = run_load(tmp_path / "ws", updates=500, clients=10, duplicates=0.2, restart=True, server_kind=server)
    assert (report["server"], report["requests"], report["acknowledged"], report["inbox_updates"]) == (
        server, 600, 600, 500)
    assert report["answered_stored"] <= 500 and report["exactly_once"] is True
    assert report["answered_stored"] + report["answered_duplicate"] == 600
