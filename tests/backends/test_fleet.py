"""openai: fleets — several base URLs for one model, balancing, failover, rate limits — on loopback servers."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from llmeval.backends import GenerationConfig, Request, allowed_from_specs
from llmeval.backends.fleet import BENCH_AFTER
from llmeval.backends.openai import OpenAIBackend
from llmeval.errors import BackendError
from tests.backends.test_openai import PROMPTS, SECRET, run

GREEDY = GenerationConfig(max_new_tokens=8)
ONE_TOKEN = GenerationConfig(max_new_tokens=1)


@pytest.fixture(autouse=True)
def no_ambient_key(monkeypatch):
    for name in ("OPENAI_API_KEY", "LLMEVAL_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def fleet(*urls: str, model: str = "m", **options) -> OpenAIBackend:
    return OpenAIBackend(f"{','.join(urls)}#{model}", **{"backoff": 0.01, **options})


def answering(server, text: str, delay_s: float = 0.0, **usage: int):
    """Script `server` to answer every request with `text` (and `usage`), after `delay_s`."""
    body = {**server.ok(text, **usage).body}
    server.script = [server.fail(200, body=body, delay_s=delay_s)]
    return server


def requests(n: int, config: GenerationConfig = GREEDY) -> list[Request]:
    return [Request(f"q{i}", None, config) for i in range(n)]


# -- the spec, the identity, the key policy ---------------------------------------------------------------------


def test_a_spec_names_several_base_urls():
    backend = OpenAIBackend("http://127.0.0.1:8001/v1/, http://127.0.0.1:8002/v1#bot")
    assert backend.base_urls == ["http://127.0.0.1:8001/v1", "http://127.0.0.1:8002/v1"]
    assert (backend.base_url, backend.model, len(backend.fleet)) == ("http://127.0.0.1:8001/v1", "bot", 2)


@pytest.mark.parametrize(
    "target, says",
    [
        ("http://127.0.0.1:8001/v1,ftp://h/v1#m", "needs an http(s) base URL"),
        (",#m", "needs an http(s) base URL"),
        ("http://a/v1,http://b/v1", "needs the model name after '#'"),
    ],
)
def test_a_bad_fleet_spec_says_how_to_write_it(target, says):
    with pytest.raises(BackendError, match=re.escape(says)):
        OpenAIBackend(target)


def test_identity_is_the_url_set_unless_an_id_is_declared():
    a, b = "http://10.0.0.1:8000/v1", "http://10.0.0.2:8000/v1"
    single = fleet(a)
    assert single.identity() == f"openai|{a}#m"  # one URL: as before, so existing caches still hit
    assert fleet(a, b).identity() == fleet(b, a, a).identity() != single.identity()
    assert fleet(a, b).identity() != fleet(a, b, model="other").identity()
    declared = fleet(a, b, model_ids=["m=bot-2024-06"])
    assert declared.identity() == fleet(b, model_ids=["m=bot-2024-06"]).identity() == "openai|id=bot-2024-06#m"
    assert fleet(a, b, model="n", model_ids=["m=bot-2024-06"]).identity() == fleet(a, b, model="n").identity()
    with pytest.raises(BackendError, match="must be NAME=ID"):
        fleet(a, model_ids=["bot-2024-06"])


def test_unknown_balance_is_refused():
    with pytest.raises(BackendError, match="balance must be one of least-outstanding, round-robin"):
        fleet("http://127.0.0.1:1/v1", balance="random")


def test_the_key_policy_holds_for_every_url(non_loopback_server, monkeypatch):
    server, ip = non_loopback_server
    monkeypatch.setenv("LLMEVAL_API_KEY", SECRET)
    with pytest.raises(BackendError, match=f"withholding the API key in \\$LLMEVAL_API_KEY: {ip} is not an allowed host"):
        fleet("http://127.0.0.1:9/v1", server.base_url)
    assert not server.seen
    spec = f"openai:http://127.0.0.1:9/v1,{server.base_url}#m"
    assert allowed_from_specs([spec]) == ["http://127.0.0.1", f"http://{ip}"]
    assert fleet("http://127.0.0.1:9/v1", server.base_url, allow_hosts=allowed_from_specs([spec])).secrets() == [SECRET]


def test_each_url_gets_the_key_of_its_host(fault_servers, monkeypatch):
    one, two = answering(fault_servers("127.0.0.1"), "a"), answering(fault_servers("127.0.0.2"), "b")
    monkeypatch.setenv("KEY_ONE", "sk-one")
    monkeypatch.setenv("KEY_TWO", "sk-two")
    backend = fleet(one.base_url, two.base_url, api_key_env=["127.0.0.1=KEY_ONE", "127.0.0.2=KEY_TWO"])
    run(backend, requests(4))
    assert {s["headers"]["Authorization"] for s in one.seen} == {"Bearer sk-one"}
    assert {s["headers"]["Authorization"] for s in two.seen} == {"Bearer sk-two"}
    assert backend.secrets() == ["sk-one", "sk-two"]


# -- balancing ------------------------------------------------------------------------------------------------------


def test_round_robin_takes_the_servers_in_turn(fault_servers):
    servers = [answering(fault_servers(), name) for name in ("a", "b", "c")]
    gens = run(fleet(*(s.base_url for s in servers), balance="round-robin", concurrency=1), requests(7))
    assert [g.text for g in gens] == ["a", "b", "c", "a", "b", "c", "a"]
    assert [g.meta["base_url"] for g in gens[:3]] == [s.base_url for s in servers]
    assert [len(s.seen) for s in servers] == [3, 2, 2]


def test_round_robin_ignores_load_and_least_outstanding_avoids_the_slow_server(fault_servers):
    slow, fast = answering(fault_servers(), "slow", delay_s=0.8), answering(fault_servers(), "fast")
    robin = run(fleet(slow.base_url, fast.base_url, balance="round-robin", concurrency=4), requests(12))
    assert Counter(g.text for g in robin) == {"slow": 6, "fast": 6}
    least = run(fleet(slow.base_url, fast.base_url, concurrency=4), requests(12))
    counts = Counter(g.text for g in least)
    assert counts["fast"] >= 8 and counts["slow"] + counts["fast"] == 12, counts
    assert max(s.max_in_flight for s in (slow, fast)) <= 4


def test_a_dead_url_among_live_ones_does_not_sink_the_run(fault_servers, refused_url):
    live = [answering(fault_servers(), name) for name in ("a", "b")]
    backend = fleet(refused_url, *(s.base_url for s in live), balance="round-robin", concurrency=2, retries=0)
    gens = run(backend, requests(20))
    assert all(g.error is None for g in gens), [g.error for g in gens if g.error]
    assert {g.meta["base_url"] for g in gens} == {s.base_url for s in live}
    assert sum(len(s.seen) for s in live) == 20
    dead = backend.fleet.replicas[0]
    assert dead.url == refused_url and dead.served == 0
    # benched after BENCH_AFTER refusals in a row (one more may have been on its way): later requests pass it over
    assert BENCH_AFTER <= dead.failures <= BENCH_AFTER + 1
    assert sum(g.meta["attempts"] == 2 for g in gens) == dead.failures


def test_a_failing_server_hands_its_retries_to_another(fault_servers):
    broken, good = fault_servers(), answering(fault_servers(), "ok")
    broken.script = [broken.fail(503)]
    gens = run(fleet(broken.base_url, good.base_url, balance="round-robin", concurrency=1, retries=1), requests(4))
    assert [g.text for g in gens] == ["ok"] * 4
    assert len(broken.seen) <= BENCH_AFTER and len(good.seen) == 4


def test_when_every_url_fails_the_case_errors_after_bounded_attempts(refused_url, fault_servers):
    broken = fault_servers()
    broken.script = [broken.fail(500)]
    (gen,) = run(fleet(refused_url, broken.base_url, retries=2), requests(1))
    assert gen.text == "" and ("HTTP 500" in gen.error or "cannot connect" in gen.error)
    assert gen.meta["attempts"] == 1 + 2 + 1  # retries, plus one more attempt for the second URL
    assert "after 4 attempts" in gen.error


def test_a_429_pauses_its_server_and_the_retry_goes_to_the_other_at_once(fault_servers):
    limited, other = fault_servers(), answering(fault_servers(), "other")
    limited.script = [limited.fail(429, headers={"retry-after": "30"}), limited.ok("late")]
    backend = fleet(limited.base_url, other.base_url, balance="round-robin", concurrency=1)
    first, second = run(backend, requests(2))
    assert (first.text, first.meta["attempts"], first.meta["base_url"]) == ("other", 2, other.base_url)
    assert other.seen[0]["at"] - limited.seen[0]["at"] < 5  # not the 30 s Retry-After
    assert second.text == "other" and len(limited.seen) == 1  # the paused server gets nothing during its pause


# -- rate limits, asserted on the arrival times the servers recorded ------------------------------------------------


def _arrivals(server) -> list[float]:
    return sorted(s["at"] for s in server.seen)


@pytest.mark.parametrize("concurrency", [1, 8])
def test_rpm_paces_requests_to_each_url(fault_servers, concurrency):
    servers = [answering(fault_servers(), "x"), answering(fault_servers(), "y")]
    rpm = 600  # 10 a second; a bucket holds one second's worth
    gens = run(fleet(*(s.base_url for s in servers), rpm=rpm, concurrency=concurrency), requests(30))
    assert all(g.error is None for g in gens)
    rate, capacity = rpm / 60, rpm / 60
    for server in servers:
        times = _arrivals(server)
        assert len(times) >= 10
        for k, at in enumerate(times):  # k requests went before this one: k + 1 taken from the bucket by `at`
            assert k + 1 <= capacity + rate * (at - times[0] + 0.1), (k, at - times[0])


def test_tpm_paces_tokens_by_the_servers_usage(fault_server):
    tpm, used = 1200, 6  # 20 tokens a second; each answer reports 6 tokens used, more than the estimate of 2
    answering(fault_server, "x", prompt_tokens=1, completion_tokens=used - 1)
    gens = run(fleet(fault_server.base_url, tpm=tpm, concurrency=1), [Request("p", None, ONE_TOKEN) for _ in range(8)])
    assert all(g.error is None and g.meta["token_source"] == "usage" for g in gens)
    rate, capacity = tpm / 60, tpm / 60
    times = _arrivals(fault_server)
    for k, at in enumerate(times):  # the k answers before this one were settled at their usage
        assert k * used <= capacity + rate * (at - times[0] + 0.1), (k, at - times[0])


# -- real outputs: a fleet of `transformers serve` addresses -------------------------------------------------------


def test_fleet_outputs_equal_the_single_server_and_record_who_served(served_model, refused_url):
    port_url = served_model.base_url
    aliases = [port_url, port_url.replace("127.0.0.1", "localhost"), refused_url]
    reqs = [Request(p, None, GREEDY) for p in PROMPTS] * 2
    alone = run(OpenAIBackend(f"{port_url}#{served_model.name}"), reqs)
    spread = run(OpenAIBackend(f"{','.join(aliases)}#{served_model.name}", backoff=0.01, concurrency=2), reqs)
    assert [g.text for g in spread] == [g.text for g in alone]
    assert all(g.error is None and g.meta["token_source"] == "usage" for g in spread)
    assert {g.meta["base_url"] for g in spread} == set(aliases[:2])
    assert [(g.prompt_tokens, g.completion_tokens) for g in spread] == [(g.prompt_tokens, g.completion_tokens) for g in alone]


# -- settings reach the backend ------------------------------------------------------------------------------------


def test_run_settings_reach_the_fleet(tmp_path):
    from llmeval import config as cfg
    from llmeval.core import Evaluation

    settings = cfg.Settings()
    table = {"model_ids": ["bot=bot-2024-06"], "balance": "round-robin", "rpm": "120", "tpm": 6000, "token_budget": 50}
    cfg.apply(settings, table, source="[tool.llmeval]")
    run = Evaluation(settings, tmp_path)
    try:
        backend = run.backend("openai:http://127.0.0.1:1/v1,http://127.0.0.1:2/v1#bot")
        assert isinstance(backend, OpenAIBackend) and backend.identity() == "openai|id=bot-2024-06#bot"
        limiter = backend.fleet.replicas[1].limiter
        assert backend.fleet.balance == "round-robin" and limiter.requests is not None and limiter.tokens is not None
        assert (limiter.requests.rate, limiter.tokens.rate) == (2.0, 100.0)
        assert run.plan.deadline is not None and run.plan.deadline.budget is not None
        assert run.plan.deadline.budget.total == 50 and run.plan.deadline.seconds is None
    finally:
        run.close()


@pytest.mark.parametrize(
    "table, says",
    [
        ({"balance": "random"}, "balance must be one of least-outstanding, round-robin"),
        ({"rpm": 0}, "rpm must be a positive number a minute"),
        ({"tpm": "lots"}, "tpm must be a positive number a minute"),
    ],
)
def test_bad_fleet_settings_name_their_source(table, says):
    from llmeval import config as cfg
    from llmeval.errors import LlmevalError

    with pytest.raises(LlmevalError, match=f"\\[tool.llmeval\\]: {says}"):
        cfg.apply(cfg.Settings(), table, source="[tool.llmeval]")
