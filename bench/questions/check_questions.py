"""Mechanical checks for the extra d2l-zh evaluation sets in this folder.

    python bench/questions/check_questions.py [--books DIR] [--dev DIR]

extra_sections.jsonl (subsection questions) and broad_sections.jsonl (chapter-section
questions in the style of the dev file): every gold entry must name a section of
d2l-zh.sections.json with exactly that number, title and [start_page, end_page]; a
follow-up row's history must be user turns.
extra_evidence.jsonl: every evidence string, NFKC-normalised with all whitespace
removed, must occur in the same normalisation of page.get_text() of the stated
physical page (or that page plus the next one, for a passage across a page
break), and the stated section's page range must include the page.
All: ids s01.. / b01.. / e01.. in order, no query repeated, and (when the dev sets
are found) no target section equal to, inside, or containing a section that the
dev sets target, so that the extra sets stay independent of them.

Exits 1 and lists the problems if any check fails. Needs PyMuPDF and the
books folder (not part of a user's clone), so it is a bench script, not a test.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
EVIDENCE_TYPES = {"why", "fact", "code", "en"}


def norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def dev_targets(dev_dir: Path) -> set[str]:
    targets: set[str] = set()
    q, e = dev_dir / "dev_questions.jsonl", dev_dir / "dev_evidence.jsonl"
    if q.exists():
        for row in read_jsonl(q):
            targets.update(g["section"] for g in row["gold"])
    if e.exists():
        targets.update(row["section"] for row in read_jsonl(e))
    return targets


def check_ids(rows: list[dict], prefix: str, name: str, errors: list[str]) -> None:
    want = [f"{prefix}{i:02d}" for i in range(1, len(rows) + 1)]
    got = [r.get("id") for r in rows]
    if got != want:
        errors.append(f"{name}: ids are not {want[0]}..{want[-1]} in order")
    seen: set[str] = set()
    for r in rows:
        q = r.get("query")
        if not isinstance(q, str) or not q.strip():
            errors.append(f"{r.get('id')}: empty query")
        elif norm(q) in seen:
            errors.append(f"{r.get('id')}: repeated query")
        else:
            seen.add(norm(q))


def check_sections(rows, sections, dev, errors, prefix: str, name: str) -> None:
    check_ids(rows, prefix, name, errors)
    for r in rows:
        rid = r.get("id")
        hist = r.get("history")
        if hist is not None:
            if not (isinstance(hist, list) and hist and all(
                    h.get("role") == "user" and isinstance(h.get("content"), str) and h["content"]
                    for h in hist)):
                errors.append(f"{rid}: history must be a non-empty list of user turns")
        gold = r.get("gold")
        if not isinstance(gold, list) or not gold:
            errors.append(f"{rid}: no gold")
            continue
        for g in gold:
            s = sections.get(g.get("section"))
            if s is None:
                errors.append(f"{rid}: section {g.get('section')!r} not in sections.json")
                continue
            if g.get("title") != s["title"]:
                errors.append(f"{rid}: {g['section']} title {g.get('title')!r} != {s['title']!r}")
            if g.get("pages") != [s["start_page"], s["end_page"]]:
                errors.append(f"{rid}: {g['section']} pages {g.get('pages')} != "
                              f"{[s['start_page'], s['end_page']]}")
            for d in dev:
                if overlaps(g["section"], d):
                    errors.append(f"{rid}: gold {g['section']} overlaps dev target {d}")


def check_evidence(rows, sections, page_text, dev, errors) -> None:
    check_ids(rows, "e", "extra_evidence", errors)
    n_pages = len(page_text)
    for r in rows:
        rid = r.get("id")
        if r.get("type") not in EVIDENCE_TYPES:
            errors.append(f"{rid}: type {r.get('type')!r} not in {sorted(EVIDENCE_TYPES)}")
        pages = r.get("pages")
        if not (isinstance(pages, list) and len(pages) == 1 and isinstance(pages[0], int)
                and 1 <= pages[0] <= n_pages):
            errors.append(f"{rid}: pages must be [one physical page in 1..{n_pages}]")
            continue
        page = pages[0]
        s = sections.get(r.get("section"))
        if s is None:
            errors.append(f"{rid}: section {r.get('section')!r} not in sections.json")
        elif not s["start_page"] <= page <= s["end_page"]:
            errors.append(f"{rid}: page {page} outside {s['number']} "
                          f"[{s['start_page']}, {s['end_page']}]")
        else:
            for d in dev:
                if overlaps(s["number"], d):
                    errors.append(f"{rid}: section {s['number']} overlaps dev target {d}")
        evidence = r.get("evidence")
        if not (isinstance(evidence, list) and evidence and all(isinstance(e, str) for e in evidence)):
            errors.append(f"{rid}: evidence must be a non-empty list of strings")
            continue
        here = page_text[page - 1]
        across = here + (page_text[page] if page < n_pages else "")
        for e in evidence:
            ne = norm(e)
            if not 8 <= len(ne) <= 25:
                errors.append(f"{rid}: evidence {e!r} is {len(ne)} characters (want 8-25)")
            if ne not in here and ne not in across:
                errors.append(f"{rid}: evidence {e!r} not on page {page}")
            elif ne not in here:
                print(f"note {rid}: evidence runs onto page {page + 1}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--books", type=Path, default=Path("/work/shared/books"))
    ap.add_argument("--dev", type=Path, default=Path("/work/shared/eval"))
    ap.add_argument("--dir", type=Path, default=HERE, help="folder with the extra_*.jsonl files")
    args = ap.parse_args()

    import pymupdf

    outline = json.loads((args.books / "d2l-zh.sections.json").read_text(encoding="utf-8"))
    sections: dict[str, dict] = {}
    errors: list[str] = []
    for s in outline:
        if s["number"]:
            if s["number"] in sections:
                errors.append(f"sections.json: number {s['number']} appears twice")
            sections[s["number"]] = s
    with pymupdf.open(args.books / "d2l-zh.pdf") as doc:
        page_text = [norm(p.get_text()) for p in doc]
    dev = dev_targets(args.dev)

    sec_rows = read_jsonl(args.dir / "extra_sections.jsonl")
    broad_rows = read_jsonl(args.dir / "broad_sections.jsonl")
    ev_rows = read_jsonl(args.dir / "extra_evidence.jsonl")
    check_sections(sec_rows, sections, dev, errors, "s", "extra_sections")
    check_sections(broad_rows, sections, dev, errors, "b", "broad_sections")
    check_evidence(ev_rows, sections, page_text, dev, errors)
    dev_queries: set[str] = set()
    for name in ("dev_questions.jsonl", "dev_evidence.jsonl"):
        if (args.dev / name).exists():
            dev_queries.update(norm(r["query"]) for r in read_jsonl(args.dev / name))
    for r in sec_rows + broad_rows + ev_rows:
        if norm(r.get("query", "")) in dev_queries:
            errors.append(f"{r['id']}: query copied from the dev sets")

    types: dict[str, int] = {}
    for r in ev_rows:
        types[r.get("type")] = types.get(r.get("type"), 0) + 1
    print(f"extra_sections: {len(sec_rows)} rows "
          f"({sum('history' in r for r in sec_rows)} follow-ups); "
          f"broad_sections: {len(broad_rows)} rows ({sum('history' in r for r in broad_rows)} follow-ups); "
          f"extra_evidence: {len(ev_rows)} rows {dict(sorted(types.items()))}; "
          f"dev targets checked: {len(dev)}")
    for e in errors:
        print("FAIL", e)
    print("OK" if not errors else f"{len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
