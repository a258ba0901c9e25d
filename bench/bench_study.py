"""Study benchmark on real books: every numbered section of the numbered chapters gets a study sheet and self-tests
(extractive, no language model), and the figures the issue asks for are printed per book.

    .venv/bin/python -m bench.bench_study --data-dir DIR [--pdf BOOK.pdf ...] [--seeds 3]
        [--sample 30 --sample-out items.json]

The books are indexed into ``--data-dir`` on first use (the real embedded model; minutes) and reused. Figures:
- keys on their page: the share of items whose key is found on the item's page by the generator's own check
  (``on_page``, by construction), and by an independent one (the page's text as PyMuPDF gives it from the PDF,
  NFKC, Unicode hyphens as "-", whitespace removed);
- evidence sentences found (the same independent way, or with the words hyphenated over a line end joined) on the
  item's page, or across its page breaks (a sentence that begins on the page before, or ends on the next);
- duplicates per quiz (two items sharing an answer or an evidence sentence) and quizzes with options that repeat;
- items per quiz, the share of sections yielding at least 5 items, the item types;
- seconds per sheet and per 10-item quiz (median, p90, max over sections, in one process that keeps each book's
  study guide as the app does), beside the median seconds of one hybrid search in the same run (the ratio is what
  survives a busy machine); the first quiz of each chapter also reads the chapter's terms and is reported apart, and
  so is the very first sheet and quiz of the process (it loads jieba's part-of-speech tagger and the query encoder).
``--sample N`` draws N items at random across chapters (seeded) and writes them, with their sections and pages, to
``--sample-out`` for reading by hand. Results go to bench/results/study.json.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import time
import unicodedata
from collections import Counter
from pathlib import Path

import pymupdf

from bookqa.config import Settings
from bookqa.library.store import Library
from bookqa.study.guide import StudyGuide
from bookqa.study.keys import fold, on_page

SHARED = Path(__file__).resolve().parents[2] / "shared"
DEFAULT_PDFS = [SHARED / "books" / "d2l-zh.pdf", SHARED / "books" / "thinkpython2.pdf"]
RESULTS = Path(__file__).resolve().parent / "results"
LINE_END_HYPHEN = re.compile(r"(?<=\w)[-\u2010\u00ad]\n(?=\w)")
"""A word broken over a line end by a hyphen; the book's text joins it, and the evidence check reads it joined too."""


def plain(text: str) -> str:
    """The independent check's normalisation: NFKC, the Unicode hyphens U+2010/U+2011 as "-" (NFKC keeps U+2010,
    which d2l-zh's text layer uses for every hyphen), whitespace removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).replace("\u2010", "-").replace("\u2011", "-"))


def spread(values: list[float]) -> dict:
    values = sorted(values)
    if not values:
        return {}
    return {"median": round(statistics.median(values), 3), "p90": round(values[int(0.9 * (len(values) - 1))], 3),
            "max": round(values[-1], 3), "n": len(values)}


def bench_book(library: Library, pdf: Path, seeds: int, n: int) -> tuple[dict, list[dict]]:
    manifest, _ = library.add(pdf)
    book = library.open(manifest.book_id)
    guide = StudyGuide(book)
    chapters = {s for s in book.outline if s.level == 1 and s.number}
    sections = [s for s in book.outline if s.level == 2 and s.number and guide.chapter(s) in chapters]
    started = time.perf_counter()
    guide.quiz(sections[0], n=n, seed=0)  # loads what a process loads once (jieba's tagger, the query encoder)
    first_s = time.perf_counter() - started
    guide = StudyGuide(book)  # the figures below start from empty caches
    with pymupdf.open(book.pdf_path) as doc:
        texts = [page.get_text() for page in doc]
    printed = [plain(text) for text in texts]
    joined = [plain(LINE_END_HYPHEN.sub("", text)) for text in texts]  # "con-|textual" printed over a line end

    book.retriever.search("warm up", k=5)
    search_s = []
    for section in sections[:: max(1, len(sections) // 40)]:
        started = time.perf_counter()
        book.retriever.search(section.title, k=5)
        search_s.append(time.perf_counter() - started)

    sheet_s, quiz_s, first_quiz_s = [], [], []
    counts, types = [], Counter()
    keys_by_construction = keys_independent = evidence_on_page = evidence_near_page = items_total = 0
    duplicate_quizzes = repeated_options = 0
    sheets = {"key_points_from_summary": 0, "key_points_central": 0, "terms": 0, "exercises": 0, "with_hints": 0, "figures": 0}
    seen_chapters: set = set()
    drawn: list[dict] = []
    for section in sections:
        started = time.perf_counter()
        sheet = guide.sheet(section)
        sheet_s.append(time.perf_counter() - started)
        sheets["key_points_from_summary" if sheet.key_points and sheet.key_points[0].summary else "key_points_central"] += 1
        sheets["terms"] += len(sheet.terms)
        sheets["exercises"] += len(sheet.exercises)
        sheets["with_hints"] += sum(bool(e.hints) for e in sheet.exercises)
        sheets["figures"] += len(sheet.figures)
        for seed in range(seeds):
            started = time.perf_counter()
            items = guide.quiz(section, n=n, seed=seed)
            seconds = time.perf_counter() - started
            chapter = guide.chapter(section)
            (first_quiz_s if chapter not in seen_chapters else quiz_s).append(seconds)
            seen_chapters.add(chapter)
            if seed == 0:
                counts.append(len(items))
                drawn += [{"book": manifest.title, "chapter": chapter.display_title, "item": item, "pages": book.pages} for item in items]
            answers = Counter(fold(i.answer) for i in items)
            evidence = Counter(i.evidence for i in items)
            duplicate_quizzes += any(c > 1 for c in answers.values()) or any(c > 1 for c in evidence.values())
            for item in items:
                items_total += 1
                types[str(item.type)] += 1
                keys_by_construction += on_page(item.key, book.page(item.page))
                keys_independent += plain(item.key) in printed[item.page - 1]
                evidence = plain(item.evidence)
                evidence_on_page += any(evidence in pages[item.page - 1] for pages in (printed, joined))
                evidence_near_page += any(evidence in "".join(pages[max(0, item.page - 2) : item.page + 1]) for pages in (printed, joined))
                repeated_options += len({fold(o) for o in item.options}) != len(item.options)

    search = statistics.median(search_s)
    sheet_spread, quiz_spread = spread(sheet_s), spread(quiz_s)
    figures = {
        "book": manifest.title,
        "sections": len(sections),
        "quizzes": len(sections) * seeds,
        "items": items_total,
        "keys_on_page_by_construction": round(keys_by_construction / max(items_total, 1), 4),
        "keys_on_page_independent_check": round(keys_independent / max(items_total, 1), 4),
        "evidence_on_its_page": round(evidence_on_page / max(items_total, 1), 4),
        "evidence_on_its_page_or_across_a_page_break": round(evidence_near_page / max(items_total, 1), 4),
        "quizzes_with_duplicates": duplicate_quizzes,
        "items_with_repeated_options": repeated_options,
        "items_per_quiz_seed0": {"mean": round(statistics.mean(counts), 2), "zero": counts.count(0),
                                 "histogram": dict(sorted(Counter(counts).items()))},
        "share_of_sections_with_at_least_5_items": round(sum(c >= 5 for c in counts) / len(counts), 3),
        "types": dict(types),
        "sheets": sheets,
        "sheet_s": sheet_spread,
        "quiz_10_s": quiz_spread,
        "first_quiz_of_a_chapter_s": spread(first_quiz_s),
        "first_sheet_and_quiz_of_the_process_s": round(first_s, 2),
        "search_median_s": round(search, 4),
        "sheet_median_over_search": round(sheet_spread["median"] / search, 1),
        "quiz_median_over_search": round(quiz_spread["median"] / search, 1) if quiz_spread else None,
    }
    return figures, drawn


def sample(drawn: list[dict], size: int, seed: int) -> list[dict]:
    """``size`` items drawn at random across chapters: a random chapter first, then a random item of it."""
    rng = random.Random(seed)
    by_chapter: dict[tuple, list[dict]] = {}
    for entry in drawn:
        by_chapter.setdefault((entry["book"], entry["chapter"]), []).append(entry)
    chosen: list[dict] = []
    while len(chosen) < size and any(by_chapter.values()):
        key = rng.choice([k for k, v in by_chapter.items() if v])
        entry = by_chapter[key].pop(rng.randrange(len(by_chapter[key])))
        item = entry["item"]
        chosen.append({"book": entry["book"], "chapter": entry["chapter"], **item.to_json(entry["pages"])})
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="the benchmark library (books are indexed into it once)")
    parser.add_argument("--pdf", type=Path, nargs="+", default=DEFAULT_PDFS)
    parser.add_argument("--seeds", type=int, default=3, help="quizzes per section")
    parser.add_argument("--n", type=int, default=10, help="items per quiz")
    parser.add_argument("--sample", type=int, default=0, help="items to draw for reading by hand")
    parser.add_argument("--sample-seed", type=int, default=11)
    parser.add_argument("--sample-out", type=Path, default=RESULTS / "study-sample.json")
    args = parser.parse_args()

    library = Library(Settings.from_env(data_dir=args.data_dir))
    results, drawn = [], []
    for pdf in args.pdf:
        figures, items = bench_book(library, pdf, args.seeds, args.n)
        results.append(figures)
        drawn += items
        print(json.dumps(figures, ensure_ascii=False, indent=1), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "study.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.sample:
        args.sample_out.parent.mkdir(parents=True, exist_ok=True)
        args.sample_out.write_text(json.dumps(sample(drawn, args.sample, args.sample_seed), ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"{args.sample} items for reading by hand: {args.sample_out}")


if __name__ == "__main__":
    main()
