"""The controller's share of redaction under xdist: workers' payloads carry each found value once, and the
controller masks with the union (re-spaced, cut-off and secret forms included) without a detection pass."""

from __future__ import annotations

from llmeval.core.redaction import RunRedaction, worker_payload
from llmeval.core.redactor import Redactor
from llmeval.records import from_json

KEY = "sk-live-0123456789abcdefXYZ"


def test_each_found_value_travels_once_and_masks_on_the_controller():
    worker, sent = Redactor(pii=True, secrets=[KEY]), [0, 0]
    worker.learn([("CREDIT_CARD", "4111 1111 1111 1111")])
    first = worker_payload(worker, sent)
    assert first == {"values": [["CREDIT_CARD", "4111 1111 1111 1111"]], "secrets": [KEY]}
    assert worker_payload(worker, sent) is None  # nothing new
    worker.learn([("CREDIT_CARD", "4111 1111 1111 1111"), ("PERSON", "Margaret Thompson")])
    assert worker_payload(worker, sent) == {"values": [["PERSON", "Margaret Thompson"]], "secrets": []}

    controller = RunRedaction(pii=True)
    controller.learn(first)
    controller.learn({"values": [["PERSON", "Margaret Thompson"]], "secrets": []})
    text = f"card 41 11 11 11-1111-1111, THOMPSON, key {KEY[3:15]}"
    assert controller.redactor.mask_text(text) == "card <CREDIT_CARD>, <PERSON>, key <SECRET>"


def test_records_are_rebuilt_masked_and_ids_follow_the_serial_rules():
    controller = RunRedaction(pii=False)
    controller.learn({"values": [], "secrets": [KEY]})
    record = from_json(
        {
            "kind": "gate",
            "suite": "s",
            "gate": "g",
            "model": "m",
            "metric": "contains",
            "stat": "mean",
            "value": 0.0,
            "passed": False,
            "status": "failed",
            "message": f"saw {KEY}",
            "n": 1,
        }
    )
    (masked,) = controller.records([record])
    assert masked.message == "saw <SECRET>" and masked.gate == "g"
