"""Ingestion figures on a real book: pages, sections, chunks by kind, pages left out by reason, chunk
lengths, and the seconds of each stage (wall clock and CPU).

    .venv/bin/python -m bench.bench_ingest [--pdf ../shared/books/d2l-zh.pdf] [--repeat 3]

The best of ``--repeat`` runs is reported (other processes on a small machine inflate single runs).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from pathlib import Path

from bookqa.config import Settings
from bookqa.reading.ingest import ingest_pdf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", type=Path, default=Path("../shared/books/d2l-zh.pdf"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for _ in range(args.repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        book = ingest_pdf(args.pdf, "bench", Settings())
        runs.append((time.perf_counter() - wall, time.process_time() - cpu, book))
    wall, cpu, book = min(runs, key=lambda run: run[0])
    lengths = [len(chunk.text) for chunk in book.chunks]
    print(f"{args.pdf.name}: {len(book.pages)} pages, {len(book.outline)} sections "
          f"({sum(s.number is not None for s in book.outline)} numbered)")
    print(f"chunks: {len(book.chunks)} {dict(Counter(chunk.kind for chunk in book.chunks))}")
    print(f"chunk length: max {max(lengths)}, mean {statistics.mean(lengths):.0f}, median {statistics.median(lengths):.0f}, min {min(lengths)}")
    print(f"left out: {len(book.left_out)} pages {dict(Counter(book.left_out.values()))}")
    print(f"seconds (best of {args.repeat}): wall {wall:.2f}, cpu {cpu:.2f}; stages {', '.join(f'{k} {v:.2f}' for k, v in book.timings.items())}")


if __name__ == "__main__":
    main()
