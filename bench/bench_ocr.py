"""OCR on scanned copies of real pages: character accuracy against the text layer, the same retrieval questions on a
scanned and a text chapter, headings found, pages per minute.

    python -m bench.bench_ocr [--work DIR] [--books-dir DIR] [--books d2l-zh thinkpython] [--scan-dpi 150 200]
                              [--ocr-dpi 150 200] [--side 960 1280] [--sample N] [--skip-chapter] [--json FILE]

Scans are made the way a scanner would: each page of a chapter rendered in grey at 150 and 200 dpi, every third page
turned by 0.6 degrees, JPEG-compressed, rebuilt as an image-only PDF (bookqa.library.typeset.scanned_copy).

1. Accuracy grid (sample pages, one worker, one thread, no cache): for each scan resolution, OCR rendering resolution
   and detection side, 1 - edit distance / length of the page's body text (running heads and page numbers left
   out, NFKC, whitespace removed) against the text layer, and seconds per page; rapidocr as it comes (its defaults:
   detection on the short side at 736, angle classifier, all threads) on the same pages as the baseline.
2. The whole chapter with the default settings (all cores, a fresh page cache): pages per minute and the time a
   700-page scan would take; then the scanned and the text chapter indexed with the real embedded model and asked
   the chapter's questions (bench/questions/ocr_*.jsonl): evidence@5 and section hit@5; and the share of the text
   chapter's numbered headings found, with their numbers, in the scan.

The machine's load average is printed with every timing: other jobs slow OCR down.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import resource
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import pymupdf

from bookqa.config import Settings
from bookqa.evaluation.metrics import SECTION, evaluate, load_questions, retrieval_query
from bookqa.library.store import Library
from bookqa.library.typeset import scanned_copy
from bookqa.reading.cleaning import find_noise
from bookqa.reading.layout import PageLayout, read_layout
from bookqa.reading.ocr import DETECTION_SIDE, RapidRecogniser, plan_ocr, read_page, recognise_pages
from bookqa.reading.ocr_layout import ocr_layout, settle_sizes

BOOKS_DIR = next((p for p in (Path(__file__).resolve().parents[i] / "shared" / "books" for i in (2, 3)) if p.is_dir()),
                 Path("../shared/books"))
"""The shared books beside the checkout (or beside the folder of worktrees)."""
QUESTIONS = Path(__file__).resolve().parent / "questions"
WORK = Path(tempfile.gettempdir()) / "bookqa-bench-ocr"
ROTATED = 0.6
"""Degrees every third scanned page is turned by."""
PAGES_OF_A_BIG_SCAN = 700


@dataclass(frozen=True)
class Chapter:
    """A chapter of a real book: its file, its physical pages (inclusive), pages for the accuracy grid, its questions."""

    file: str
    first: int
    last: int
    sample: tuple[int, ...]
    questions: str


CHAPTERS = {
    "d2l-zh": Chapter("d2l-zh.pdf", 57, 92, (58, 60, 64, 66, 72, 79, 81, 85), "ocr_d2l_zh_ch2.jsonl"),
    "thinkpython": Chapter("thinkpython2.pdf", 39, 50, (39, 40, 41, 42, 44, 45, 46, 47), "ocr_thinkpython_ch3.jsonl"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--books-dir", type=Path, default=BOOKS_DIR, help="where d2l-zh.pdf and thinkpython2.pdf are")
    parser.add_argument("--books", nargs="+", default=list(CHAPTERS), choices=list(CHAPTERS))
    parser.add_argument("--scan-dpi", nargs="+", type=int, default=[150, 200])
    parser.add_argument("--ocr-dpi", nargs="+", type=int, default=[Settings().ocr_dpi])
    parser.add_argument("--side", nargs="+", type=int, default=[DETECTION_SIDE])
    parser.add_argument("--sample", type=int, default=8, help="pages per book in the accuracy grid")
    parser.add_argument("--no-baseline", action="store_true", help="leave out rapidocr as it comes")
    parser.add_argument("--skip-grid", action="store_true")
    parser.add_argument("--skip-chapter", action="store_true", help="only the accuracy grid")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"machine": _machine()}
    print(f"machine: {report['machine']}")
    for name in args.books:
        chapter = CHAPTERS[name]
        scans = {dpi: _scan(args.books_dir / chapter.file, chapter, name, dpi, args.work) for dpi in args.scan_dpi}
        text = _text_copy(args.books_dir / chapter.file, chapter, name, args.work)
        book: dict[str, Any] = {}
        if not args.skip_grid:
            book["grid"] = _grid(name, chapter, text, scans, args)
        if not args.skip_chapter:
            book["chapter"] = _chapter(name, chapter, text, scans[max(scans)], args.work)
        report[name] = book
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------- scans
def _scan(book: Path, chapter: Chapter, name: str, dpi: int, work: Path) -> Path:
    """The scanned copy of ``chapter`` at ``dpi`` (made once)."""
    path = work / "scans" / f"{name}-{chapter.first}-{chapter.last}-{dpi}dpi.pdf"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    source = pymupdf.open(book)
    target = pymupdf.open()
    for offset, index in enumerate(range(chapter.first - 1, chapter.last)):
        scanned_copy(source, target, dpi=dpi, pages=[index], rotate=ROTATED if offset % 3 == 2 else 0.0)
    target.save(path, garbage=3, deflate=True)
    return path


def _text_copy(book: Path, chapter: Chapter, name: str, work: Path) -> Path:
    """The chapter's own pages (text layer and outline) as a PDF of their own."""
    path = work / "scans" / f"{name}-{chapter.first}-{chapter.last}-text.pdf"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = pymupdf.open(book)
        doc.select(list(range(chapter.first - 1, chapter.last)))
        doc.save(path, garbage=3, deflate=True)
    return path


# ---------------------------------------------------------------------------------------------- accuracy
def _grid(name: str, chapter: Chapter, text: Path, scans: dict[int, Path], args: argparse.Namespace) -> list[dict[str, Any]]:
    pages = [page - chapter.first for page in chapter.sample[: args.sample]]  # 0-based in the chapter copies
    reference, formulas = _reference_bodies(text, pages)
    with pymupdf.open(text) as doc:
        prose_reference = _bodies([read_layout(doc.load_page(index)) for index in pages], formulas)
    rows = []
    configurations: list[tuple[str, Any, int]] = []
    if not args.no_baseline:
        configurations.append(("rapidocr as it comes", _AsItComes(), min(args.ocr_dpi)))
    configurations += [(f"side {side}", RapidRecogniser(threads=1, detection_side=side), dpi) for side in args.side
                       for dpi in args.ocr_dpi]
    for scan_dpi, scan in scans.items():
        doc = pymupdf.open(scan)
        for label, recogniser, ocr_dpi in configurations:
            read_page(doc.load_page(pages[0]), ocr_dpi, recogniser)  # loads the models
            load = os.getloadavg()[0]
            started, cpu = time.perf_counter(), time.process_time()
            layouts = []
            for index in pages:
                page = read_page(doc.load_page(index), ocr_dpi, recogniser)
                layouts.append(ocr_layout(page, str(index + 1), Settings().ocr_min_confidence))
            seconds = (time.perf_counter() - started) / len(pages)
            cpu_seconds = (time.process_time() - cpu) / len(pages)
            layouts = settle_sizes(layouts)
            accuracy = _accuracy(reference, _bodies(layouts))
            prose = _accuracy([r.translate(_QUOTES) for r in prose_reference],
                              [r.translate(_QUOTES) for r in _bodies(layouts, formulas)])
            row = {"book": name, "scan_dpi": scan_dpi, "ocr_dpi": ocr_dpi, "recogniser": label, "accuracy": round(accuracy, 4),
                   "prose_accuracy": round(prose, 4), "seconds_per_page": round(seconds, 2),
                   "cpu_seconds_per_page": round(cpu_seconds, 2), "load": round(load, 1)}
            rows.append(row)
            print(f"{name}: scan {scan_dpi} dpi, OCR at {ocr_dpi} dpi, {label}: accuracy {accuracy:.4f} "
                  f"(prose {prose:.4f}), {seconds:.2f} s/page wall, {cpu_seconds:.2f} s CPU (load {load:.1f})", flush=True)
    return rows


class _AsItComes:
    """rapidocr with its own defaults (the issue's first measurement), in one process on every thread."""

    signature = "rapidocr defaults"

    def __init__(self) -> None:
        self.engine: Any = None

    def __call__(self, image: Any) -> list[tuple[Any, str, float]]:
        import cv2
        from rapidocr import RapidOCR

        if self.engine is None:
            self.engine = RapidOCR(params={"Global.log_level": "error"})
        result = self.engine(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
        if result.boxes is None or result.txts is None:
            return []
        return [(box, text, float(score)) for box, text, score in zip(result.boxes, result.txts, result.scores)]


def _reference_bodies(path: Path, pages: Sequence[int]) -> tuple[list[str], list[list[tuple[float, float, float, float]]]]:
    """The body text of ``pages`` from the text layer, and per page the boxes of its display formulas (lines set
    mostly in TeX's math fonts)."""
    with pymupdf.open(path) as doc:
        formulas = [_formula_boxes(doc.load_page(index)) for index in pages]
        return _bodies([read_layout(doc.load_page(index)) for index in pages]), formulas


_MATH_FONT = re.compile(r"^(?:CM(?:MI|SY|EX|R)|MSBM|MSAM|EUFM|EUSM|rsfs)", re.IGNORECASE)


def _formula_boxes(page: pymupdf.Page) -> list[tuple[float, float, float, float]]:
    boxes = []
    for block in page.get_text("dict")["blocks"]:
        for line in block.get("lines", ()):
            chars = [(len(span["text"].strip()), bool(_MATH_FONT.match(span["font"]))) for span in line["spans"]]
            total = sum(n for n, _ in chars)
            if total and sum(n for n, math in chars if math) * 2 >= total:
                boxes.append(tuple(line["bbox"]))
    return boxes


def _bodies(layouts: Sequence[PageLayout], leave_out: Sequence[Sequence[tuple[float, ...]]] = ()) -> list[str]:
    """Each page's body text (running heads, page numbers and footnotes left out; rows in the ``leave_out`` boxes
    of the page too) as one comparison key."""
    noise = find_noise(layouts)
    keys = []
    for number, (layout, page_noise) in enumerate(zip(layouts, noise)):
        boxes = leave_out[number] if leave_out else ()
        rows = [row for i, row in enumerate(layout.rows) if i not in page_noise and not _inside(row, boxes)]
        keys.append(_key("".join(row.text for row in rows)))
    return keys


def _inside(row: Any, boxes: Sequence[tuple[float, ...]]) -> bool:
    middle = (row.y0 + row.y1) / 2
    return any(y0 - 2 <= middle <= y1 + 2 and row.x0 < x1 and row.x1 > x0 for x0, y0, x1, y1 in boxes)


_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "′": "'", "“": '"', "”": '"', "„": '"', "″": '"'})


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def _accuracy(reference: Sequence[str], read: Sequence[str]) -> float:
    """1 - edit distance / length, over all pages together."""
    edits = sum(_edit_distance(a, b) for a, b in zip(reference, read))
    return 1 - edits / max(1, sum(len(a) for a in reference))


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: exact inside the blocks where ``a`` and ``b`` differ (found by difflib), so long pages
    that mostly agree cost little."""
    total = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "replace":
            total += _levenshtein(a[i1:i2], b[j1:j2])
        elif tag != "equal":
            total += (i2 - i1) + (j2 - j1)
    return total


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


# ---------------------------------------------------------------------------------------------- the chapter
def _chapter(name: str, chapter: Chapter, text: Path, scan: Path, work: Path) -> dict[str, Any]:
    data = work / f"library-{name}"
    settings = Settings(data_dir=data)
    cache = settings.ocr_cache_dir
    with tempfile.TemporaryDirectory(dir=work) as fresh:  # pages per minute with an empty page cache
        timing = settings.replace(data_dir=Path(fresh))
        with pymupdf.open(scan) as doc:
            plan = plan_ocr(doc, [read_layout(page) for page in doc], timing)
        load = os.getloadavg()[0]
        started, children = time.perf_counter(), _children_cpu()
        pages = recognise_pages(scan, plan, timing)
        wall = time.perf_counter() - started
        cpu = _children_cpu() - children
        after = os.getloadavg()[0]
        cache.mkdir(parents=True, exist_ok=True)
        for source in (Path(fresh) / "ocr-cache" / "pages").rglob("*.json"):  # the library below reuses them
            target = cache / "pages" / source.parent.name / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            source.replace(target)
    per_minute = 60 * len(pages) / wall
    cores = os.cpu_count() or 1
    free = 60 * len(pages) / (cpu / min(cores, plan.workers)) if cpu else float("nan")
    print(f"{name}: {len(pages)} scanned pages in {wall:.0f} s with {plan.workers} workers: {per_minute:.1f} pages/min, "
          f"a {PAGES_OF_A_BIG_SCAN}-page scan in {PAGES_OF_A_BIG_SCAN / per_minute / 60:.1f} h "
          f"(load {load:.1f} before, {after:.1f} after); {cpu / len(pages):.1f} CPU s/page, so {free:.1f} pages/min "
          f"and {PAGES_OF_A_BIG_SCAN / free / 60:.1f} h on {min(cores, plan.workers)} free cores", flush=True)
    library = Library(settings)
    text_book, _ = library.add(text, name=f"{name}-text.pdf")
    scan_book, _ = library.add(scan, name=f"{name}-scan.pdf")
    questions = load_questions(QUESTIONS / chapter.questions)
    figures = {}
    for label, manifest in (("text", text_book), ("scan", scan_book)):
        book = library.open(manifest.book_id)
        report = evaluate(questions, lambda q: book.retriever.search(retrieval_query(q, book.retriever.tokenizer), k=10),
                          k=5, judge=SECTION)
        figures[label] = dict(report.figures(), misses=[m.question.id for m in report.misses])
        print(f"{name} {label}: {figures[label]}", flush=True)
    headings = _headings(library.open(text_book.book_id, searchable=False).outline,
                         library.open(scan_book.book_id, searchable=False).outline)
    print(f"{name}: numbered headings of the text chapter found in the scan: {headings['found']} of {headings['total']} "
          f"({headings['share']:.0%}); missed: {headings['missed']}", flush=True)
    return {"pages": len(pages), "seconds": round(wall, 1), "workers": plan.workers, "pages_per_minute": round(per_minute, 1),
            "hours_for_700_pages": round(PAGES_OF_A_BIG_SCAN / per_minute / 60, 2), "load": [round(load, 1), round(after, 1)],
            "cpu_seconds_per_page": round(cpu / len(pages), 2), "pages_per_minute_on_free_cores": round(free, 1),
            "retrieval": figures, "headings": headings}


def _headings(text: Sequence[Any], scan: Sequence[Any]) -> dict[str, Any]:
    """How many numbered sections of the text chapter the scan has, with the same number and about the same title."""
    wanted = [s for s in text if s.number]
    found = {s.number: s.title for s in scan if s.number}
    hits = [s for s in wanted if s.number in found
            and difflib.SequenceMatcher(None, _key(s.title), _key(found[s.number])).ratio() >= 0.8]
    missed = [s.display_title for s in wanted if s not in hits]
    return {"total": len(wanted), "found": len(hits), "share": len(hits) / max(1, len(wanted)), "missed": missed}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _machine() -> str:
    return f"{os.cpu_count()} cores, load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}"


if __name__ == "__main__":
    main()
