"""Mechanical checks for the evaluation sets in this folder, book by book.

    python bench/questions/check_questions.py [--books DIR] [--dev DIR] [--dir DIR]

Books and their files (a missing book or file is reported as a problem):
- d2l-zh (outline: books/d2l-zh.sections.json): extra_sections.jsonl (s01..), broad_sections.jsonl (b01..),
  extra_evidence.jsonl (e01..); dev sets dev_questions.jsonl and dev_evidence.jsonl.
- Think Python (outline: thinkpython2.sections.json in this folder, written from the printed headings):
  thinkpython_sections.jsonl (tps01..), thinkpython_evidence.jsonl (tpe01..); dev sets
  thinkpython_dev_questions.jsonl and thinkpython_dev_evidence.jsonl.
- d2l-en sample (outline: books/d2l-en-sample.sections.json): d2len_sections.jsonl (ens01..),
  d2len_evidence.jsonl (ene01..); no dev sets.
- off_topic.jsonl (ot01..): questions none of the three books covers.

Section files: every gold entry must name a section of the book's outline with exactly that number, title and
[start_page, end_page]; a follow-up row's history must be user turns.
Evidence files: every evidence string, NFKC-normalised with all whitespace removed, must occur in the same
normalisation of page.get_text() of the stated physical page (or that page plus the next one, for a passage
across a page break), and the stated section's page range must include the page; types are why/fact/code
(and en, an English question on the Chinese book).
All question files: ids in order, no query repeated within a book's files or copied from its dev sets, and no
target section equal to, inside, or containing a section that the book's dev sets target, so that the sets stay
independent of them. Rows with a "lang" field must say "zh" exactly when the query has Han characters.
An outline file in this folder is checked against the PDF: every PDF outline entry is in it (level, title,
first page), every heading is printed on its first page, labels are the printed page labels, and each range
ends on or just before the page where the next heading of the same or a higher level starts (front-matter
contents pages may lie between), inside its parent's range.
off_topic.jsonl: each row's "terms" (words of its query that name its topic) occur in none of the books, as
whole words, case-insensitively, with line-end hyphenation undone; names listed in "in_passing" must occur on
exactly the listed pages (a mention the book does not explain); the whole query occurs in no book; "kind" is
absent (everyday) or "near" (a topic next to the books' fields that they do not treat).

Exits 1 and lists the problems if any check fails. Needs PyMuPDF and the books folder (not part of a user's
clone), so it is a bench script, not a test.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
HYPHENS = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2212"})


@dataclass(frozen=True)
class BookSets:
    """One book, its outline, its dev sets and the question files written for it."""

    name: str
    pdf: str
    outline: Path
    dev: tuple[str, ...]
    section_files: tuple[tuple[str, str], ...]
    evidence_files: tuple[tuple[str, str], ...]
    evidence_types: frozenset[str]
    evidence_length: tuple[int, int]
    own_outline: bool = False


@dataclass
class Book:
    """A book read once: page texts in evidence form and in search form, labels, outline by number."""

    sets: BookSets
    squashed: list[str]
    searchable: list[str]
    labels: list[str]
    raw: list[str]
    toc: list
    outline: list[dict]
    sections: dict[str, dict] = field(default_factory=dict)


SHARED = next((p for p in (Path(__file__).resolve().parents[i] / "shared" for i in (3, 4)) if p.is_dir()), Path("../shared"))
"""The shared books and dev questions beside the checkout (or beside the folder of worktrees)."""


def norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def searchable(text: str) -> str:
    """Page text for term search: NFKC, one kind of hyphen, spaces collapsed; followed by the same text with
    line-end hyphenation undone (a term is found in either)."""
    text = unicodedata.normalize("NFKC", text).translate(HYPHENS)
    joined = re.sub(r"(\w)-\s*\n\s*(\w)", r"\1\2", text)
    return re.sub(r"\s+", " ", text) + "\n\n" + re.sub(r"\s+", " ", joined)


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def dev_targets(dev_dir: Path, names: tuple[str, ...]) -> tuple[set[str], set[str]]:
    """Sections the dev sets target and their queries (normalised)."""
    targets: set[str] = set()
    queries: set[str] = set()
    for name in names:
        path = dev_dir / name
        if not path.exists():
            continue
        for row in read_jsonl(path):
            targets.update(g["section"] for g in row.get("gold", []))
            if "section" in row:
                targets.add(row["section"])
            queries.add(norm(row["query"]))
    return targets, queries


def check_ids(rows: list[dict], prefix: str, name: str, seen: set[str], errors: list[str],
              dev_queries: frozenset[str] = frozenset()) -> None:
    want = [f"{prefix}{i:02d}" for i in range(1, len(rows) + 1)]
    got = [r.get("id") for r in rows]
    if not rows:
        errors.append(f"{name}: no rows")
    elif got != want:
        errors.append(f"{name}: ids are not {want[0]}..{want[-1]} in order")
    for r in rows:
        q = r.get("query")
        if not isinstance(q, str) or not q.strip():
            errors.append(f"{r.get('id')}: empty query")
            continue
        if norm(q) in dev_queries:
            errors.append(f"{r.get('id')}: query copied from the dev sets")
        elif norm(q) in seen:
            errors.append(f"{r.get('id')}: repeated query")
        seen.add(norm(q))
        if "lang" in r and r["lang"] != ("zh" if HAN.search(q) else "en"):
            errors.append(f"{r.get('id')}: lang {r['lang']!r} does not match the query")


def check_sections(rows, book: Book, dev, name, errors) -> None:
    for r in rows:
        rid = r.get("id")
        hist = r.get("history")
        if hist is not None:
            if not (isinstance(hist, list) and hist and all(
                    isinstance(h, dict) and h.get("role") == "user" and isinstance(h.get("content"), str)
                    and h["content"].strip() for h in hist)):
                errors.append(f"{rid}: history must be a non-empty list of user turns")
        gold = r.get("gold")
        if not isinstance(gold, list) or not gold:
            errors.append(f"{rid}: no gold")
            continue
        for g in gold:
            s = book.sections.get(g.get("section"))
            if s is None:
                errors.append(f"{rid}: section {g.get('section')!r} not in {book.sets.outline.name}")
                continue
            if g.get("title") != s["title"]:
                errors.append(f"{rid}: {g['section']} title {g.get('title')!r} != {s['title']!r}")
            if g.get("pages") != [s["start_page"], s["end_page"]]:
                errors.append(f"{rid}: {g['section']} pages {g.get('pages')} != "
                              f"{[s['start_page'], s['end_page']]}")
            for d in dev:
                if overlaps(g["section"], d):
                    errors.append(f"{rid}: gold {g['section']} overlaps dev target {d}")


def check_evidence(rows, book: Book, dev, name, errors) -> None:
    n_pages = len(book.squashed)
    low, high = book.sets.evidence_length
    for r in rows:
        rid = r.get("id")
        if r.get("type") not in book.sets.evidence_types:
            errors.append(f"{rid}: type {r.get('type')!r} not in {sorted(book.sets.evidence_types)}")
        pages = r.get("pages")
        if not (isinstance(pages, list) and len(pages) == 1 and isinstance(pages[0], int)
                and 1 <= pages[0] <= n_pages):
            errors.append(f"{rid}: pages must be [one physical page in 1..{n_pages}]")
            continue
        page = pages[0]
        s = book.sections.get(r.get("section"))
        if s is None:
            errors.append(f"{rid}: section {r.get('section')!r} not in {book.sets.outline.name}")
        elif not s["start_page"] <= page <= s["end_page"]:
            errors.append(f"{rid}: page {page} outside {s['number']} [{s['start_page']}, {s['end_page']}]")
        else:
            for d in dev:
                if overlaps(s["number"], d):
                    errors.append(f"{rid}: section {s['number']} overlaps dev target {d}")
        evidence = r.get("evidence")
        if not (isinstance(evidence, list) and evidence and all(isinstance(e, str) for e in evidence)):
            errors.append(f"{rid}: evidence must be a non-empty list of strings")
            continue
        here = book.squashed[page - 1]
        across = here + (book.squashed[page] if page < n_pages else "")
        for e in evidence:
            ne = norm(e)
            if not low <= len(ne) <= high:
                errors.append(f"{rid}: evidence {e!r} is {len(ne)} characters (want {low}-{high})")
            if ne not in here and ne not in across:
                errors.append(f"{rid}: evidence {e!r} not on page {page}")
            elif ne not in here:
                print(f"note {rid}: evidence runs onto page {page + 1}")


def printed_heading(entry: dict) -> str:
    number, title = entry["number"], entry["title"]
    if number is None:
        return norm(title)
    if entry["level"] == 1:
        return norm(("Appendix " if number.isalpha() else "Chapter ") + number + title)
    return norm(number + title)


def is_contents_page(text: str) -> bool:
    return "Contents" in norm(text)[:20]


def check_outline(book: Book, errors: list[str]) -> None:
    """An outline written here: complete against the PDF outline, headings printed where it says, ranges
    consistent with the next heading and nested in their parents."""
    name = book.sets.outline.name
    entries = book.outline
    n_pages = len(book.squashed)
    keyed = {(e["level"], norm(e["title"]), e["start_page"]) for e in entries}
    for level, title, page, *_ in book.toc:
        if (level, norm(title), page) not in keyed:
            errors.append(f"{name}: PDF outline entry {title!r} (level {level}, page {page}) missing")
    for i, e in enumerate(entries):
        where = f"{name}: {e['number'] or e['title']}"
        first, last = e["start_page"], e["end_page"]
        if not 1 <= first <= last <= n_pages:
            errors.append(f"{where}: bad page range [{first}, {last}]")
            continue
        if printed_heading(e) not in book.squashed[first - 1]:
            errors.append(f"{where}: heading not printed on page {first}")
        if (e["start_label"], e["end_label"]) != (book.labels[first - 1], book.labels[last - 1]):
            errors.append(f"{where}: labels {e['start_label']}..{e['end_label']} != "
                          f"{book.labels[first - 1]}..{book.labels[last - 1]}")
        nxt = next((f for f in entries[i + 1:] if f["level"] <= e["level"]), None)
        if nxt is None:
            if last != n_pages:
                errors.append(f"{where}: last range should end on page {n_pages}")
        elif not nxt["start_page"] - 1 <= last <= nxt["start_page"]:
            gap = range(last + 1, nxt["start_page"])
            if last > nxt["start_page"] or not all(is_contents_page(book.raw[p - 1]) for p in gap):
                errors.append(f"{where}: ends on {last}, next heading starts on {nxt['start_page']}")
        parent = next((f for f in reversed(entries[:i]) if f["level"] < e["level"]), None)
        if parent and not parent["start_page"] <= first <= last <= parent["end_page"]:
            errors.append(f"{where}: range outside its parent {parent['number'] or parent['title']}")
        if e["level"] > (parent["level"] + 1 if parent else 1):
            errors.append(f"{where}: level {e['level']} under level {parent['level'] if parent else 0}")


def term_pattern(term: str) -> re.Pattern:
    term = unicodedata.normalize("NFKC", term).translate(HYPHENS)
    if HAN.search(term):
        return re.compile(re.escape(term))
    return re.compile(r"(?<![A-Za-z0-9])" + re.escape(term) + r"(?![A-Za-z0-9])", re.I)


def occurrences(term: str, books: list[Book]) -> dict[str, list[int]]:
    pat = term_pattern(term)
    found = {b.sets.name: [i + 1 for i, t in enumerate(b.searchable) if pat.search(t)] for b in books}
    return {k: v for k, v in found.items() if v}


def check_off_topic(rows: list[dict], books: list[Book], errors: list[str]) -> None:
    check_ids(rows, "ot", "off_topic", set(), errors)
    shipped = Path(__file__).resolve().parents[2] / "bookqa" / "answering" / "data" / "off_topic.json"
    calibrated = {norm(q) for pair in json.loads(shipped.read_text(encoding="utf-8"))["pairs"] for q in pair.values()}
    errors.extend(f"{r.get('id')}: also a calibration question (bookqa/answering/data/off_topic.json); the bench would "
                  "measure the cut on what set it" for r in rows if norm(r.get("query") or "") in calibrated)
    flat = [re.sub(r"\s+", "", t).lower() for b in books for t in b.searchable]
    for r in rows:
        rid = r.get("id")
        query = r.get("query") or ""
        if r.get("lang") not in ("en", "zh"):
            errors.append(f"{rid}: lang must be en or zh")
        if r.get("kind") not in (None, "near"):
            errors.append(f"{rid}: kind {r.get('kind')!r} is neither absent nor 'near'")
        squashed = re.sub(r"\s+", "", unicodedata.normalize("NFKC", query).translate(HYPHENS)).lower()
        if any(squashed in t for t in flat):
            errors.append(f"{rid}: the whole query occurs in a book")
        terms = r.get("terms")
        if not (isinstance(terms, list) and terms and all(isinstance(t, str) and t for t in terms)):
            errors.append(f"{rid}: terms must be a non-empty list of strings")
            terms = []
        for term in terms:
            if not term_pattern(term).search(unicodedata.normalize("NFKC", query).translate(HYPHENS)):
                errors.append(f"{rid}: term {term!r} is not in the query")
            found = occurrences(term, books)
            if found:
                errors.append(f"{rid}: term {term!r} occurs in {found}")
        for term, claimed in (r.get("in_passing") or {}).items():
            if not term_pattern(term).search(query):
                errors.append(f"{rid}: in_passing {term!r} is not in the query")
            found = occurrences(term, books)
            if found != claimed:
                errors.append(f"{rid}: in_passing {term!r} occurs in {found}, row says {claimed}")


BOOK_SETS = (
    BookSets("d2l-zh", "d2l-zh.pdf", Path("d2l-zh.sections.json"),
             ("dev_questions.jsonl", "dev_evidence.jsonl"),
             (("extra_sections.jsonl", "s"), ("broad_sections.jsonl", "b")),
             (("extra_evidence.jsonl", "e"),),
             frozenset({"why", "fact", "code", "en"}), (8, 25)),
    BookSets("thinkpython2", "thinkpython2.pdf", HERE / "thinkpython2.sections.json",
             ("thinkpython_dev_questions.jsonl", "thinkpython_dev_evidence.jsonl"),
             (("thinkpython_sections.jsonl", "tps"),),
             (("thinkpython_evidence.jsonl", "tpe"),),
             frozenset({"why", "fact", "code"}), (10, 60), own_outline=True),
    BookSets("d2l-en-sample", "d2l-en-sample.pdf", Path("d2l-en-sample.sections.json"),
             (),
             (("d2len_sections.jsonl", "ens"),),
             (("d2len_evidence.jsonl", "ene"),),
             frozenset({"why", "fact", "code"}), (10, 60)),
)
"""The books the sets in this folder are written for (an outline path without a folder is in --books)."""


def open_book(sets: BookSets, books_dir: Path) -> Book:
    import pymupdf

    outline_path = sets.outline if sets.outline.is_absolute() else books_dir / sets.outline
    with pymupdf.open(books_dir / sets.pdf) as doc:
        raw = [p.get_text() for p in doc]
        labels = [p.get_label() for p in doc]
        toc = doc.get_toc()
    outline = json.loads(outline_path.read_text(encoding="utf-8"))
    return Book(sets, [norm(t) for t in raw], [searchable(t) for t in raw], labels, raw, toc, outline)


def summary(name: str, rows: list[dict]) -> str:
    parts = [f"{len(rows)} rows"]
    follow = sum("history" in r for r in rows)
    if follow:
        parts.append(f"{follow} follow-ups")
    zh = sum(r.get("lang") == "zh" for r in rows)
    if zh:
        parts.append(f"{zh} zh")
    types: dict[str, int] = {}
    for r in rows:
        if "type" in r:
            types[r["type"]] = types.get(r["type"], 0) + 1
    if types:
        parts.append(str(dict(sorted(types.items()))))
    return f"{name}: " + ", ".join(parts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--books", type=Path, default=SHARED / "books")
    ap.add_argument("--dev", type=Path, default=SHARED / "eval")
    ap.add_argument("--dir", type=Path, default=HERE, help="folder with the question files")
    args = ap.parse_args()

    errors: list[str] = []
    books: list[Book] = []
    for sets in BOOK_SETS:
        book = open_book(sets, args.books)
        books.append(book)
        for s in book.outline:
            if s["number"]:
                if s["number"] in book.sections:
                    errors.append(f"{sets.outline.name}: number {s['number']} appears twice")
                book.sections[s["number"]] = s
        if sets.own_outline:
            check_outline(book, errors)
        dev, dev_queries = dev_targets(args.dev, sets.dev)
        seen: set[str] = set()
        line = [f"{sets.name} (outline {len(book.outline)} entries, dev targets {len(dev)})"]
        for files, check in ((sets.section_files, check_sections), (sets.evidence_files, check_evidence)):
            for name, prefix in files:
                path = args.dir / name
                if not path.exists():
                    errors.append(f"{name}: missing")
                    continue
                rows = read_jsonl(path)
                check_ids(rows, prefix, name, seen, errors, frozenset(dev_queries))
                check(rows, book, dev, name, errors)
                line.append(summary(name, rows))
        print("; ".join(line))

    off_path = args.dir / "off_topic.jsonl"
    if off_path.exists():
        rows = read_jsonl(off_path)
        check_off_topic(rows, books, errors)
        near = [r for r in rows if r.get("kind") == "near"]
        far = [r for r in rows if r.get("kind") is None]
        print(f"off_topic: {len(far)} everyday ({sum(r.get('lang') == 'zh' for r in far)} zh), "
              f"{len(near)} near ({sum(r.get('lang') == 'zh' for r in near)} zh), "
              f"{sum(bool(r.get('in_passing')) for r in rows)} with names in passing")
    else:
        errors.append("off_topic.jsonl: missing")

    for e in errors:
        print("FAIL", e)
    print("OK" if not errors else f"{len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
