"""The GPU variant: a randomly initialised model with Qwen2-0.5B's shapes (weights do not matter for speed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

QWEN2_05B: dict[str, Any] = {
    "hidden_size": 896,
    "intermediate_size": 4864,
    "num_hidden_layers": 24,
    "num_attention_heads": 14,
    "num_key_value_heads": 2,
    "vocab_size": 151936,
    "max_position_embeddings": 4096,
    "rope_theta": 1_000_000.0,
    "rms_norm_eps": 1e-6,
    "tie_word_embeddings": True,
}


def build_qwen2(path: Path, tokenizer_from: Path, *, device: str = "cpu", **sizes: Any) -> tuple[Path, int]:
    """Save a random Qwen2 causal LM (QWEN2_05B shapes unless overridden) with another model's tokenizer.

    The vocabulary stays at Qwen2's size so the output layer costs what it costs in the real model;
    the borrowed tokenizer only ever produces ids below it. Returns the folder and the parameter count.
    """
    import torch
    from transformers import AutoTokenizer, GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    tok = AutoTokenizer.from_pretrained(tokenizer_from)
    shape = {**QWEN2_05B, **sizes}
    if shape["vocab_size"] < len(tok):
        raise ValueError(f"vocab_size {shape['vocab_size']} is smaller than the tokenizer's {len(tok)} tokens")
    config = Qwen2Config(**shape, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, do_sample=False)
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    path.mkdir(parents=True, exist_ok=True)
    model.to(dtype).save_pretrained(str(path), safe_serialization=True)
    tok.save_pretrained(str(path))
    return path, sum(p.numel() for p in model.parameters())


def cuda_device() -> str | None:
    """'cuda' when torch sees a GPU, else None."""
    import torch

    return "cuda" if torch.cuda.is_available() else None
