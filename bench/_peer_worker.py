"""One contender of bench/peers_bench.py in a fresh process: load the model (timed apart), generate every prompt.

Run by the bench with the interpreter of the contender's own venv, so it imports only the standard library at
the top; torch, transformers, lm_eval or llmeval load inside the kind that needs them. Writes JSON to OUT:
load_s, gen_s, gen_cpu_s (CPU seconds of this process while generating), texts, and the kind's own extras.

    python bench/_peer_worker.py {naive,llmeval,lm-eval} MODEL PROMPTS.json OUT.json --tokens 48 --threads 1
                                 [--batch-size auto|N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def naive(model: Path, prompts: list[str], tokens: int, batch_size: int | str) -> dict[str, Any]:
    """One `generate` per prompt, the loop a hand-written test per case runs (bench/_measure.py)."""
    import _measure

    return _measure.naive_loop(model, prompts, tokens)


def llmeval_plan(model: Path, prompts: list[str], tokens: int, batch_size: int | str) -> dict[str, Any]:
    """llmeval's engine in-process (HFBackend + GenerationPlan, cache off), this checkout's llmeval."""
    import _measure

    with tempfile.TemporaryDirectory(prefix="llmeval-peer-plan-") as tmp:
        return _measure.plan_run(model, prompts, tokens, Path(tmp), mode="off", batch_size=batch_size)


def lm_eval(model: Path, prompts: list[str], tokens: int, batch_size: int | str) -> dict[str, Any]:
    """lm-evaluation-harness's HF backend: `HFLM(...)` then one `generate_until` call over every request.

    Greedy (`do_sample=False`), `max_gen_toks` = tokens, `until` empty (lm-eval adds the EOS string itself),
    float32 on CPU and no BOS token added, as llmeval encodes prompts (`add_special_tokens=False`). With
    `batch_size="auto"` lm-eval first probes the largest batch that runs (5 forward passes at its
    max_batch_size x the model's max length); that probe is inside generate_until and timed apart as detect_s.
    """
    started = time.perf_counter()
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    lm = HFLM(pretrained=str(model), device="cpu", dtype="float32", batch_size=batch_size, max_batch_size=64, add_bos_token=False)
    load_s = time.perf_counter() - started
    detect: dict[str, Any] = {}
    probe = lm._detect_batch_size

    def timed_probe(*args: Any, **kwargs: Any) -> Any:
        begun = time.perf_counter()
        size = probe(*args, **kwargs)
        detect.update(detect_s=time.perf_counter() - begun, detected_batch=size)
        return size

    lm._detect_batch_size = timed_probe  # type: ignore[method-assign]
    gen = {"until": [], "max_gen_toks": tokens, "do_sample": False}
    requests = [Instance(request_type="generate_until", doc={}, arguments=(p, dict(gen)), idx=i) for i, p in enumerate(prompts)]
    started, cpu = time.perf_counter(), time.process_time()
    texts = lm.generate_until(requests, disable_tqdm=True)
    gen_s, gen_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    return {"load_s": load_s, "gen_s": gen_s, "gen_cpu_s": gen_cpu_s, "texts": [t.strip() for t in texts], **detect}


KINDS = {"naive": naive, "llmeval": llmeval_plan, "lm-eval": lm_eval}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=sorted(KINDS))
    parser.add_argument("model", type=Path)
    parser.add_argument("prompts", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--tokens", type=int, default=48)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", default="auto")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    batch: int | str = int(args.batch_size) if args.batch_size.isdigit() else args.batch_size
    import torch

    torch.set_num_threads(args.threads)  # the same count for every contender (the bench also sets OMP_NUM_THREADS)
    prompts = json.loads(args.prompts.read_text(encoding="utf-8"))
    figures = KINDS[args.kind](args.model, prompts, args.tokens, batch)
    figures["torch_threads"] = torch.get_num_threads()
    args.out.write_text(json.dumps(figures), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
