"""openai: fleets on loopback: a bare async client vs llmeval on one server, two servers, and a slow replica.

Each server is a real HTTP server on loopback that answers at most `--slots` requests at once, each after
`--service-ms` (a replica's capacity); one may be `--slow`x slower. Every row sends the same `--requests`
completions at the same `--concurrency`, in this one process, side by side, so the ratios compare like
with like on a shared machine (absolute times are not the point).

Run: .venv/bin/python bench/fleet_bench.py [--requests 200] [--concurrency 16] [--slots 4] [--service-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llmeval.backends import GenerationConfig, Request  # noqa: E402
from llmeval.backends.openai import OpenAIBackend  # noqa: E402

BODY = json.dumps({"choices": [{"text": " ok", "finish_reason": "stop"}], "usage": {"prompt_tokens": 3, "completion_tokens": 1}})


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default backlog of 5 resets connections when 16 open at once
    daemon_threads = True


class Replica:
    """A loopback server with `slots` concurrent answers, each taking `service_s`."""

    def __init__(self, slots: int, service_s: float) -> None:
        gate, served = threading.BoundedSemaphore(slots), [0]

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length", 0)))
                with gate:
                    time.sleep(service_s)
                    served[0] += 1
                data = BODY.encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return None

        self.served = served
        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


async def _bare(url: str, n: int, concurrency: int) -> None:
    """What a hand-written client does: one httpx.AsyncClient, a semaphore, POST each request once."""
    import httpx

    gate = asyncio.Semaphore(concurrency)
    pool = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=pool) as client:

        async def one(i: int) -> None:
            async with gate:
                body = {"model": "m", "prompt": f"q{i}", "max_tokens": 1, "temperature": 0.0}
                (await client.post(f"{url}/completions", json=body)).json()["choices"][0]["text"]

        await asyncio.gather(*(one(i) for i in range(n)))


def _llmeval(urls: list[str], n: int, concurrency: int, **options: Any) -> int:
    backend = OpenAIBackend(f"{','.join(urls)}#m", concurrency=concurrency, **options)
    errors: list[str] = []
    requests = [Request(f"q{i}", None, GenerationConfig(max_new_tokens=1)) for i in range(n)]
    backend.generate(requests, lambda i, g: errors.append(g.error) if g.error else None)
    return len(errors)


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--slots", type=int, default=4)
    p.add_argument("--service-ms", type=float, default=50.0)
    p.add_argument("--slow", type=float, default=4.0, help="how much slower the slow replica is")
    args = p.parse_args()
    n, c, service = args.requests, args.concurrency, args.service_ms / 1000
    a, b = Replica(args.slots, service), Replica(args.slots, service)
    slow = Replica(args.slots, service * args.slow)
    rows: list[tuple[str, float, str]] = []
    try:
        asyncio.run(_bare(a.url, c, c))  # warm up: imports and first connections stay out of every row
        _llmeval([a.url], c, c)
        rows.append(("bare httpx client, 1 server", _timed(lambda: asyncio.run(_bare(a.url, n, c))), ""))
        rows.append(("llmeval openai:, 1 server", _timed(lambda: _llmeval([a.url], n, c)), ""))
        rows.append(("llmeval openai:, 2 servers (least-outstanding)", _timed(lambda: _llmeval([a.url, b.url], n, c)), ""))
        for balance in ("round-robin", "least-outstanding"):
            before = slow.served[0]
            seconds = _timed(lambda balance=balance: _llmeval([a.url, slow.url], n, c, balance=balance))
            rows.append(
                (
                    f"llmeval openai:, 1 server + 1 {args.slow:g}x slower ({balance})",
                    seconds,
                    f"{slow.served[0] - before} of {n} to the slow one",
                )
            )
    finally:
        for server in (a, b, slow):
            server.close()
    base = rows[0][1]
    print(f"{n} requests, concurrency {c}, each server {args.slots} slots x {args.service_ms:g} ms")
    print("| run | seconds | requests/s | time vs bare client | note |\n|---|---|---|---|---|")
    for name, seconds, note in rows:
        print(f"| {name} | {seconds:.2f} | {n / seconds:.0f} | {seconds / base:.2f}x | {note} |")


if __name__ == "__main__":
    main()
