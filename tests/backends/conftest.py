"""Servers on loopback: `transformers serve` on the tiny model, and a scripted fault-injecting server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests._servers import free_port, stop, wait_healthy

SERVER_START_TIMEOUT_S = 90.0


def serve_command(model: Path, port: int) -> list[str]:
    """`transformers serve <local model folder> --device cpu --host 127.0.0.1 --port <port>`."""
    cli = Path(sys.executable).with_name("transformers")
    return [str(cli), "serve", str(model), "--device", "cpu", "--host", "127.0.0.1", "--port", str(port)]


def _wait_until_healthy(process: subprocess.Popen, url: str, log: Path) -> None:
    failure = wait_healthy(process, url, log, name="transformers serve", timeout_s=SERVER_START_TIMEOUT_S)
    if failure:
        pytest.fail(failure)


@pytest.fixture
def refused_url() -> str:
    """A /v1 base URL on a loopback port nobody listens on."""
    return f"http://127.0.0.1:{free_port()}/v1"


@dataclass(frozen=True)
class ServedModel:
    """A running `transformers serve`: its /v1 base URL, the model name it answers to, the local folder."""

    base_url: str
    name: str
    path: Path


@pytest.fixture(scope="session")
def served_model(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedModel]:
    """`transformers serve` pinned to the tiny model, once per session; killed at teardown."""
    work = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "HF_HUB_CACHE": str(work / "hub")}
    (work / "hub").mkdir()  # /v1/models scans the hub cache and fails with 500 when it is missing
    log = work / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(serve_command(tiny_model, port), stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(process, url, log)
        yield ServedModel(f"{url}/v1", str(tiny_model), tiny_model)
    finally:
        stop(process)


@dataclass
class Reply:
    """One scripted answer: status, JSON body, headers and a delay before answering."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def completion(text: str, **usage: int) -> dict[str, Any]:
    body: dict[str, Any] = {"choices": [{"text": text, "index": 0, "finish_reason": "stop"}]}
    if usage:
        body["usage"] = usage
    return body


class FaultServer:
    """Answers POSTs from a script of Replies (the last one repeats); records what it was sent and when.

    Each `seen` entry holds the path, headers, body and `at`: time.monotonic() when the request arrived.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.script: list[Reply] = []
        self.seen: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((host, 0), _handler(self))
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://{host}:{self.port}/v1"

    @staticmethod
    def ok(text: str, **usage: int) -> Reply:
        """A 200 completion answering `text`, with `usage` counts if given."""
        return Reply(200, completion(text, **usage))

    @staticmethod
    def fail(status: int, body: Any = None, headers: dict[str, str] | None = None, delay_s: float = 0.0) -> Reply:
        return Reply(status, body if body is not None else {"error": {"message": f"status {status}"}}, headers or {}, delay_s)

    def next_reply(self, body: dict[str, Any]) -> Reply:
        """Pick the scripted reply; a body asking for `prompt` 'delay:<s>' waits that long before answering."""
        with self.lock:
            reply = self.script.pop(0) if len(self.script) > 1 else self.script[0]
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        prompt = str(body.get("prompt", ""))
        if prompt.startswith("delay:"):
            reply = Reply(200, completion(prompt), delay_s=float(prompt.split(":")[1]))
        return reply

    def done(self) -> None:
        with self.lock:
            self.in_flight -= 1


def _handler(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            raw = self.rfile.read(int(self.headers.get("content-length", 0)))
            body = json.loads(raw or b"{}")
            arrived = time.monotonic()
            server.seen.append({"path": self.path, "headers": dict(self.headers), "body": body, "at": arrived})
            reply = server.next_reply(body)
            finished = False
            try:
                time.sleep(reply.delay_s)
                data = json.dumps(reply.body if reply.body is not None else {}).encode()
                self.send_response(reply.status)
                for name, value in {"content-type": "application/json", **reply.headers}.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                # no longer in flight before the client can have the answer (and send its next request)
                server.done()
                finished = True
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)
            finally:
                if not finished:
                    server.done()

        def log_message(self, *args: Any) -> None:
            return None

    return Handler


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    server = FaultServer()
    thread = threading.Thread(target=server.httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


@pytest.fixture
def fault_servers() -> Iterator[Any]:
    """A factory of running FaultServers (`make(host="127.0.0.1")`), all shut down at teardown: a fleet."""
    made: list[FaultServer] = []

    def make(host: str = "127.0.0.1") -> FaultServer:
        server = FaultServer(host=host)
        threading.Thread(target=server.httpd.serve_forever, args=(0.05,), daemon=True).start()
        made.append(server)
        return server

    yield make
    for server in made:
        server.httpd.shutdown()
        server.httpd.server_close()


class RawServer:
    """A plain asyncio TCP server on a daemon thread.

    `trickle`: sends headers, then one byte every `every_s`; `silent`: reads the request, never answers.
    """

    def __init__(self, mode: str, host: str = "127.0.0.1", every_s: float = 0.2) -> None:
        import asyncio

        self.mode, self.every_s, self.connections = mode, every_s, 0
        self.loop = asyncio.new_event_loop()
        self.server = self.loop.run_until_complete(asyncio.start_server(self._serve, host, 0))
        self.base_url = f"http://{host}:{self.server.sockets[0].getsockname()[1]}/v1"
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    async def _serve(self, reader: Any, writer: Any) -> None:
        import asyncio

        self.connections += 1
        await reader.readuntil(b"\r\n\r\n")
        try:
            if self.mode == "trickle":
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n")
                while True:
                    writer.write(b" ")
                    await writer.drain()
                    await asyncio.sleep(self.every_s)
            await asyncio.sleep(3600)
        except (ConnectionError, asyncio.CancelledError):
            writer.close()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)


@pytest.fixture
def raw_server() -> Iterator[Any]:
    made: list[RawServer] = []

    def make(mode: str, **options: Any) -> RawServer:
        made.append(RawServer(mode, **options))
        return made[-1]

    yield make
    for server in made:
        server.close()


def _non_loopback_ip() -> str | None:
    """This machine's address on a non-loopback interface (reachable from itself), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            ip = sock.getsockname()[0]
        except OSError:
            return None
    return None if ip.startswith("127.") else ip


@pytest.fixture
def non_loopback_server() -> Iterator[tuple[FaultServer, str]]:
    """A FaultServer bound to a non-loopback address of this machine, and that address."""
    ip = _non_loopback_ip()
    if ip is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    server = FaultServer(host=ip)
    thread = threading.Thread(target=server.httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server, ip
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
