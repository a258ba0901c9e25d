"""Core engine benchmark on a real book: build time against the model's encode time, reopen time, query
latency, peak memory, and retrieval quality beside the naive baseline, all in one run.

    .venv/bin/python -m bench.bench_core [--pdf ../shared/books/d2l-zh.pdf] [--questions FILE ...]
    .venv/bin/python -m bench.bench_core --books [NAME ...] --data-dir DIR

The second form prints the per-book table instead (:mod:`bench.book_table`: every book of ``../shared/books/``
against its questions, built into ``DIR`` once and reused; results in bench/results/books.json).

Figures are printed and written as JSON to bench/results/core.json. Ratios (build / encode, ours /
baseline) are the numbers to compare across machines; seconds depend on the machine. Quality is also given for
reciprocal rank fusion (BOOKQA_FUSION=rrf) beside the default weighted fusion.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bookqa.config import EMBEDDED_MODEL, Settings
from bookqa.evaluation.metrics import PAGES, SECTION, evaluate, load_questions, retrieval_query
from bookqa.index.embedded_model import ensure_embedded_model
from bookqa.index.embedders import load_embedder
from bookqa.index.retriever import index_text
from bookqa.library.store import Library
from bookqa.reading.ingest import ingest_pdf

SHARED = Path(__file__).resolve().parents[2] / "shared"
OWN = Path(__file__).resolve().parent / "questions"
DEFAULT_PDF = SHARED / "books" / "d2l-zh.pdf"
DEFAULT_QUESTIONS = [
    SHARED / "eval" / "dev_questions.jsonl",
    SHARED / "eval" / "dev_evidence.jsonl",
    OWN / "extra_sections.jsonl",
    OWN / "extra_evidence.jsonl",
    OWN / "broad_sections.jsonl",
]
RESULTS = Path(__file__).resolve().parent / "results"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, *args, **kwargs):
    """(result, seconds) of one call."""
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def bench_build(pdf: Path, settings: Settings, embedder) -> dict:
    """Ingestion alone, the encode of the same chunks alone, and the whole library build."""
    ingested, ingest_s = timed(ingest_pdf, pdf, "bench", settings)
    texts = [index_text(c) for c in ingested.chunks]
    _, encode_s = timed(embedder.embed, texts, "passage")
    (manifest, _), build_s = timed(Library(settings).add, pdf, embedder)
    return {
        "pages": len(ingested.pages),
        "sections": len(ingested.outline),
        "chunks": len(ingested.chunks),
        "code_chunks": sum(c.kind == "code" for c in ingested.chunks),
        "left_out_pages": len(ingested.left_out),
        "ingest_s": round(ingest_s, 2),
        "ingest_stages_s": {k: round(v, 2) for k, v in ingested.timings.items()},
        "encode_only_s": round(encode_s, 1),
        "build_s": round(build_s, 1),
        "build_over_encode": round(build_s / encode_s, 3),
        "index_mb": round(manifest.index_bytes / 2**20, 1),
        "book_id": manifest.book_id,
    }


def reopen_in_new_process(data_dir: str, book_id: str) -> dict:
    """Seconds a fresh Python process takes to open the book: the book folder alone, and with the embedding model."""
    script = (
        "import time; t = time.perf_counter(); from bookqa.config import Settings; from bookqa.library.store import Library\n"
        "library = Library(Settings.from_env()); book = library.open(%r, searchable=False); a = time.perf_counter() - t\n"
        "t = time.perf_counter(); library.open(%r); print(round(a, 2), round(time.perf_counter() - t, 2))" % (book_id, book_id)
    )
    env = dict(os.environ, BOOKQA_DATA_DIR=data_dir)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout.split()
    return {"pages_outline_chunks_s": float(out[0]), "searchable_with_model_s": float(out[1])}


def bench_queries(book, questions, repeats: int) -> dict:
    """Hybrid k=5 latency over the question texts, everything loaded (first call excluded)."""
    book.retriever.search("warm up", k=5)
    times = []
    for _ in range(repeats):
        for q in questions:
            _, seconds = timed(book.retriever.search, q.query, k=5)
            times.append(seconds * 1000)
    times.sort()
    return {
        "queries": len(times),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
        "max_ms": round(times[-1], 1),
    }


def bench_quality(book, rrf_book, baseline, questions) -> dict:
    """Our figures (judged by section and by pages), ours with reciprocal rank fusion instead of the default
    weighted fusion (by section), and the naive baseline's (by pages), top 5.

    Follow-ups are rewritten into standalone queries for us; the baseline gets them as they are, as the old
    pipeline did. A baseline window knows no section, so it is judged by pages (a page shared with a gold
    section counts), which is kinder than judging by section; ours are shown both ways.
    """
    ours = lambda q: book.retriever.search(retrieval_query(q, book.retriever), k=10)  # noqa: E731
    reports = {
        "bookqa_by_section": evaluate(questions, ours, k=5, judge=SECTION),
        "bookqa_by_pages": evaluate(questions, ours, k=5, judge=PAGES),
        "bookqa_rrf_by_section": evaluate(questions, lambda q: rrf_book.retriever.search(retrieval_query(q, rrf_book.retriever), k=10), k=5),
        "baseline_by_pages": evaluate(questions, lambda q: baseline.search(q.query, 10), k=5, judge=PAGES),
    }
    left_out = book.manifest.left_out
    out = {}
    for name, report in reports.items():
        figures = report.figures()
        figures["left_out_pages_in_top5"] = sum(1 for r in report.results for h in r.hits[:5] if h.chunk.page_start in left_out)
        figures["misses"] = [m.question.id for m in report.misses]
        out[name] = figures
    ours_h5, base_h5 = out["bookqa_by_pages"]["hit@5"], out["baseline_by_pages"]["hit@5"]
    out["hit@5_ratio_vs_baseline"] = round(ours_h5 / base_h5, 2) if base_h5 else None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", type=Path, default=DEFAULT_PDF)
    parser.add_argument("--questions", type=Path, nargs="+", default=DEFAULT_QUESTIONS)
    parser.add_argument("--repeats", type=int, default=3, help="latency passes over the questions")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--books", nargs="*", help="print the per-book table (of the books named, default all)")
    parser.add_argument("--data-dir", type=Path, help="with --books: where the books are built and kept")
    args = parser.parse_args()
    if args.books is not None:
        from bench.book_table import book_table

        if args.data_dir is None:
            parser.error("--books needs --data-dir (the books are built there once and reused)")
        rows = book_table(args.data_dir, args.books)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "books.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
        return

    question_sets = {path.stem: load_questions(path) for path in args.questions}
    questions = [q for qs in question_sets.values() for q in qs]
    with tempfile.TemporaryDirectory(prefix="bookqa-bench-") as data_dir:
        settings = Settings.from_env(data_dir=Path(data_dir))
        results: dict = {"pdf": str(args.pdf), "model": settings.embedding_model}
        if settings.embedding_model == EMBEDDED_MODEL:
            results["model_convert_s"] = round(timed(ensure_embedded_model, settings.models_dir)[1], 1)
        embedder, model_load_s = timed(load_embedder, settings)
        results["model_load_s"] = round(model_load_s, 1)
        results["build"] = bench_build(args.pdf, settings, embedder)
        library = Library(settings)
        book, reopen_s = timed(library.open, results["build"]["book_id"], embedder)
        results["reopen_s"] = round(reopen_s, 3)
        results["reopen_new_process_s"] = reopen_in_new_process(data_dir, results["build"]["book_id"])
        results["latency_hybrid_k5"] = bench_queries(book, questions, args.repeats)
        if not args.no_baseline:
            from bookqa.evaluation.baseline import NaiveBaseline

            baseline, baseline_s = timed(NaiveBaseline, args.pdf, embedder)
            results["baseline_build_s"] = round(baseline_s, 1)
            results["baseline_windows"] = len(baseline.chunks)
            rrf_book = Library(settings.replace(fusion="rrf")).open(results["build"]["book_id"], embedder)
            results["quality"] = {name: bench_quality(book, rrf_book, baseline, qs) for name, qs in question_sets.items()}
        results["peak_rss_mb"] = round(peak_rss_mb(), 0)

    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "core.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
