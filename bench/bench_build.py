"""Build, encoder and cold-start benchmark: when a book becomes usable, what the encoder costs, what a killed build
and a rebuild with another overlap re-encode, how fast a fresh process answers, where a hybrid query's time goes,
and the retrieval figures with the ONNX query encoder beside torch's, per book, in one run.

    .venv/bin/python -m bench.bench_build --work DIR [--books d2l-zh thinkpython2] [--models DIR] [--sample 128]

Each build runs as ``python -m bookqa index`` in a child process (its peak memory is the child's). Figures are
printed and written as JSON to bench/results/build.json; ratios are measured within the run, and the load average
is recorded beside them (on a shared machine seconds grow with it, ratios much less).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from bookqa.config import Settings
from bookqa.evaluation.metrics import SECTION, evaluate, load_questions, retrieval_query
from bookqa.files import read_jsonl
from bookqa.index.embedders import PASSAGE, load_embedder
from bookqa.index.retriever import _join, index_text
from bookqa.library.book import CHUNKS, MANIFEST, chunk_from_row
from bookqa.library.store import Library

SHARED = next((p for p in (Path(__file__).resolve().parents[2] / "shared", Path(__file__).resolve().parents[3] / "shared") if p.is_dir()),
              Path("shared"))
"""The shared books and questions beside the checkout (or beside the folder of worktrees)."""
OWN = Path(__file__).resolve().parent / "questions"
RESULTS = Path(__file__).resolve().parent / "results"
BOOKS = {
    "d2l-zh": [SHARED / "eval" / "dev_questions.jsonl", SHARED / "eval" / "dev_evidence.jsonl", OWN / "extra_sections.jsonl",
               OWN / "extra_evidence.jsonl", OWN / "broad_sections.jsonl"],
    "thinkpython2": [SHARED / "eval" / "thinkpython_dev_questions.jsonl", SHARED / "eval" / "thinkpython_dev_evidence.jsonl"],
}
PEAK_GFLOPS = 160.0
"""Two AVX2 cores with two FMA units each: 2 x 2 x 8 x 2 flops x ~2.5 GHz."""
QUERY = "什么是稠密连接网络？"


# ----------------------------------------------------------------------------------------------- helpers
def load() -> float:
    return round(os.getloadavg()[0], 2)


def child(argv: list[str], env: dict, watch: Path | None = None, kill_after: float | None = None) -> dict:
    """Run ``python -m bookqa ARGV`` and return its wall seconds, peak RSS (MiB), exit status and, with ``watch`` (a
    library folder), the seconds until a book's manifest appeared in it; ``kill_after`` seconds stops it (SIGKILL)."""
    started = time.perf_counter()
    log = open(Path(env["BOOKQA_DATA_DIR"]) / "child.log", "ab")
    process = subprocess.Popen([sys.executable, "-m", "bookqa", *argv], env=env, stdout=subprocess.PIPE, stderr=log)
    appeared = None
    out = []
    reader = threading.Thread(target=lambda: out.append(process.stdout.read().decode()), daemon=True)
    reader.start()
    peak = 0
    while True:
        peak = max(peak, _peak_rss_kb(process.pid))  # the rusage of a forked child starts at its parent's size
        pid, status, _ = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        now = time.perf_counter() - started
        if watch is not None and appeared is None and any(watch.glob("*/manifest.json")):
            appeared = now
        if kill_after is not None and now >= kill_after:
            process.send_signal(signal.SIGKILL)
            kill_after = None
        time.sleep(0.1)
    process.returncode = status
    reader.join()
    log.close()
    return {"s": round(time.perf_counter() - started, 2), "rss_mb": round(peak / 1024), "status": status,
            "ready_s": round(appeared, 2) if appeared is not None else None, "out": "".join(out)}


def _peak_rss_kb(pid: int) -> int:
    """The peak resident memory of process ``pid`` so far (VmHWM), 0 when it has gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next((int(line.split()[1]) for line in status if line.startswith("VmHWM")), 0)
    except OSError:
        return 0


def environment(data: Path, models: Path, **settings: str) -> dict:
    data.mkdir(parents=True, exist_ok=True)
    if not (data / "models").exists():
        (data / "models").symlink_to(models, target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKQA_")}
    env.update(BOOKQA_DATA_DIR=str(data), PYTHONUNBUFFERED="1", **{f"BOOKQA_{k.upper()}": v for k, v in settings.items()})
    return env


def manifest_of(data: Path) -> dict:
    (folder,) = [p for p in (data / "books").iterdir() if p.is_dir() and not p.name.startswith(".")]
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


def flops_per_sequence(tokens: int, layers: int = 12, d: int = 384, ff: int = 1536) -> float:
    """Multiply-adds x 2 of one sequence through the encoder: projections, feed-forward, attention scores."""
    return layers * (2 * tokens * (4 * d * d + 2 * d * ff) + 4 * tokens * tokens * d)


# ----------------------------------------------------------------------------------------------- parts
def encoder_figures(texts: list[str], embedder, grid: bool, rounds: int = 2) -> dict:
    """Sorted (ours) against unsorted batch-32 encoding of the same passages; with ``grid``, batch sizes and threads.
    Each setting runs ``rounds`` times, interleaved; the fastest run counts."""
    import torch

    model = embedder.model
    prompt = embedder.prompt(PASSAGE)
    limit = model.max_seq_length
    lengths = np.minimum(embedder.token_counts(texts, prompt) + 2, limit)
    useful = sum(flops_per_sequence(int(n)) for n in lengths)
    embedder.embed(texts[:4])

    def unsorted(batch: int) -> float:
        started = time.perf_counter()
        for i in range(0, len(texts), batch):  # one encode per batch: sentence-transformers sorts within a call
            model.encode(texts[i : i + batch], prompt=prompt, batch_size=batch, normalize_embeddings=True, show_progress_bar=False)
        return time.perf_counter() - started

    def ours(batch: int, threads: int) -> float:
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        embedder.batch_size = batch
        started = time.perf_counter()
        embedder.embed(texts)
        torch.set_num_threads(before)
        return time.perf_counter() - started

    def padded(order: list[int], batch: int) -> float:
        return sum(len(rows) * flops_per_sequence(int(max(lengths[i] for i in rows))) for rows in
                   (order[i : i + batch] for i in range(0, len(order), batch)))

    threads = torch.get_num_threads()
    sorted_order = list(np.argsort(-lengths, kind="stable"))
    plan = {"unsorted_b32": (lambda: unsorted(32), padded(list(range(len(texts))), 32)),
            "sorted_b32": (lambda: ours(32, threads), padded(sorted_order, 32))}
    if grid:
        for batch in (8, 16, 64):
            plan[f"sorted_b{batch}"] = (lambda batch=batch: ours(batch, threads), padded(sorted_order, batch))
        plan["sorted_b32_1thread"] = (lambda: ours(32, 1), padded(sorted_order, 32))
    times: dict[str, list[float]] = {name: [] for name in plan}
    for _ in range(rounds):  # interleaved, so a change in the machine's load reaches every setting alike
        for name, (run, _work) in plan.items():
            times[name].append(run())
    runs = {name: (min(times[name]), work) for name, (_run, work) in plan.items()}
    embedder.batch_size = 32
    tokens = int(lengths.sum())
    figures = {
        "passages": len(texts), "tokens": tokens, "tokens_mean": round(tokens / len(texts), 1), "torch_threads": threads,
        "useful_tflop": round(useful / 1e12, 3), "load_average": load(),
    }
    for name, (seconds, work) in runs.items():
        figures[name] = {
            "s": round(seconds, 2), "tokens_per_s": round(tokens / seconds), "useful_gflops": round(useful / seconds / 1e9, 1),
            "padded_gflops": round(work / seconds / 1e9, 1), "share_of_peak": round(work / seconds / 1e9 / PEAK_GFLOPS, 3),
            "padding_overhead": round(work / useful - 1, 3),
        }
    figures["sorted_over_unsorted_speed"] = round(runs["unsorted_b32"][0] / runs["sorted_b32"][0], 3)
    return figures


def token_costs(chunks, embedder) -> dict:
    """Tokens per passage, and what the section-path prefix and the overlap with the previous chunk cost."""
    prompt = embedder.prompt(PASSAGE)
    full = embedder.token_counts([index_text(c) for c in chunks], prompt)
    bare = embedder.token_counts([c.text for c in chunks], prompt)
    overlap_chars = [0] + [
        len(a.text) + len(b.text) - len(_join(a.text, b.text)) if a.section_path == b.section_path else 0
        for a, b in zip(chunks, chunks[1:])
    ]
    trimmed = embedder.token_counts([c.text[n:] for c, n in zip(chunks, overlap_chars)], prompt)
    return {
        "passages": len(chunks), "tokens": int(full.sum()), "tokens_per_passage_mean": round(float(full.mean()), 1),
        "tokens_per_passage_p50": int(np.median(full)), "tokens_per_passage_max": int(full.max()),
        "over_512": int((full > 510).sum()),
        "section_prefix_tokens": int((full - bare).sum()), "section_prefix_share": round(float((full - bare).sum() / full.sum()), 3),
        "overlap_tokens": int((bare - trimmed).sum()), "overlap_share": round(float((bare - trimmed).sum() / full.sum()), 3),
    }


def timed_signals(book) -> dict[str, list[float]]:
    """Wrap the query encoder and both searches of ``book``'s retriever so each call's seconds are recorded."""
    spent: dict[str, list[float]] = {"encode": [], "dense": [], "bm25": []}
    retriever = book.retriever
    for name, owner, method in (("encode", retriever._embedder, "embed"), ("dense", retriever._vector_index, "search"),
                                ("bm25", retriever._keyword_index, "search")):
        original = getattr(owner, method)

        def wrapper(*args, _original=original, _name=name, **kwargs):
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                spent[_name].append(time.perf_counter() - started)

        setattr(owner, method, wrapper)
    return spent


def latency(book, questions, repeats: int) -> dict:
    """Hybrid k=5 over the questions, everything loaded; p50/p95 and where the time goes (means per query)."""
    book.retriever.search("warm up", k=5)
    spent = timed_signals(book)
    totals = []
    for _ in range(repeats):
        for q in questions:
            started = time.perf_counter()
            book.retriever.search(q.query, k=5)
            totals.append(time.perf_counter() - started)
    ms = sorted(t * 1000 for t in totals)
    mean = {name: round(1000 * statistics.fmean(values), 2) for name, values in spent.items()}
    mean["fusion_merging_rest"] = round(statistics.fmean(ms) - sum(mean.values()), 2)
    return {"queries": len(ms), "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 1),
            "mean_ms": round(statistics.fmean(ms), 1), "mean_ms_by_part": mean}


def quality(book, sets: dict) -> dict:
    out = {}
    for name, questions in sets.items():
        report = evaluate(questions, lambda q: book.retriever.search(retrieval_query(q, book.retriever.tokenizer), k=10), k=5, judge=SECTION)
        figures = report.figures()
        out[name] = {k: figures.get(k) for k in ("questions", "hit@1", "hit@5", "mrr@10", "evidence@5")}
    return out


# ----------------------------------------------------------------------------------------------- one book
def bench_book(pdf: Path, question_files: list[Path], work: Path, models: Path, sample: int, grid: bool, repeats: int,
               reuse: bool = False, killed: bool = True) -> dict:
    root = work / pdf.stem
    fresh = root / "fresh"
    out: dict = {"pdf": str(pdf), "load_average_start": load()}

    if reuse:  # a fresh build made earlier: its own timings stand for the child's
        manifest = manifest_of(fresh)
        build = {"s": manifest["timings"]["total"], "ready_s": manifest["timings"]["ready"], "rss_mb": None}
    else:
        build = child(["index", str(pdf)], environment(fresh, models), watch=fresh / "books")
        manifest = manifest_of(fresh)
    timings = manifest["timings"]
    out["fresh_build"] = {
        "wall_s": build["s"], "browse_and_keyword_search_after_s": build["ready_s"], "ready_step_s": timings["ready"],
        "reused": reuse,
        "encoder_s": timings["embed"], "vector_step_s": timings["vectors"], "peak_rss_mb": build["rss_mb"],
        "ready_share_of_build": round(build["ready_s"] / build["s"], 3),
        "build_over_encoder": round(build["s"] / timings["embed"], 3),
        "build_steps_over_encoder": round(timings["total"] / timings["embed"], 3),
        "chunks": manifest["chunks"], "encoded": manifest["encoded"], "backend": manifest["embedding_backend"],
        "load_average": load(),
    }
    book_id = manifest["book_id"]
    settings = Settings.from_env({}, data_dir=fresh)
    torch_settings = settings.replace(embedding_backend="torch")
    torch_embedder = load_embedder(torch_settings)
    chunks = [chunk_from_row(row) for row in read_jsonl(fresh / "books" / book_id / CHUNKS)]
    out["tokens"] = token_costs(chunks, torch_embedder)
    texts = random.Random(0).sample([index_text(c) for c in chunks], min(sample, len(chunks)))
    out["encoder"] = encoder_figures(texts, torch_embedder, grid)

    env = environment(fresh, models)
    runs = {"outline": [], "search_onnx": [], "search_torch": []}
    for _ in range(3):
        runs["outline"].append(child(["outline", book_id], env))
        runs["search_onnx"].append(child(["search", book_id, QUERY, "--k", "3"], env))
        runs["search_torch"].append(child(["search", book_id, QUERY, "--k", "3"], dict(env, BOOKQA_EMBEDDING_BACKEND="torch")))
    cold = {name: {"median_s": statistics.median(r["s"] for r in rs), "peak_rss_mb": max(r["rss_mb"] for r in rs)} for name, rs in runs.items()}
    cold["search_onnx_over_outline"] = round(cold["search_onnx"]["median_s"] / cold["outline"]["median_s"], 1)
    cold["search_torch_over_outline"] = round(cold["search_torch"]["median_s"] / cold["outline"]["median_s"], 1)
    cold["load_average"] = load()
    out["cold_start"] = cold

    sets = {path.stem: load_questions(path) for path in question_files}
    questions = [q for qs in sets.values() for q in qs]
    onnx_book = Library(settings).open(book_id)
    torch_book = Library(torch_settings).open(book_id, embedder=torch_embedder)
    out["query_encoder"] = {"auto": type(onnx_book.retriever.embedder).__name__, "torch": type(torch_book.retriever.embedder).__name__}
    out["quality"] = {"onnx_queries": quality(onnx_book, sets), "torch_queries": quality(torch_book, sets)}
    out["latency_hybrid_k5"] = {"onnx_queries": latency(onnx_book, questions, repeats), "torch_queries": latency(torch_book, questions, repeats)}
    out["latency_hybrid_k5"]["p95_onnx_over_torch"] = round(
        out["latency_hybrid_k5"]["onnx_queries"]["p95_ms"] / out["latency_hybrid_k5"]["torch_queries"]["p95_ms"], 3)
    out["latency_hybrid_k5"]["load_average"] = load()
    del torch_embedder, torch_book
    if killed:
        out["killed_at_half"] = killed_at_half(pdf, root / "killed", models, build["s"])
    overlap = child(["index", str(pdf)], environment(fresh, models, chunk_overlap="60"))
    changed = manifest_of(fresh)
    out["rebuild_overlap_60"] = {
        "wall_s": overlap["s"], "over_fresh": round(overlap["s"] / build["s"], 3), "encoded": changed["encoded"],
        "share_reencoded": round(changed["encoded"]["encoded"] / changed["chunks"], 3), "load_average": load(),
    }
    return out


def killed_at_half(pdf: Path, killed_dir: Path, models: Path, fresh_s: float) -> dict:
    """A build killed (SIGKILL) at half the fresh build's time, then resumed: the resume's time over the fresh one."""
    killed = child(["index", str(pdf)], environment(killed_dir, models), kill_after=fresh_s / 2)
    done_at_kill = manifest_of(killed_dir)["vectors_done"]
    resumed = child(["index", str(pdf)], environment(killed_dir, models))
    return {
        "killed_after_s": killed["s"], "vectors_done_at_kill": done_at_kill, "resume_s": resumed["s"],
        "resume_over_fresh": round(resumed["s"] / fresh_s, 3), "encoded_on_resume": manifest_of(killed_dir)["encoded"],
        "load_average": load(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="a folder for the benchmark's libraries (emptied first)")
    parser.add_argument("--models", type=Path, help="a models folder to share (the converted and exported model)")
    parser.add_argument("--books", nargs="+", default=list(BOOKS))
    parser.add_argument("--sample", type=int, default=128, help="passages for the encoder figures")
    parser.add_argument("--repeats", type=int, default=3, help="latency passes over the questions")
    parser.add_argument("--reuse", action="store_true", help="keep the fresh builds already in --work (their timings stand)")
    parser.add_argument("--no-killed", action="store_true", help="leave out the build killed at half its time")
    args = parser.parse_args()

    import shutil

    from bookqa.index.embedded_model import ensure_embedded_model

    models = args.models or args.work / "models"
    ensure_embedded_model(models)
    results: dict = {"cpus": os.cpu_count(), "peak_gflops": PEAK_GFLOPS}
    for name in args.books:
        if not args.reuse:
            shutil.rmtree(args.work / name, ignore_errors=True)
        results[name] = bench_book(SHARED / "books" / f"{name}.pdf", BOOKS[name], args.work, models, args.sample,
                                   name == "d2l-zh", args.repeats, reuse=args.reuse, killed=not args.no_killed)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "build.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
