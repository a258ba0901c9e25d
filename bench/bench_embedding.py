"""Embedding benchmark: conversion of the embedded model, load time, and encode throughput on ~500-character
passages of a real book, ours (token-length batches with progress) beside sentence-transformers' plain encode.

    .venv/bin/python -m bench.bench_embedding [--pdf ../shared/books/d2l-zh.pdf] [--chunks 256] [--chars 500]

Figures are printed and written as JSON to bench/results/embedding.json. The load average is recorded with them:
on a shared machine, throughput falls with it.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bookqa.config import Settings
from bookqa.index.embedded_model import ensure_embedded_model
from bookqa.index.embedders import PASSAGE, load_embedder
from bookqa.text import normalize_text

DEFAULT_PDF = Path(__file__).resolve().parents[2] / "shared" / "books" / "d2l-zh.pdf"
RESULTS = Path(__file__).resolve().parent / "results"


def passages(pdf: Path, count: int, chars: int) -> list[str]:
    """``count`` consecutive ``chars``-character windows of the book's normalised text, evenly spread over it."""
    import pymupdf

    with pymupdf.open(pdf) as doc:
        text = " ".join(normalize_text(page.get_text()) for page in doc)
    text = " ".join(text.split())
    windows = [text[i : i + chars] for i in range(0, len(text) - chars, chars)]
    step = max(1, len(windows) // count)
    return windows[::step][:count]


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", type=Path, default=DEFAULT_PDF)
    parser.add_argument("--chunks", type=int, default=256)
    parser.add_argument("--chars", type=int, default=500)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings.from_env(data_dir=Path(data_dir))
        _, convert_s = timed(ensure_embedded_model, settings.models_dir)
        embedder, load_s = timed(load_embedder, settings)
        texts = passages(args.pdf, args.chunks, args.chars)
        embedder.embed(texts[:4])
        load_before = os.getloadavg()[0]
        counts = embedder.token_counts(texts, embedder.prompt(PASSAGE))
        ours, ours_s = timed(embedder.embed, texts, PASSAGE)
        plain, plain_s = timed(
            embedder.model.encode,
            texts,
            prompt=embedder.prompt(PASSAGE),
            batch_size=settings.embedding_batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        import torch

        figures = {
            "model": settings.embedding_model,
            "device": str(embedder.model.device),
            "torch_threads": torch.get_num_threads(),
            "cpus": os.cpu_count(),
            "batch_size": settings.embedding_batch_size,
            "convert_s": round(convert_s, 1),
            "load_s": round(load_s, 1),
            "chunks": len(texts),
            "chars_per_chunk": args.chars,
            "tokens_mean": round(float(counts.mean()), 1),
            "tokens_max": int(counts.max()),
            "ours_s": round(ours_s, 1),
            "ours_chunks_per_s": round(len(texts) / ours_s, 2),
            "plain_encode_s": round(plain_s, 1),
            "plain_chunks_per_s": round(len(texts) / plain_s, 2),
            "max_abs_difference": float(np.abs(ours - plain).max()),
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }
    print(json.dumps(figures, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "embedding.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
