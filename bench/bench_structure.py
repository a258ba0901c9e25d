"""Structure figures per book: the outline against the book's printed headings, what reached the index that
should not have (contents, index and bibliography pages, running heads), what was left out, code and formulas;
with ``--retrieval``, section hit@5, MRR@10, evidence@5 and front/back matter in the top 5 on the books that
have questions (all of a book's questions together, then per question file).

    .venv/bin/python -m bench.bench_structure [--books DIR] [--retrieval --data DIR]

References, read independently of BookQA's own outline code:
- A ``*.sections.json`` beside the PDF or in bench/questions/ (numbers, titles as printed, start pages): d2l-zh
  and the d2l-en sample have one in the shared books folder, Think Python in bench/questions/ (its printed
  headings: the outline, the preface's parts and the index it lacks, Appendix A's level-3 headings).
- A book without one: its printed contents pages (numbers, titles, printed start pages, mapped to physical pages
  through the page labels), plus level-3 headings listed nowhere, taken from the printed lines that look like
  them (bold, numbered A.1.1).
- Every book: each section's number and title must be printed on its start page (the raw text layer).
Front/back matter: pages before the first reference section, contents pages, the bibliography's pages, and the
pages from a page headed "Index" to the end.

Figures are printed as a table (book x measure) and written to bench/results/structure.json.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pymupdf

from bookqa.config import Settings
from bookqa.reading.ingest import Ingested, ingest_pdf
from bookqa.types import ChunkKind, Section

SHARED = next(
    (folder / "shared" for folder in Path(__file__).resolve().parents if (folder / "shared" / "books").is_dir()),
    Path(__file__).resolve().parents[2] / "shared",
)
"""The shared books and questions: ../shared from the checkout, or from a folder above it (a worktree)."""
RESULTS = Path(__file__).resolve().parent / "results"
OWN_QUESTIONS = Path(__file__).resolve().parent / "questions"
QUESTIONS = {
    "d2l-zh": [SHARED / "eval" / "dev_questions.jsonl", SHARED / "eval" / "dev_evidence.jsonl",
               OWN_QUESTIONS / "extra_sections.jsonl", OWN_QUESTIONS / "extra_evidence.jsonl",
               OWN_QUESTIONS / "broad_sections.jsonl"],
    "thinkpython2": [SHARED / "eval" / "thinkpython_dev_questions.jsonl", SHARED / "eval" / "thinkpython_dev_evidence.jsonl",
                     OWN_QUESTIONS / "thinkpython_sections.jsonl", OWN_QUESTIONS / "thinkpython_evidence.jsonl"],
    "d2l-en-sample": [OWN_QUESTIONS / "d2len_sections.jsonl", OWN_QUESTIONS / "d2len_evidence.jsonl"],
}
_DROP = re.compile(r"[\W_]+")
_LEADER = re.compile(r"(?:\s*\.){3,}")
_CONTENTS_LINE = re.compile(r"^(?:(\d+(?:\.\d+)*|[A-Z](?:\.\d+)*)\s+)?(\S.*?)\s+(\d+|[ivxlc]+)$", re.IGNORECASE)
_RUNNING_HEAD = re.compile(r"^(?:chapter\s+\d+\.\s+|appendix\s+[a-z]\.\s+|\d+(?:\.\d+)*\.\s+|[A-Z](?:\.\d+)+\.\s+)(.+)$", re.IGNORECASE)


def key(text: str) -> str:
    return _DROP.sub("", unicodedata.normalize("NFKC", text)).lower()


@dataclass(frozen=True)
class Reference:
    """What a book's sections should be, and its pages that are not body text."""

    sections: list[dict]
    matter: set[int]
    source: str


# --- references


def reference_for(pdf: Path, doc: pymupdf.Document) -> Reference:
    sections_file = next((f for f in (pdf.with_suffix(".sections.json"), OWN_QUESTIONS / f"{pdf.stem}.sections.json") if f.exists()), None)
    matter = _index_pages(doc) | _contents_pages(doc)
    if sections_file is not None:
        rows = json.loads(sections_file.read_text(encoding="utf-8"))
        sections = [{"number": r["number"], "title": r.get("printed_title") or r["title"], "start_page": r["start_page"],
                     "level": r["level"]} for r in rows]
        first = min(r["start_page"] for r in rows)
        for r in rows:
            if key(r["title"]) in {"bibliography", "参考文献", "references", "index", "索引"}:
                matter |= set(range(r["start_page"], r["end_page"] + 1))
        return Reference(sections, matter | set(range(1, first)), str(sections_file.relative_to(sections_file.parents[1])))
    contents = sorted(_contents_pages(doc))
    sections = _printed_contents(doc, contents) + _appendix_subheadings(doc)
    sections.sort(key=lambda s: (s["start_page"], s["order"]))
    first = min(s["start_page"] for s in sections)
    return Reference(sections, matter | set(range(1, first)), "printed contents pages + bold numbered level-3 headings")


def _lines(page: pymupdf.Page) -> list[tuple[str, float, bool]]:
    """(text, size, bold) of each printed line, spans on one baseline joined."""
    rows: dict[int, list[tuple[float, str, float, bool]]] = {}
    for block in page.get_text("dict")["blocks"]:
        for line in block.get("lines", ()):
            for span in line["spans"]:
                if span["text"].strip():
                    y = round(span["origin"][1])
                    rows.setdefault(y, []).append((span["bbox"][0], span["text"], span["size"], "Bold" in span["font"]))
    out = []
    for y in sorted(rows):
        spans = sorted(rows[y])
        text = " ".join(" ".join(t.split()) for _, t, _, _ in spans)
        out.append((unicodedata.normalize("NFKC", text), max(s for *_, s, _ in spans), spans[0][3]))
    return out


def _contents_pages(doc: pymupdf.Document) -> set[int]:
    """The page headed "Contents"/"目录" and the pages after it full of dot leaders."""
    pages: set[int] = set()
    for index in range(min(40, doc.page_count)):
        lines = _lines(doc[index])
        leaders = sum(bool(_LEADER.search(text)) for text, *_ in lines)
        if (lines and key(lines[0][0]) in {"contents", "目录"}) or (pages and index + 1 == max(pages) + 1 and leaders >= 5):
            pages.add(index + 1)
    return pages


def _index_pages(doc: pymupdf.Document) -> set[int]:
    """From the page headed "Index"/"索引" (in the back half) to the end."""
    for index in range(doc.page_count // 2, doc.page_count):
        lines = [text for text, *_ in _lines(doc[index]) if not text.strip().isdigit()]
        if lines and key(lines[0]) in {"index", "索引"}:
            return set(range(index + 1, doc.page_count + 1))
    return set()


def _printed_contents(doc: pymupdf.Document, contents: list[int]) -> list[dict]:
    """Entries of the printed contents: number, title and printed page, mapped to the physical page."""
    by_label = {doc[i].get_label(): i + 1 for i in range(doc.page_count)}
    entries = []
    for number in contents:
        for text, *_ in _lines(doc[number - 1]):
            match = _CONTENTS_LINE.match(_LEADER.sub(" ", text).strip())
            if not match or key(match.group(2)) == "contents" or match.group(3) not in by_label:
                continue
            entries.append({"number": match.group(1), "title": match.group(2).strip(), "start_page": by_label[match.group(3)],
                            "level": 1 + (match.group(1) or "").count(".") if match.group(1) else 1, "order": len(entries)})
    return entries


def _appendix_subheadings(doc: pymupdf.Document) -> list[dict]:
    """Bold lines numbered like "A.1.1 Title": level-3 headings some books print but list nowhere."""
    found = []
    for index in range(doc.page_count):
        for text, size, bold in _lines(doc[index]):
            match = re.match(r"^([A-Z]\.\d+\.\d+)\s+(\S.*)$", text)
            if match and bold and size > 10.5:
                found.append({"number": match.group(1), "title": match.group(2), "start_page": index + 1, "level": 3, "order": 10**6})
    return found


# --- figures


def outline_figures(ours: tuple[Section, ...], reference: Reference, doc: pymupdf.Document) -> dict:
    """Reference entries matched in ours by number, title and start page (aligned in order), and ours printed
    as they say on their start page."""
    mine = [(s.number, key(s.title), s.start_page) for s in ours]
    theirs = [(r["number"], key(r["title"]), r["start_page"]) for r in reference.sections]
    matcher = difflib.SequenceMatcher(None, mine, theirs, autojunk=False)
    exact = sum(block.size for block in matcher.get_matching_blocks())
    titles = difflib.SequenceMatcher(None, [t for _, t, _ in mine], [t for _, t, _ in theirs], autojunk=False)
    pairs = [(mine[b.a + i], theirs[b.b + i]) for b in titles.get_matching_blocks() for i in range(b.size)]
    numbers = sum(a[0] == b[0] for a, b in pairs)
    pages = sum(a[2] == b[2] for a, b in pairs)
    differing = [
        {"ours": [list(x) for x in mine[i1:i2]][:3], "reference": [list(x) for x in theirs[j1:j2]][:3]}
        for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
    ]
    printed = sum(_printed_on_page(s, doc) for s in ours)
    return {
        "reference": reference.source,
        "entries": len(theirs),
        "ours": len(mine),
        "matched_exactly": exact,
        "matched_share": round(exact / len(theirs), 4) if theirs else None,
        "titles_aligned": len(pairs),
        "numbers_right": numbers,
        "start_pages_right": pages,
        "printed_on_start_page": f"{printed}/{len(ours)}",
        "differences": differing[:10],
    }


def _printed_on_page(section: Section, doc: pymupdf.Document) -> bool:
    """The section's title is printed on its start page, with its number in the few characters before it."""
    page = key(doc[section.start_page - 1].get_text())
    title = key(section.title)
    if not title:
        return True
    for match in re.finditer(re.escape(title), page):
        before = page[max(0, match.start() - 14) : match.start()]
        if section.number is None or key(section.number) in before:
            return True
    return False


def index_figures(book: Ingested, reference: Reference) -> dict:
    """What reached the index from pages that are not body text, and running heads left in chunk text."""
    titles = {key(s.title) for s in book.outline}
    leaked = [c.id for c in book.chunks if set(range(c.page_start, c.page_end + 1)) & reference.matter]
    heads = sum(
        1 for c in book.chunks for line in c.text.splitlines()
        if (m := _RUNNING_HEAD.match(line.strip())) and key(m.group(1)) in titles and len(line) < 90
    )
    code = [c for c in book.chunks if c.kind == ChunkKind.CODE]
    return {
        "matter_pages_in_reference": len(reference.matter),
        "chunks_on_matter_pages": len(leaked),
        "running_head_lines_in_chunks": heads,
        "left_out_pages": dict(Counter(book.left_out.values())),
        "left_out_parts": len(book.left_out_parts),
        "matter_pages_left_out": f"{len(reference.matter & set(book.left_out))}/{len(reference.matter)}",
        "chunks": dict(Counter(str(c.kind) for c in book.chunks)),
        "code_chunks_with_indented_lines": sum(bool(re.search(r"(?m)^ {2,}\S", c.text)) for c in code),
    }


def retrieval_figures(pdf: Path, data: Path, matter: set[int]) -> dict | None:
    """Section hit@5, MRR@10 and evidence@5 on the book's question files, with front/back matter in the top 5."""
    files = [path for path in QUESTIONS.get(pdf.stem, []) if path.exists()]
    if not files:
        return None
    from bookqa.evaluation.metrics import SECTION, evaluate, load_questions, retrieval_query
    from bookqa.index.embedded_model import ensure_embedded_model
    from bookqa.index.embedders import load_embedder
    from bookqa.library.store import Library

    settings = Settings.from_env(data_dir=data)
    ensure_embedded_model(settings.models_dir)
    embedder = load_embedder(settings)
    library = Library(settings)
    started = time.perf_counter()
    manifest, built = library.add(pdf, embedder=embedder)
    build_s = time.perf_counter() - started
    book = library.open(manifest.book_id, embedder)

    def measured(questions: list) -> dict:
        report = evaluate(questions, lambda q: book.retriever.search(retrieval_query(q, book.retriever.tokenizer), k=10), k=5, judge=SECTION)
        figures = report.figures()
        figures["matter_pages_in_top5"] = sum(1 for r in report.results for h in r.hits[:5] if h.chunk.page_start in matter)
        figures["misses"] = [m.question.id for m in report.misses]
        return figures

    by_file = {path.stem: load_questions(path) for path in files}
    figures = measured([q for questions in by_file.values() for q in questions])
    figures["files"] = {name: measured(questions) for name, questions in by_file.items()}
    figures["build_s" if built else "reused_library"] = round(build_s, 1) if built else manifest.book_id
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--books", type=Path, default=SHARED / "books", help="a folder of PDFs (default: ../shared/books)")
    parser.add_argument("--retrieval", action="store_true", help="also build each book that has questions and measure retrieval")
    parser.add_argument("--data", type=Path, default=Path("/tmp/bookqa-bench-structure"), help="the library for --retrieval")
    args = parser.parse_args()
    results = {}
    for pdf in sorted(args.books.glob("*.pdf")):
        started = time.perf_counter()
        book = ingest_pdf(pdf, pdf.stem, Settings())
        ingest_s = time.perf_counter() - started
        with pymupdf.open(pdf) as doc:
            reference = reference_for(pdf, doc)
            figures = {"title": book.title, "pages": len(book.pages), "ingest_s": round(ingest_s, 2),
                       "outline": outline_figures(book.outline, reference, doc), "index": index_figures(book, reference)}
        if args.retrieval:
            figures["retrieval"] = retrieval_figures(pdf, args.data, reference.matter)
        results[pdf.stem] = figures
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "structure.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    _print_table(results)


def _print_table(results: dict) -> None:
    rows = [
        ("title", lambda f: f["title"]),
        ("outline entries (reference / ours)", lambda f: f"{f['outline']['entries']} / {f['outline']['ours']}"),
        ("matched exactly (number, title, page)", lambda f: f"{f['outline']['matched_exactly']} ({f['outline']['matched_share']:.1%})"),
        ("titles found / numbers / start pages right", lambda f: "{titles_aligned} / {numbers_right} / {start_pages_right}".format(**f["outline"])),
        ("printed on their start page", lambda f: f["outline"]["printed_on_start_page"]),
        ("chunks on contents/index/bibliography pages", lambda f: f["index"]["chunks_on_matter_pages"]),
        ("running-head lines in chunks", lambda f: f["index"]["running_head_lines_in_chunks"]),
        ("matter pages left out", lambda f: f["index"]["matter_pages_left_out"]),
        ("left out", lambda f: ", ".join(f"{k} {v}" for k, v in f["index"]["left_out_pages"].items())),
        ("chunks", lambda f: ", ".join(f"{k} {v}" for k, v in f["index"]["chunks"].items())),
        ("code chunks with indented lines", lambda f: f["index"]["code_chunks_with_indented_lines"]),
        ("ingest seconds", lambda f: f["ingest_s"]),
    ]
    if any(f.get("retrieval") for f in results.values()):
        for name in ("hit@5", "mrr@10", "evidence@5", "matter_pages_in_top5", "questions"):
            rows.append((name, lambda f, n=name: (f.get("retrieval") or {}).get(n, "-")))
    books = list(results)
    width = max(len(label) for label, _ in rows)
    print(" | ".join([" " * width, *books]))
    for label, value in rows:
        print(" | ".join([label.ljust(width), *(str(value(results[b])) for b in books)]))
    for book, figures in results.items():
        for name, measured in ((figures.get("retrieval") or {}).get("files") or {}).items():
            print(f"{book} {name}: " + ", ".join(f"{k} {v}" for k, v in measured.items() if k != "misses")
                  + (f"; misses {' '.join(measured['misses'])}" if measured["misses"] else ""))


if __name__ == "__main__":
    main()
