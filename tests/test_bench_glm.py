"""The GPU benchmark script runs end to end on the CPU with --tiny (random weights, same architecture)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_glm_gpu_tiny_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "glm.json"
    command = [sys.executable, "-m", "bench.bench_glm_gpu", "--tiny", "--context", "300", "--runs", "1", "--out", str(out)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=300)
    result = json.loads(out.read_text())
    assert result["weights"] == "random" and result["device"] == "cpu"
    assert (result["context_tokens"], result["new_tokens"], result["runs"]) == (300, 32, 1)
    assert result["first_token_s"] > 0 and result["decode_tokens_per_s"] > 0


def test_the_config_beside_the_script_is_glm_4_9b_chat_hf() -> None:
    config = json.loads((ROOT / "bench" / "glm-4-9b-chat-hf.config.json").read_text())
    assert config["model_type"] == "glm" and config["architectures"] == ["GlmForCausalLM"]
    assert (config["hidden_size"], config["num_hidden_layers"], config["num_key_value_heads"], config["vocab_size"]) == (4096, 40, 2, 151552)
