"""The ONNX Runtime embedder on the real embedded model (slow tier): exported once with torch's exporter, its vectors
and token counts against torch's, and a fresh process that searches without importing torch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bookqa.config import Settings
from bookqa.index.embedders import PASSAGE, QUERY, SentenceTransformerEmbedder, load_embedder
from bookqa.index.onnx_embedder import CHECK_TEXTS, EXPORT, OnnxEmbedder
from bookqa.library.store import Library

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
TEXTS = [
    "什么是稠密连接网络？",
    "How is a residual block built?",
    "2 卷积神经网络 > 2.3 稠密连接网络（DenseNet）\nDenseNet 把残差网络中的相加换成了通道维上的连结。",
    "import torch\nfrom torch import nn\nnet = nn.Sequential(nn.Linear(4, 8), nn.ReLU())",
    "注意力 " * 300,
]


@pytest.fixture(scope="module")
def encoders(tmp_path_factory, embedded_models_dir):
    data = tmp_path_factory.mktemp("onnx-data")
    (data / "models").symlink_to(embedded_models_dir, target_is_directory=True)
    onnx = load_embedder(Settings(data_dir=data, embedding_backend="onnx"), QUERY)
    torch = load_embedder(Settings(data_dir=data, embedding_backend="torch"))
    return data, onnx, torch


def test_the_export_is_checked_against_torch_and_recorded(encoders):
    _, onnx, torch = encoders
    assert isinstance(onnx, OnnxEmbedder) and isinstance(torch, SentenceTransformerEmbedder)
    record = json.loads((onnx.folder / EXPORT).read_text(encoding="utf-8"))
    assert record["check"]["texts"] == 2 * len(CHECK_TEXTS) and record["check"]["max_abs_difference"] < 1e-4
    assert (onnx.name, onnx.dim, onnx.backend, onnx.fingerprint) == (torch.name, torch.dim, "onnx", torch.fingerprint)


@pytest.mark.parametrize("kind", [QUERY, PASSAGE])
def test_onnx_vectors_are_torchs(encoders, kind):
    _, onnx, torch = encoders
    ours, theirs = onnx.embed(TEXTS, kind), torch.embed(TEXTS, kind)
    assert ours.dtype == np.float32 and ours.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert np.abs(ours - theirs).max() < 1e-4 and (ours * theirs).sum(axis=1).min() > 0.9999
    np.testing.assert_allclose(onnx.embed(TEXTS[:1], kind)[0], ours[0], atol=1e-5)  # alone or in a batch


def test_token_counts_agree_with_torchs_tokenizer(encoders):
    _, onnx, torch = encoders
    prompt = onnx.prompt(PASSAGE)
    assert prompt == torch.prompt(PASSAGE) == "passage: "
    np.testing.assert_array_equal(onnx.token_counts(TEXTS, prompt), np.minimum(torch.token_counts(TEXTS, prompt) + 2, 512))


def test_a_fresh_process_searches_without_importing_torch(encoders, tiny_book_pdf):
    data, _, torch = encoders
    manifest, _ = Library(Settings(data_dir=data, embedding_backend="torch")).add(tiny_book_pdf, embedder=torch)
    script = (
        "import json, sys; from bookqa.cli import main; status = main(['search', %r, '向量的点积是什么', '--json', '--k', '3']);"
        "print(json.dumps({'status': status, 'torch': 'torch' in sys.modules}))" % manifest.book_id
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKQA_")}
    out = subprocess.run([sys.executable, "-c", script], env=dict(env, BOOKQA_DATA_DIR=str(data)), cwd=ROOT,
                         capture_output=True, text=True, timeout=300, check=True).stdout.splitlines()
    assert json.loads(out[-1]) == {"status": 0, "torch": False}
    hits = [json.loads(line) for line in out[:-1]]
    assert hits[0]["section"][-1] == "2.2 向量" and "dense" in hits[0]["scores"]
