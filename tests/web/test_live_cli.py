"""``tgportrait links create``, ``inbox stats|flush`` and the app factory's refusal without a webhook secret."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from tgportrait.cli import cli
from tgportrait.collect.inbox import store_update
from tgportrait.errors import ConfigError
from tgportrait.workspace import Workspace


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_links_create_and_inbox_commands(workspace: Workspace) -> None:
    code, output = run("links", "create", "https://shop.example/sale", "--campaign", "june", "-w",
                       str(workspace.root), "--json")
    link = json.loads(output)
    assert code == 0 and link["url"] == f"http://127.0.0.1:8080/l/{link['code']}" and link["campaign"] == "june"
    store_update(workspace.state, {"update_id": 1, "poll_answer": {"poll_id": "p", "option_ids": [0],
                                                                   "user": {"id": 5, "is_bot": False}}})
    store_update(workspace.state, {"update_id": 2, "something_new": {}})
    code, output = run("inbox", "stats", "-w", str(workspace.root), "--json")
    assert (code, json.loads(output)) == (0, {"updates": 2, "by_kind": {"poll_answer": 1, "something_new": 1},
                                              "unprocessed": 2})
    code, output = run("inbox", "flush", "-w", str(workspace.root), "--json")
    assert code == 0 and json.loads(output)["events"]["by_type"] == {"poll_answer": 1, "service": 1}


def test_links_create_refuses_a_non_url(workspace: Workspace) -> None:
    result = subprocess.run([sys.executable, "-m", "tgportrait", "links", "create", "shop.example", "--campaign",
                             "june", "-w", str(workspace.root)], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "Error [TGP-I001]: link target 'shop.example' is not an http(s) URL",
        "Hint: Give a full URL such as https://shop.example/sale."]


def test_the_server_refuses_to_start_without_a_webhook_secret(workspace: Workspace) -> None:
    from tgportrait.web.app import create_app

    with pytest.raises(ConfigError, match="telegram.webhook_secret is not set"):
        create_app(workspace)


def test_bot_command_polls_with_the_settings_bot(live_workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    import tgportrait.bot.polling as polling
    from tgportrait.bot.dispatch import BotContext

    seen: list[BotContext] = []

    def fake_poll(context: BotContext, *, timeout: int) -> polling.PollReport:
        seen.append(context)
        return polling.PollReport(polls=1, received=3, stored=2)

    monkeypatch.setattr(polling, "poll", fake_poll)
    code, output = run("bot", "--timeout", "0", "-w", str(live_workspace.root))
    settings = live_workspace.settings.telegram
    assert code == 0 and output.splitlines()[-1] == "Received 3 updates, stored 2."
    assert [(c.api_base_url, c.token, c.bot_username) for c in seen] == [
        (settings.api_base_url, settings.bot_token.get_secret_value() if settings.bot_token else None,
         "portrait_test_bot")]


def test_serve_runs_uvicorn_on_httptools_and_uvloop(live_workspace: Workspace,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn
    import uvloop
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from tgportrait.cli.live import SERVER_OPTIONS

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    code, _output = run("serve", "--port", "8123", "-w", str(live_workspace.root))
    assert code == 0 and calls == [{"host": "127.0.0.1", "port": 8123, "http": "httptools", "loop": "uvloop",
                                    "log_level": "warning", "access_log": False}]
    config = uvicorn.Config(app=lambda scope, receive, send: None, **SERVER_OPTIONS)   # what uvicorn makes of it
    config.load()
    loop_factory = config.get_loop_factory()
    assert config.http_protocol_class is HttpToolsProtocol and loop_factory is not None
    loop = loop_factory()
    assert isinstance(loop, uvloop.Loop)
    loop.close()
