"""GPU benchmark of the default answer model: time to first token and decode speed of GLM-4-9B at bf16
with a 3,000-token context (the size of a grounded prompt: five passages, history and the question).

    .venv/bin/python -m bench.bench_glm_gpu [--model THUDM/glm-4-9b-chat-hf] [--context 3000] [--new-tokens 256]
    .venv/bin/python -m bench.bench_glm_gpu --tiny      # a 2-layer model of the same type on the CPU, in seconds

The model's weights are used when they can be had (a local folder, the Hugging Face cache, or a download);
otherwise the same architecture is built from its config (``glm-4-9b-chat-hf.config.json`` beside this
script) with random weights: speed does not depend on the weights. The prompt is random token ids, and every
run generates exactly ``--new-tokens`` tokens (end of sequence is switched off). Time to first token is the
prefill plus the first decoded token; decode speed counts the tokens after the first. Figures are printed
and written as JSON to bench/results/glm_gpu.json (glm_gpu_tiny.json with --tiny; --out to choose).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, GlmConfig
from transformers.generation.streamers import BaseStreamer

from bookqa.answering.backends.transformers_backend import pick_device, resolve_model
from bookqa.errors import ModelError

log = logging.getLogger("bench.glm_gpu")

CONFIG = Path(__file__).resolve().parent / "glm-4-9b-chat-hf.config.json"
RESULTS = Path(__file__).resolve().parent / "results"
TINY = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16)
"""The --tiny shape: GLM-4-9B's config with these values (its vocabulary and rotary settings kept)."""


class _Clock(BaseStreamer):
    """Records when each generated token arrives (the first ``put`` is the prompt and is skipped)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.times: list[float] = []
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.times.append(time.perf_counter())

    def end(self) -> None:
        pass


def load_model(name: str, tiny: bool, device: torch.device, dtype: torch.dtype) -> tuple[Any, str]:
    """The model to time, with end of sequence switched off, and where its weights came from
    (``pretrained`` or ``random``)."""
    model, weights = None, "random"
    if not tiny:
        try:
            source, local_only = resolve_model(name)
            model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, device_map=str(device), local_files_only=local_only)
            weights = "pretrained"
        except (ModelError, OSError, ValueError) as error:
            log.warning("No weights for %s (%s): timing the same architecture with random weights.", name, error)
    if model is None:
        values = json.loads(CONFIG.read_text())
        if tiny:
            values.update(TINY)
        with torch.device(device):
            model = AutoModelForCausalLM.from_config(GlmConfig(**values), dtype=dtype)
    model.generation_config.eos_token_id = None  # every run generates exactly the tokens asked for
    return model.eval(), weights


def time_one(model: Any, prompt: torch.Tensor, new_tokens: int, device: torch.device) -> tuple[float, float]:
    """(seconds to the first token, decode tokens per second after it) of one greedy generation."""
    clock = _Clock(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    model.generate(
        input_ids=prompt,
        attention_mask=torch.ones_like(prompt),
        max_new_tokens=new_tokens,
        do_sample=False,
        temperature=None,
        top_p=None,
        top_k=None,
        streamer=clock,
        pad_token_id=0,
    )
    if len(clock.times) != new_tokens:
        raise RuntimeError(f"expected {new_tokens} tokens, timed {len(clock.times)}")
    first = clock.times[0] - started
    decode = (new_tokens - 1) / (clock.times[-1] - clock.times[0]) if new_tokens > 1 else float("nan")
    return first, decode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="THUDM/glm-4-9b-chat-hf", help="model id or folder (default: %(default)s)")
    parser.add_argument("--context", type=int, default=3000, help="prompt tokens (default: %(default)s)")
    parser.add_argument("--new-tokens", type=int, default=256, help="tokens generated per run (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs after one warm-up (default: %(default)s)")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, ... (default: %(default)s)")
    parser.add_argument("--tiny", action="store_true", help="a 2-layer, 64-wide model on the CPU with 32 new tokens: proves the script runs")
    parser.add_argument("--out", type=Path, help="JSON file for the figures (default: bench/results/glm_gpu[_tiny].json)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if min(args.context, args.new_tokens, args.runs) < 1:
        parser.error("--context, --new-tokens and --runs must be at least 1")

    device = torch.device("cpu") if args.tiny and args.device == "auto" else pick_device(args.device)
    new_tokens = min(args.new_tokens, 32) if args.tiny else args.new_tokens
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    if device.type != "cuda" and not args.tiny:
        log.warning("No CUDA GPU: a full-size 9B model on %s takes very long; use --tiny to check the script.", device)
    started = time.perf_counter()
    model, weights = load_model(args.model, args.tiny, device, dtype)
    load_s = time.perf_counter() - started
    vocab = model.config.vocab_size
    generator = torch.Generator().manual_seed(0)
    prompt = torch.randint(1000, vocab - 1000, (1, args.context), generator=generator).to(device)

    time_one(model, prompt[:, : min(args.context, 256)], 4, device)  # warm-up: kernels, allocator
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    runs = [time_one(model, prompt, new_tokens, device) for _ in range(args.runs)]
    firsts, decodes = [r[0] for r in runs], [r[1] for r in runs]
    result = {
        "model": args.model if not args.tiny else f"{args.model} (tiny: {TINY})",
        "weights": weights,
        "parameters_b": round(sum(p.numel() for p in model.parameters()) / 1e9, 3),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else str(device),
        "dtype": str(dtype).removeprefix("torch."),
        "attention": getattr(model.config, "_attn_implementation", None),
        "context_tokens": args.context,
        "new_tokens": new_tokens,
        "runs": args.runs,
        "load_s": round(load_s, 1),
        "first_token_s": round(statistics.median(firsts), 4),
        "first_token_s_all": [round(x, 4) for x in firsts],
        "decode_tokens_per_s": round(statistics.median(decodes), 1),
        "decode_tokens_per_s_all": [round(x, 1) for x in decodes],
        "peak_gpu_memory_gb": round(torch.cuda.max_memory_allocated(device) / 2**30, 2) if device.type == "cuda" else None,
        "torch": torch.__version__,
    }
    out = args.out or RESULTS / ("glm_gpu_tiny.json" if args.tiny else "glm_gpu.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
