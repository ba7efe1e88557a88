"""Prometheus: the textfile parsed back by the official client's parser; a push to a Pushgateway-like loopback server."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client.parser import text_string_to_metric_families

from llmeval.config import Settings
from llmeval.errors import LlmevalError
from llmeval.ops.export import export_run
from tests.ops.helpers import run


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(text) for s in f.samples}


def _check(samples):
    labels = (("metric", "rougeL"), ("model", "m"), ("suite", "qa"))
    assert samples[("llmeval_metric_value", labels)] == pytest.approx(0.75)
    assert samples[("llmeval_metric_interval_low", labels)] < 0.75 < samples[("llmeval_metric_interval_high", labels)]
    assert samples[("llmeval_metric_outputs", labels)] == 40
    gate = (("gate", "rougeL-mean"), ("metric", "rougeL"), ("model", "m"), ("suite", "qa"))
    assert samples[("llmeval_gate_passed", gate)] == 1 and samples[("llmeval_gate_value", gate)] == pytest.approx(0.8)
    assert samples[("llmeval_verdict_passed", ())] == 1
    assert samples[("llmeval_latency_seconds", (("model", "m"), ("quantile", "0.95"), ("suite", "qa")))] > 0.5
    assert samples[("llmeval_tokens", (("model", "m"), ("suite", "qa")))] == 40 * 15
    assert samples[("llmeval_cost", (("model", "m"), ("suite", "qa")))] == pytest.approx(40 * 15 / 1000 * 0.5)


def test_the_textfile_parses_with_the_official_parser_and_is_replaced_whole(tmp_path):
    cases, gates, verdict, manifest = run("r1", 0.8)
    settings = Settings(prometheus="out/llmeval.prom", cost_per_1k=0.5)
    written = export_run(settings, tmp_path, cases, gates, verdict, manifest, [])
    assert written == [("Prometheus textfile", tmp_path / "out/llmeval.prom")]
    _check(_samples((tmp_path / "out/llmeval.prom").read_text()))
    export_run(settings, tmp_path, cases, gates, verdict, manifest, [])  # written again: no temp file left beside it
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["llmeval.prom"]


class _Gateway(BaseHTTPRequestHandler):
    received: list[tuple[str, str, str]] = []

    def _store(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        self.received.append((self.command, self.path, body))
        self.send_response(200)
        self.end_headers()

    do_PUT = do_POST = _store

    def log_message(self, *args) -> None:
        pass


def test_push_to_a_pushgateway_on_loopback(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        cases, gates, verdict, manifest = run("r1", 0.8)
        url = f"http://127.0.0.1:{server.server_port}"
        written = export_run(Settings(pushgateway=url, cost_per_1k=0.5), tmp_path, cases, gates, verdict, manifest, [])
    finally:
        server.shutdown()
        server.server_close()
    assert written[0][0] == "Pushgateway push"
    [(method, path, body)] = _Gateway.received
    assert (method, path) == ("PUT", "/metrics/job/llmeval")
    _check(_samples(body))


def test_a_refused_push_is_an_error_naming_the_option_and_the_other_exports_still_run(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    port = server.server_port
    server.server_close()  # nothing listens there now
    cases, gates, verdict, manifest = run("r1", 0.8)
    settings = Settings(pushgateway=f"http://127.0.0.1:{port}", history="h.sqlite")
    with pytest.raises(LlmevalError, match=f"--llmeval-pushgateway http://127.0.0.1:{port}: the push failed"):
        export_run(settings, tmp_path, cases, gates, verdict, manifest, [])
    errors: list[str] = []
    written = export_run(
        Settings(pushgateway=f"http://127.0.0.1:{port}", history="h2.sqlite"),
        tmp_path,
        cases,
        gates,
        verdict,
        manifest,
        [],
        on_error=errors.append,
    )
    assert written == [("history", tmp_path / "h2.sqlite")] and len(errors) == 1
