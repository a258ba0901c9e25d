"""Words a book sets in bold inside its running text, page by page: where most textbooks introduce a term.

Read from the PDF itself (the index keeps no fonts). A bold run counts when it sits in a line that is not bold
throughout (a heading is) and is printed at the body size of those pages (not a caption, a formula's index or a
running head); neighbouring bold spans of a line make one run, and a run that ends a line goes on with the bold
start of the next ("reduction to a previously solved" / "problem").
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from bookqa.reading.pdf import open_pdf
from bookqa.text import normalize_chars

_BOLD_FLAG = 16
_SIZE_TOLERANCE = 0.1
"""A run is at body size when its size is within this share of the pages' most common size."""
_TRIM = re.compile(r"^[\s\"'“‘(（]+|[\s\"'”’)）:：,，.。;；]+$")


@dataclass(frozen=True)
class BoldRun:
    """A bold run: its ``text`` (normalised, trimmed of surrounding quotes, brackets and punctuation: "input:" ->
    "input") and the ``line`` it is printed in (normalised), which tells the sentence it belongs to."""

    text: str
    line: str


def bold_runs(pdf: Path, pages: Iterable[int]) -> dict[int, list[BoldRun]]:
    """Per physical page of ``pages``, the bold runs of its running text, in reading order."""
    numbers = sorted(set(pages))
    found: dict[int, list[BoldRun]] = {}
    with open_pdf(pdf) as doc:
        lines = {n: _lines(doc.load_page(n - 1)) for n in numbers if 1 <= n <= doc.page_count}
    sizes: Counter[float] = Counter()
    for page_lines in lines.values():
        for line in page_lines:
            for text, size, _ in line:
                sizes[round(size, 1)] += len(text.strip())
    if not sizes:
        return {}
    body = sizes.most_common(1)[0][0]
    for number, page_lines in lines.items():
        runs: list[BoldRun] = []
        continued = False  # the last run ended its line in bold: a bold start of the next line goes on with it
        for line in page_lines:
            if all(bold for text, _, bold in line if text.strip()):
                continue  # a heading, or a line that is all label
            printed = normalize_chars("".join(text for text, _, _ in line))
            run, first = "", True
            for text, size, bold in [*line, ("", 0.0, False)]:
                if bold and abs(size - body) <= _SIZE_TOLERANCE * body:
                    run += text
                    continue
                if text.isspace() and run:
                    run += text
                    continue
                trimmed = _TRIM.sub("", normalize_chars(" ".join(run.split())))
                if trimmed and first and continued and runs:
                    runs[-1] = BoldRun(f"{runs[-1].text} {trimmed}", runs[-1].line)
                elif trimmed:
                    runs.append(BoldRun(trimmed, printed))
                if text.strip() or run:
                    first = False
                continued = bool(trimmed) and text == ""  # the run reached the end of the line
                run = ""
        found[number] = runs
    return found


def _lines(page: object) -> list[list[tuple[str, float, bool]]]:
    """The lines of a PyMuPDF page as (text, size, bold) spans."""
    out = []
    for block in page.get_text("dict")["blocks"]:  # type: ignore[attr-defined]
        for line in block.get("lines", ()):
            spans = [(s["text"], s["size"], bool(s["flags"] & _BOLD_FLAG) or "bold" in s["font"].lower()) for s in line["spans"]]
            if any(text.strip() for text, _, _ in spans):
                out.append(spans)
    return out
