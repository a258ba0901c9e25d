"""The printed lines of each page, with position and font: what cleaning and chunking reason about.

A ``Row`` is one printed line: PyMuPDF lines that sit side by side on one baseline (a word and its
superscript, a formula and its number) are merged, and footnote marks glued to a word are dropped; a line
that is nothing but one such marked word is the label of a link printed as a footnote ("Discussions96") and
is dropped whole.
Row order is PyMuPDF's reading order, which suits single-column books. A page whose text was drawn out of
order (PyMuPDF then gives it one character per line, as in some Word exports) is put back in order by
baseline and position first. Pages without a text layer get their rows from OCR
(:mod:`bookqa.reading.ocr_layout`): the same records, with a recognition confidence and sizes estimated from
the printed lines' height.

A font is monospaced when its name or flags say so, or when every span the book sets in it advances by the
same width per character (code fonts embedded under names like "F53"); rows of code on one baseline (a
statement and its aligned comment) are one row, the gap kept as spaces. A bullet drawn from a symbol font
(Word's Wingdings/Symbol bullets extract as "¾" or a control character) reads "•".
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Collection, Iterable, Sequence

import pymupdf

from bookqa.text import has_cjk, is_cjk, normalize_chars, repair_urls

Progress = Callable[[int, int], None]

MARGIN_ZONE = 0.12
"""Share of the page height at the top and at the bottom where running heads and page numbers sit."""

_TEXT_FLAGS = pymupdf.TEXTFLAGS_DICT & ~pymupdf.TEXT_PRESERVE_IMAGES
_MONOSPACE_FONT = re.compile(r"mono|cour|consol|inconsolata|menlo|typewriter|code|^cmtt|^lmtt|fixed", re.IGNORECASE)
_SYMBOL_FONT = re.compile(r"symbol|wingding|webding|dingbat|zapf|marlett", re.IGNORECASE)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_LINK_LABEL = re.compile(r"[A-Za-z]+")
_LATIN = re.compile(r"[A-Za-z]")
_SENTENCE_PUNCTUATION = re.compile(r"[.,;:!?)”’]+")
_LETTER = re.compile(r"[^\W\d_]")
_SPACE = re.compile(r"\s")
_MONOSPACED = 8
_BOLD = 16
_EVEN_ADVANCE = 1.02
"""A font whose spans' widths per character stay within this ratio of each other is monospaced."""
_ALIKE_SHARE = 0.9
"""Share of a font's spans that must advance alike for it to be monospaced."""
_MIN_ADVANCE_SAMPLES = 8
"""Spans with letters, of different texts, needed before a font is judged monospaced by its advances."""
_OUT_OF_ORDER = 0.25
"""Share of a page's lines that begin left of a line before them on their baseline: drawn out of order."""


@dataclass(frozen=True)
class Row:
    """One printed line of a page.

    ``text``: characters normalised (``normalize_chars``), spacing inside the line kept, no newline.
    ``x0, y0, x1, y1``: its box in points, y growing downwards. ``size``: the font size of most of its
    characters.
    ``bold``/``mono``: most of its characters are bold / in a monospace font (for ``mono``, with no Latin letters
    in other fonts: prose that quotes code is not code). ``mono_start``: it begins in a monospace font and has no
    Latin letters in other fonts (a code comment in Chinese). ``spans``: per span, its font, width, whether its
    font is known to be monospaced, whether it holds Latin letters and whether it is only punctuation (what
    ``mono`` is judged on: a prose line that ends on inline code ends on punctuation in the text font).
    ``confidence``: for a line read by OCR, how sure the recogniser is of its text (0-1); None for the text layer.
    """

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    size: float
    bold: bool = False
    mono: bool = False
    mono_start: bool = False
    spans: tuple[tuple[str, float, bool, bool, bool], ...] = dataclasses.field(default=(), compare=False, repr=False)
    confidence: float | None = None

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass(frozen=True)
class PageLayout:
    """The rows of one page. ``number`` is 1-based and physical; ``label`` the printed page label.
    ``ocr``: the rows were recognised from the page's image (it has no usable text layer)."""

    number: int
    label: str
    width: float
    height: float
    rows: tuple[Row, ...]
    has_images: bool = False
    ocr: bool = False


def read_layouts(doc: pymupdf.Document, progress: Progress | None = None) -> list[PageLayout]:
    """Read every page of ``doc``; ``progress(done, total)`` is called after each page. Fonts found
    monospaced by their advances (:class:`FontAdvances`) mark their rows as code on every page."""
    total = doc.page_count
    advances = FontAdvances()
    layouts = []
    for index in range(total):
        page = doc.load_page(index)
        layouts.append(read_layout(page, advances))
        if progress is not None:
            progress(index + 1, total)
    monospaced = advances.monospaced()
    return [_with_monospace(layout, monospaced) for layout in layouts] if monospaced else layouts


def read_layout(page: pymupdf.Page, advances: "FontAdvances | None" = None) -> PageLayout:
    """The rows of one PyMuPDF page; ``advances`` collects the widths of its spans per font."""
    lines = [line for block in page.get_text("dict", flags=_TEXT_FLAGS)["blocks"] for line in block.get("lines", ())]
    lines = [line for line in lines if line["spans"]]
    if _drawn_out_of_order(lines):
        lines = _in_reading_order(lines)
    if advances is not None:
        advances.add(lines)
    rows = tuple(row for row in (_make_row(group) for group in _group_rows(lines)) if row.text)
    rect = page.rect
    return PageLayout(
        number=page.number + 1,
        label=page.get_label() or str(page.number + 1),
        width=rect.width,
        height=rect.height,
        rows=rows,
        has_images=bool(page.get_images()),
    )


class FontAdvances:
    """Per font, the width per character (over the font size) of the spans set in it that hold letters: a
    monospaced font gives one value whatever the text, a proportional one many. Spans without spaces are the
    evidence (a justified line stretches its spaces); spans with spaces count only for a font that has too few
    of those (a listing whose every line is one span). A font that sets Chinese is never judged so: the Latin
    letters of CJK fonts are often all half an em wide (SimSun), which makes no line of theirs code."""

    def __init__(self) -> None:
        self._advances: dict[tuple[str, bool], Counter[float]] = {}
        self._texts: dict[tuple[str, bool], set[str]] = {}
        self._wide: set[str] = set()

    def add(self, lines: Sequence[dict]) -> None:
        for line in lines:
            for span in line["spans"]:
                text = span["text"]
                if has_cjk(text):
                    self._wide.add(span["font"])
                    continue
                if not _LETTER.search(text):
                    continue
                key = (span["font"], _SPACE.search(text) is not None)
                advance = round((span["bbox"][2] - span["bbox"][0]) / len(text) / max(span["size"], 1.0), 3)
                self._advances.setdefault(key, Counter())[advance] += 1
                texts = self._texts.setdefault(key, set())
                if len(texts) < _MIN_ADVANCE_SAMPLES:
                    texts.add(text)

    def monospaced(self) -> frozenset[str]:
        """The fonts whose spans, of enough different texts, nearly all advance alike."""
        found = set()
        for font in {font for font, _ in self._advances} - self._wide:
            evidence = next(
                (key for key in ((font, False), (font, True)) if len(self._texts.get(key, ())) >= _MIN_ADVANCE_SAMPLES), None
            )
            if evidence is not None and _alike(self._advances[evidence]):
                found.add(font)
        return frozenset(found)


def _alike(advances: Counter[float]) -> bool:
    total = sum(advances.values())
    middle = sorted(advances.elements())[total // 2]
    alike = sum(n for advance, n in advances.items() if abs(advance - middle) <= (_EVEN_ADVANCE - 1) * middle)
    return alike >= _ALIKE_SHARE * total


def _with_monospace(layout: PageLayout, monospaced: frozenset[str]) -> PageLayout:
    """``layout`` with rows in ``monospaced`` fonts marked, and code rows sharing a baseline joined."""
    rows = [dataclasses.replace(row, **dict(zip(("mono", "mono_start"), _code_flags(row.spans, monospaced)))) for row in layout.rows]
    joined: list[Row] = []
    for row in rows:
        line = next(
            (j for j in range(len(joined) - 1, -1, -1) if row.mono and joined[j].mono and _same_baseline(joined[j], row) and row.x0 > joined[j].x1),
            None,
        )  # the code before it on its line, drawn just before or earlier (listings are often drawn colour by colour)
        if line is None:
            joined.append(row)
            continue
        before = joined[line]
        width = (before.x1 - before.x0) / max(len(before.text), 1)
        gap = " " * max(1, round((row.x0 - before.x1) / width))
        joined[line] = dataclasses.replace(before, text=before.text + gap + row.text, x1=row.x1, y0=min(before.y0, row.y0), y1=max(before.y1, row.y1))
    return dataclasses.replace(layout, rows=tuple(joined))


def _same_baseline(first: Row, second: Row) -> bool:
    return abs(first.y1 - second.y1) < 0.3 * min(first.size, second.size)


def _drawn_out_of_order(lines: Sequence[dict]) -> bool:
    """True when many lines begin left of an earlier line on their own baseline: text drawn in another order
    than it reads, which PyMuPDF returns one character per line."""
    backwards = 0
    ends: dict[int, float] = {}
    for line in lines:
        x0, y0, x1, y1 = line["bbox"]
        key = round((y0 + y1) / 2 / max(y1 - y0, 1.0))
        if key in ends and x0 < ends[key] - 0.5:
            backwards += 1
        ends[key] = max(ends.get(key, x1), x1)
    return backwards >= 4 and backwards >= _OUT_OF_ORDER * len(lines)


def _in_reading_order(lines: Sequence[dict]) -> list[dict]:
    """Lines sorted top to bottom by baseline (lines whose boxes share most of their height are on one), left to
    right within a baseline."""
    ordered = sorted(lines, key=lambda line: (line["bbox"][3], line["bbox"][0]))
    rows: list[list[dict]] = []
    for line in ordered:
        _, y0, _, y1 = line["bbox"]
        if rows:
            _, ry0, _, ry1 = rows[-1][0]["bbox"]
            if min(ry1, y1) - max(ry0, y0) >= 0.5 * min(ry1 - ry0, y1 - y0):
                rows[-1].append(line)
                continue
        rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda line: line["bbox"][0])]


def body_font_size(layouts: Iterable[PageLayout]) -> float:
    """The font size most characters of the book are set in."""
    return font_size_of(row for layout in layouts for row in layout.rows)


def font_size_of(rows: Iterable[Row]) -> float:
    """The font size most characters of ``rows`` are set in (10 for none)."""
    sizes: Counter[float] = Counter()
    for row in rows:
        sizes[round(row.size, 1)] += len(row.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def left_edges(layouts: Sequence[PageLayout], body_size: float) -> tuple[float, ...]:
    """Where lines of body text begin: one edge, or one per side for pages that face each other (an edge where
    at least a quarter as many body-size rows begin as at the most common one)."""
    edges = Counter(round(row.x0) for layout in layouts for row in layout.rows if abs(row.size - body_size) < 0.5)
    top = edges.most_common(1)[0][1] if edges else 0
    return tuple(float(edge) for edge, count in edges.items() if 4 * count >= top)


def _group_rows(lines: Sequence[dict]) -> list[list[dict]]:
    """Group PyMuPDF lines that continue each other on one baseline, keeping reading order."""
    groups: list[list[dict]] = []
    for line in lines:
        if groups and _continues(groups[-1][-1], line):
            groups[-1].append(line)
        else:
            groups.append([line])
    return groups


def _continues(previous: dict, line: dict) -> bool:
    _, py0, px1, py1 = previous["bbox"]
    x0, y0, _, y1 = line["bbox"]
    overlap = min(py1, y1) - max(py0, y0)
    size = max(span["size"] for span in previous["spans"])
    return overlap >= 0.5 * min(py1 - py0, y1 - y0) and 0 <= x0 - px1 + 1 < 2 * size


def _make_row(lines: list[dict]) -> Row:
    spans = lines[0]["spans"] if len(lines) == 1 else [span for line in lines for span in line["spans"]]
    main_size = max(span["size"] for span in spans)
    pieces: list[str] = []
    sizes: dict[float, float] = {}
    styles: list[tuple[str, float, bool, bool, bool]] = []
    bold = total = 0.0
    marked = False
    previous_end = None
    for position, span in enumerate(spans):
        piece = span["text"]
        x0, _, x1, _ = span["bbox"]
        size = span["size"]
        if piece.isdigit() and pieces and _is_footnote_mark(size, main_size, pieces[-1]):
            previous_end = x1
            marked = True
            continue
        if piece.isspace() and pieces and is_cjk(pieces[-1][-1:]):
            continue  # a space after Chinese text (often left behind by a footnote mark)
        if not pieces and position + 1 < len(spans) and _is_bullet(piece, span, spans[position + 1]):
            piece = "•"
        if previous_end is not None and x0 - previous_end > 0.25 * size and _needs_space(pieces[-1], piece):
            pieces.append(" ")
        pieces.append(piece)
        previous_end = x1
        if piece.isspace():
            continue
        weight = x1 - x0
        total += weight
        sizes[size] = sizes.get(size, 0.0) + weight
        is_bold, is_mono = _font_style(span["font"], span["flags"])
        if is_bold:
            bold += weight
        styles.append((span["font"], weight, is_mono, bool(_LATIN.search(piece)), bool(_SENTENCE_PUNCTUATION.fullmatch(piece.strip()))))
    x0s, y0s, x1s, y1s = zip(*(line["bbox"] for line in lines))
    text = repair_urls(normalize_chars("".join(pieces)).replace("\n", " ").strip())
    if marked and _LINK_LABEL.fullmatch(text):
        text = ""
    return Row(
        text=text,
        x0=min(x0s),
        y0=min(y0s),
        x1=max(x1s),
        y1=max(y1s),
        size=round(max(sizes, key=sizes.__getitem__) if sizes else main_size, 1),
        bold=2 * bold > total,
        **dict(zip(("mono", "mono_start"), _code_flags(tuple(styles)))),
        spans=tuple(styles),
    )


def _code_flags(spans: Sequence[tuple[str, float, bool, bool, bool]], monospaced: Collection[str] = ()) -> tuple[bool, bool]:
    """``(mono, mono_start)`` of a row from its spans (see :class:`Row`); ``monospaced``: fonts found monospaced
    by their advances."""
    total = mono = 0.0
    latin_outside = False
    for font, width, is_mono, latin, _ in spans:
        total += width
        if is_mono or font in monospaced:
            mono += width
        elif latin:
            latin_outside = True
    starts = bool(spans) and (spans[0][2] or spans[0][0] in monospaced)
    # a line of prose that ends on inline code ("... the value of" / "circumference.") ends outside the code font
    prose_end = len(spans) > 1 and not (spans[-1][2] or spans[-1][0] in monospaced) and spans[-1][4]
    return 2 * mono > total and not latin_outside and not prose_end, starts and not latin_outside


def _is_bullet(piece: str, span: dict, following: dict) -> bool:
    """A row's first span that is one glyph of a symbol font, or one control character, set apart from the text
    after it: a bullet (a big bracket of a formula, which extracts as a control character too, is not set apart)."""
    glyph = piece.strip()
    if len(glyph) != 1 or not (_SYMBOL_FONT.search(span["font"]) or _CONTROL.match(glyph)):
        return False
    return following["text"][:1].isspace() or following["bbox"][0] - span["bbox"][2] >= 0.5 * span["size"]


def _needs_space(before: str, after: str) -> bool:
    """Whether a gap between two spans is a word space (never inside Chinese text)."""
    return bool(before) and bool(after) and not before[-1].isspace() and not after[0].isspace() and not (
        is_cjk(before[-1]) or is_cjk(after[0])
    )


@functools.lru_cache(maxsize=512)
def _font_style(font: str, flags: int) -> tuple[bool, bool]:
    """(bold, monospace) for a span's font name and PyMuPDF flags."""
    bold = bool(flags & _BOLD) or "bold" in font.lower()
    mono = bool(flags & _MONOSPACED) or bool(_MONOSPACE_FONT.search(font))
    return bold, mono


def _is_footnote_mark(size: float, main_size: float, before: str) -> bool:
    """A small number glued to a word ("Discussions96"), not an exponent ("x2", "L2" after Chinese)."""
    if size > 0.85 * main_size or len(before) < 2:
        return False
    last, second = before[-1], before[-2]
    return last.isalpha() and second.isalpha() and last.isascii() == second.isascii()
