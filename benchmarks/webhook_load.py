"""Webhook load test: real-shaped updates from concurrent clients against a real ``tgportrait serve`` process.

    python -m benchmarks.webhook_load [--updates 20000] [--clients 50] [--duplicates 0.1] [--workspace DIR]
                                      [--server h11|httptools]

Updates are the full Updates of ``../shared/data/botapi_updates`` (messages, edits, reactions,
callback queries, member changes, ...) with fresh update ids, users and message ids. A share of them is
sent twice (Telegram redelivers), and the server is killed (SIGKILL) and restarted once half of the
requests have been acknowledged; clients retry refused or failed requests like Telegram does. At the
end the inbox must hold every update exactly once. Prints one JSON document. The workspace folder
is recreated (it must be empty or an earlier benchmark workspace). The clients are small asyncio
HTTP/1.1 keep-alive connections (``Connection``) so that the load generator leaves the server a core.
``--server h11`` runs the same server on uvicorn's pure-Python parser and asyncio's event loop (the
configuration before httptools and uvloop became dependencies), for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from copy import deepcopy
from pathlib import Path
from typing import Any

SECRET = "load-test-secret"
# ``tgportrait serve`` as shipped (httptools + uvloop), or with uvicorn's pure-Python h11 parser and asyncio loop
SERVER_PROGRAMS = {
    "httptools": "from tgportrait.cli import main; main()",
    "h11": "import tgportrait.cli.live as live; live.SERVER_OPTIONS.update(http='h11', loop='asyncio'); "
           "from tgportrait.cli import main; main()",
}
SHARED_UPDATES = Path(__file__).resolve().parents[2] / "shared" / "data" / "botapi_updates"
FALLBACK_TEMPLATE: dict[str, Any] = {"message": {
    "message_id": 1, "date": 1767225600, "chat": {"id": 1, "type": "private"},
    "from": {"id": 1, "is_bot": False, "first_name": "Ana", "language_code": "id"}, "text": "harga serum berapa?"}}


def templates() -> list[dict[str, Any]]:
    """The real full Updates (without their update_id), or one built-in message when the folder is absent."""
    found = []
    for path in sorted(SHARED_UPDATES.glob("*/*.json")):
        document = json.loads(path.read_text())
        if isinstance(document, dict) and "update_id" in document:
            found.append({key: value for key, value in document.items() if key != "update_id"})
    return found or [FALLBACK_TEMPLATE]


def _reshape(value: Any, user_id: int, message_id: int) -> Any:
    if isinstance(value, dict):
        shaped = {key: _reshape(item, user_id, message_id) for key, item in value.items()}
        if isinstance(shaped.get("id"), int) and "is_bot" in shaped and not shaped["is_bot"]:
            shaped["id"] = user_id
        if "message_id" in shaped:
            shaped["message_id"] = message_id
        return shaped
    if isinstance(value, list):
        return [_reshape(item, user_id, message_id) for item in value]
    return value


def make_updates(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` distinct updates shaped like the real ones (ids, users and message ids varied)."""
    rng = random.Random(seed)
    shapes = templates()
    updates = []
    for index in range(count):
        body = _reshape(deepcopy(shapes[index % len(shapes)]), 10_000 + rng.randrange(2_000), 1 + index)
        updates.append({"update_id": 500_000_000 + index, **body})
    return updates


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """``tgportrait serve`` in its own process (no bot token: nothing is sent, everything is recorded)."""

    def __init__(self, workspace: Path, port: int, program: str = "httptools") -> None:
        self.workspace, self.port, self.program = workspace, port, SERVER_PROGRAMS[program]
        self.process: subprocess.Popen[bytes] | None = None
        self.cpu_seconds = 0.0      # CPU (user + system) the server processes spent serving, startup excluded
        self._startup_cpu = 0.0

    def _cpu(self) -> float:
        """The running server's CPU seconds so far (Linux /proc; 0 elsewhere)."""
        stat = Path(f"/proc/{self.process.pid}/stat") if self.process else None
        if stat is None or not stat.exists():
            return 0.0
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _account_cpu(self) -> None:
        self.cpu_seconds += self._cpu() - self._startup_cpu

    def start(self) -> None:
        env = {**os.environ, "TGPORTRAIT_TELEGRAM_WEBHOOK_SECRET": SECRET, "TGPORTRAIT_TELEGRAM_BOT_TOKEN": ""}
        self.process = subprocess.Popen(
            [sys.executable, "-c", self.program, "serve", "--workspace", str(self.workspace), "--port", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    self._startup_cpu = self._cpu()
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("tgportrait serve did not start within 60 s")

    def kill(self) -> None:
        if self.process is not None:
            self._account_cpu()
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self._account_cpu()
            self.process.terminate()
            self.process.wait(timeout=30)


class Connection:
    """One keep-alive HTTP/1.1 client connection (asyncio streams, pre-encoded requests).

    A deliberately small client: the load generator shares the 2 cores with the server, and aiohttp's
    client spent about as much CPU per request as the server itself.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, request: bytes) -> tuple[int, dict[str, Any]]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port), 10)
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, json.loads(await self.reader.readexactly(length))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def encode_request(body: bytes) -> bytes:
    return (b"POST /telegram/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"X-Telegram-Bot-Api-Secret-Token: " + SECRET.encode() + b"\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)


async def send_all(port: int, requests: list[dict[str, Any]], clients: int, on_half: Any) -> dict[str, Any]:
    """Send every request until it is answered 200; return counts and timings."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(encode_request(json.dumps(request).encode()))
    counts = {"acknowledged": 0, "stored": 0, "duplicates": 0, "retries": 0}
    half = len(requests) // 2
    restart: dict[str, float] = {}

    async def client() -> None:
        connection = Connection(port)
        while True:
            try:
                request = queue.get_nowait()
            except asyncio.QueueEmpty:
                connection.close()
                return
            while True:
                try:
                    status, answer = await connection.post(request)
                except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                    connection.close()
                    status, answer = 0, {}
                if status == 200:
                    break
                counts["retries"] += 1
                await asyncio.sleep(0.05)
            counts["acknowledged"] += 1
            counts["stored" if answer["stored"] else "duplicates"] += 1
            if counts["acknowledged"] == half:
                started = time.perf_counter()
                await asyncio.get_running_loop().run_in_executor(None, on_half)
                restart["seconds"] = time.perf_counter() - started

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {**counts, "seconds": elapsed, "restart_seconds": restart.get("seconds", 0.0)}


def run_load(workspace_dir: Path, updates: int = 20_000, clients: int = 50, duplicates: float = 0.1,
             restart: bool = True, seed: int = 7, server_kind: str = "httptools") -> dict[str, Any]:
    """Run the load test in a fresh workspace and check that every update is stored exactly once."""
    from tgportrait.collect.inbox import inbox_stats, stored_updates
    from tgportrait.workspace import Workspace

    if workspace_dir.exists() and any(workspace_dir.iterdir()):
        if not (workspace_dir / "tgportrait.toml").exists():
            raise SystemExit(f"{workspace_dir} is not empty and not a tgportrait workspace; choose another --workspace")
        shutil.rmtree(workspace_dir)     # a fresh inbox: otherwise every update would answer "already stored"
    Workspace.init(workspace_dir, "beauty").close()
    unique = make_updates(updates, seed)
    rng = random.Random(seed)
    requests = unique + rng.sample(unique, int(updates * duplicates))
    rng.shuffle(requests)
    server = Server(workspace_dir, free_port(), server_kind)
    server.start()

    def restart_server() -> None:
        if restart:
            server.kill()
            server.start()

    try:
        result = asyncio.run(send_all(server.port, requests, clients, restart_server))
    finally:
        server.stop()
    workspace = Workspace.open(workspace_dir)
    stats = inbox_stats(workspace.state)
    stored_ids = [update["update_id"] for update in stored_updates(workspace.state)]
    workspace.close()
    serving = result["seconds"] - result["restart_seconds"]
    return {
        "server": server_kind, "updates": updates, "requests": len(requests), "clients": clients, "restarted": restart,
        "acknowledged": result["acknowledged"], "answered_stored": result["stored"],
        "answered_duplicate": result["duplicates"], "client_retries": result["retries"],
        "inbox_updates": stats["updates"], "inbox_by_kind": stats["by_kind"],
        "exactly_once": sorted(stored_ids) == sorted(u["update_id"] for u in unique),
        "seconds": round(result["seconds"], 2), "restart_seconds": round(result["restart_seconds"], 2),
        "requests_per_second": round(len(requests) / serving, 1),
        "requests_per_second_wall": round(len(requests) / result["seconds"], 1),
        "updates_per_second": round(updates / serving, 1),
        "updates_per_second_wall": round(updates / result["seconds"], 1),
        "server_cpu_seconds": round(server.cpu_seconds, 2),
        "requests_per_server_cpu_second": round(len(requests) / server.cpu_seconds, 1) if server.cpu_seconds else None,
        "updates_per_server_cpu_second": round(updates / server.cpu_seconds, 1) if server.cpu_seconds else None,
        "load_average_1min": round(os.getloadavg()[0], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duplicates", type=float, default=0.1)
    parser.add_argument("--no-restart", action="store_true")
    parser.add_argument("--workspace", type=Path, default=Path("bench-webhook-workspace"))
    parser.add_argument("--server", choices=sorted(SERVER_PROGRAMS), default="httptools",
                        help="httptools: tgportrait serve as shipped; h11: uvicorn's pure-Python parser, asyncio loop")
    arguments = parser.parse_args()
    report = run_load(arguments.workspace.resolve(), arguments.updates, arguments.clients, arguments.duplicates,
                      not arguments.no_restart, server_kind=arguments.server)
    print(json.dumps(report, indent=2))
    if not report["exactly_once"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
