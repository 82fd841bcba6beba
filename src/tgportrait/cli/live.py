"""``tgportrait serve``, ``bot``, ``links create`` and ``inbox stats|flush``: live collection from Telegram."""

from __future__ import annotations

from typing import Any

import click

from tgportrait.cli.common import console, json_option, open_workspace, print_json, workspace_option
from tgportrait.errors import ConfigError

# uvicorn's compiled HTTP parser and event loop, chosen explicitly (both are dependencies): with the pure-Python
# h11 parser and asyncio's loop the server spent about twice the CPU per update (BENCHMARKS.md, "Webhook ingestion").
SERVER_OPTIONS: dict[str, Any] = {"http": "httptools", "loop": "uvloop", "log_level": "warning",
                                 "access_log": False}


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
@workspace_option
def serve_command(host: str, port: int, workspace_dir: str | None) -> None:
    """Serve the Telegram webhook (/telegram/webhook), tracked links (/l/CODE) and /healthz."""
    import uvicorn

    from tgportrait.web.app import create_app

    app = create_app(open_workspace(workspace_dir))
    uvicorn.run(app, host=host, port=port, **SERVER_OPTIONS)


@click.command("bot")
@click.option("--timeout", type=int, default=30, show_default=True, help="Long-polling timeout (seconds).")
@workspace_option
def bot_command(timeout: int, workspace_dir: str | None) -> None:
    """Run the bot with long polling (getUpdates) instead of a webhook."""
    from dataclasses import replace

    from tgportrait.activate.telegram import TelegramClient
    from tgportrait.bot.dispatch import BotContext
    from tgportrait.bot.polling import poll

    workspace = open_workspace(workspace_dir)
    telegram = workspace.settings.telegram
    client = TelegramClient.from_settings(telegram)
    me = client.get_me()         # refuses a missing or placeholder token with a ConfigError and a hint
    client.close()
    if not me.get("can_read_all_group_messages"):
        console.print("[yellow]Privacy mode is on: in groups the bot sees only commands and service messages.[/]")
    console.print(f"Polling as @{me.get('username')} (Ctrl-C to stop)")
    context = BotContext.from_settings(workspace, telegram)
    if context is None:     # getMe refuses a placeholder token first; kept for the type checker
        raise ConfigError("the Telegram bot token is missing", hint="Set TGPORTRAIT_TELEGRAM_BOT_TOKEN.")
    report = poll(replace(context, bot_username=context.bot_username or me.get("username")), timeout=timeout)
    console.print(f"Received {report.received:,} updates, stored {report.stored:,}.")


@click.group("links")
def links_group() -> None:
    """Tracked links: short URLs served by 'tgportrait serve' that record clicks per person."""


@links_group.command("create")
@click.argument("url")
@click.option("--campaign", required=True, help="Campaign the clicks are attributed to.")
@workspace_option
@json_option
def links_create_command(url: str, campaign: str, workspace_dir: str | None, as_json: bool) -> None:
    """Create a tracked link to URL for a campaign."""
    from tgportrait.collect.links import create_link

    workspace = open_workspace(workspace_dir)
    link = create_link(workspace.state, url, campaign)
    short = link.short_url(workspace.settings.telegram.public_base_url)
    if as_json:
        print_json({"code": link.code, "url": short, "target": link.url, "campaign": link.campaign})
        return
    console.print(f"{short} → {link.url} (campaign {link.campaign})")


@click.group("inbox")
def inbox_group() -> None:
    """The inbox of received Telegram updates."""


@inbox_group.command("stats")
@workspace_option
@json_option
def inbox_stats_command(workspace_dir: str | None, as_json: bool) -> None:
    """How many updates are stored, by kind."""
    from tgportrait.collect.inbox import inbox_stats

    stats = inbox_stats(open_workspace(workspace_dir).state)
    if as_json:
        print_json(stats)
        return
    console.print(f"{stats['updates']:,} updates ({stats['unprocessed']:,} not yet in the lake)")
    for kind, count in stats["by_kind"].items():
        console.print(f"  {kind}: {count:,}")


@inbox_group.command("flush")
@workspace_option
@json_option
def inbox_flush_command(workspace_dir: str | None, as_json: bool) -> None:
    """Turn unprocessed updates and link clicks into events now (the build does this too)."""
    from tgportrait.collect.inbox import flush_inbox

    report = flush_inbox(open_workspace(workspace_dir))
    if as_json:
        print_json(report.as_dict())
        return
    console.print(f"{report.updates:,} updates and {report.clicks:,} clicks → events")


COMMANDS = [serve_command, bot_command, links_group, inbox_group]
