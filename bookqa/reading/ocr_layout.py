"""The rows of a page read by OCR: recognised lines straightened, put in reading order and made into the same
:class:`~bookqa.reading.layout.Row` records the text layer gives, so outline detection, cleaning and chunking work
on them unchanged; and page labels from the page numbers printed on the pages.

Reading order comes from the boxes: a slightly rotated scan is straightened first (the median slant of its long
lines); a page whose lines leave a vertical gutter free between two text columns reads column by column within
each band between lines that cross the gutter (a heading or a figure over both columns), recursively (three
columns); other lines read top to bottom, pieces of one printed line left to right. Pieces of a line set close
together become one row; lines recognised below the confidence floor are left out.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

from bookqa.reading.layout import PageLayout, Row, body_font_size
from bookqa.reading.ocr import OcrLine, OcrPage
from bookqa.text import HAN, is_cjk, normalize_chars

MERGE_GAP = 2.5
"""Pieces of one printed line closer than this many font sizes are one row (wider gaps: a formula and its number,
a running head and the page number)."""
SIZE_BAND = 0.12
"""Rows read by OCR whose estimated size is within this share of the body size are taken to be body text: the
estimate varies a little from line to line, body text does not."""
GUTTER = 1.0
"""The least width of a gutter between two text columns, in body-line heights."""
COLUMN_SHARE = 0.3
"""A side of a gutter is a text column when its widest line is at least this share of the width of the lines
around it (not a few equation numbers or code comments in a row)."""
SHADE = 8
"""How much darker than the paper (of 255 grey levels) the ground under a line must be for the line to count as
set apart on a shaded background, as code listings often are: such rows are taken as code."""
_MIN_SKEW = 0.05
"""Degrees below which a scan is taken as straight."""
_SPACED_NUMBER = re.compile(r"(?<=\d)(?: \. ?|\. )(?=\d)")
"""A space OCR puts next to the dot of a section number ("1. 2" for "1.2")."""
_GLUED_NUMBER = re.compile(rf"^(\d{{1,3}}(?:\.\d{{1,3}})+|\d{{1,3}}(?=[{HAN}]))(?=[A-Za-z{HAN}])")
"""A section number OCR glues to its title ("2线性代数", "2.5.4Python控制流")."""


@dataclass(frozen=True)
class _Piece(Row):
    """A recognised line on the straightened page, as a row of its own (``mono``: set on a shaded ground), with
    its position in the page's list of recognised lines."""

    index: int = -1

    @property
    def middle(self) -> tuple[float, float]:
        """The central half of its height: what overlaps in pieces of one printed line, never in two lines."""
        quarter = (self.y1 - self.y0) / 4
        return self.y0 + quarter, self.y1 - quarter


def ocr_layout(page: OcrPage, label: str, min_confidence: float) -> PageLayout:
    """The layout of a recognised page: its lines at or above ``min_confidence`` as rows, in reading order."""
    rows = tuple(_row(line) for line in reading_order(_pieces(page, min_confidence)) for line in _merge(line))
    return PageLayout(page.number, label, page.width, page.height, rows, has_images=True, ocr=True)


def in_reading_order(page: OcrPage) -> OcrPage:
    """``page`` with every recognised line (below the floor too) in reading order."""
    pieces = _pieces(page, 0.0)
    return replace(page, lines=tuple(page.lines[piece.index] for line in reading_order(pieces) for piece in line))


def skew(lines: Iterable[OcrLine]) -> float:
    """The slant of a page's long lines in radians, positive where they run down to the right."""
    angles = []
    for line in lines:
        x0, y0, x1, y1 = line.quad[:4]
        left_height = math.hypot(line.quad[6] - x0, line.quad[7] - y0)
        if math.hypot(x1 - x0, y1 - y0) >= 4 * left_height:
            angles.append(math.atan2(y1 - y0, x1 - x0))
    return statistics.median(angles) if angles else 0.0


def _pieces(page: OcrPage, min_confidence: float) -> list[_Piece]:
    """The lines at or above ``min_confidence`` with their boxes on the straightened page."""
    angle = skew(page.lines)
    if abs(math.degrees(angle)) < _MIN_SKEW:
        angle = 0.0
    cos, sin = math.cos(-angle), math.sin(-angle)
    cx, cy = page.width / 2, page.height / 2
    pieces = []
    for index, line in enumerate(page.lines):
        text = _SPACED_NUMBER.sub(".", normalize_chars(line.text).strip())
        if not text or line.confidence < min_confidence:
            continue
        points = list(zip(line.quad[0::2], line.quad[1::2]))
        turned = [(cx + (x - cx) * cos - (y - cy) * sin, cy + (x - cx) * sin + (y - cy) * cos) for x, y in points]
        xs, ys = [x for x, _ in turned], [y for _, y in turned]
        pieces.append(_Piece(text, min(xs), min(ys), max(xs), max(ys), line.size, mono=line.shade >= SHADE,
                             confidence=line.confidence, index=index))
    return pieces


# ---------------------------------------------------------------------------------------------- reading order
def reading_order(pieces: Sequence[_Piece]) -> list[list[_Piece]]:
    """The printed lines of ``pieces`` in reading order, each a list of pieces from left to right."""
    if not pieces:
        return []
    gutter = _gutter(pieces)
    if gutter is None:
        return _lines(pieces)
    left, right = gutter
    ordered: list[list[_Piece]] = []
    band: list[_Piece] = []
    for piece in sorted(pieces, key=lambda p: (p.y0, p.x0)):
        if piece.x0 < left and piece.x1 > right:  # over both columns: the band above ends
            ordered += _columns(band, left, right)
            band = []
            if ordered and _same_line(ordered[-1], piece) and all(p.x0 < left and p.x1 > right for p in ordered[-1]):
                ordered[-1] = sorted([*ordered[-1], piece], key=lambda p: p.x0)
            else:
                ordered.append([piece])
        else:
            band.append(piece)
    return ordered + _columns(band, left, right)


def _columns(band: list[_Piece], left: float, right: float) -> list[list[_Piece]]:
    """A band between lines that cross the gutter: the left column, then the right, when both are text columns;
    top to bottom otherwise."""
    if not band:
        return []
    west = [p for p in band if (p.x0 + p.x1) / 2 < (left + right) / 2]
    east = [p for p in band if (p.x0 + p.x1) / 2 >= (left + right) / 2]
    width = max(p.x1 for p in band) - min(p.x0 for p in band)
    if not west or not east or min(max(p.x1 - p.x0 for p in side) for side in (west, east)) < COLUMN_SHARE * width:
        return _lines(band)
    return reading_order(west) + reading_order(east)


def _gutter(pieces: Sequence[_Piece]) -> tuple[float, float] | None:
    """The widest vertical strip, at least ``GUTTER`` line heights wide, that only a few pieces cross and that has
    many pieces on both sides: the gutter between two text columns, as ``(left, right)``; None for one column."""
    if len(pieces) < 6:
        return None
    height = statistics.median(p.y1 - p.y0 for p in pieces)
    start, end = math.floor(min(p.x0 for p in pieces)), math.ceil(max(p.x1 for p in pieces))
    cover = [0] * (end - start + 1)
    for piece in pieces:
        for x in range(math.floor(piece.x0) - start, math.ceil(piece.x1) - start):
            cover[x] += 1
    busy = max(cover)
    few = max(2, busy // 8)
    best: tuple[float, float] | None = None
    x = 0
    while x < len(cover):
        if cover[x] > few:
            x += 1
            continue
        run = x
        while x < len(cover) and cover[x] <= few:
            x += 1
        left, right = start + run, start + x
        if right - left >= GUTTER * height and (best is None or right - left > best[1] - best[0]):
            sides = [sum(1 for p in pieces if p.x1 <= left + 1), sum(1 for p in pieces if p.x0 >= right - 1)]
            if min(sides) >= 3 and max(cover[:run] or [0]) > few and max(cover[x:] or [0]) > few:
                best = (float(left), float(right))
    return best


def _lines(pieces: Sequence[_Piece]) -> list[list[_Piece]]:
    """Pieces grouped into printed lines (their middles overlap), top to bottom, each left to right."""
    lines: list[list[_Piece]] = []
    for piece in sorted(pieces, key=lambda p: (p.middle[0], p.x0)):
        if lines and _same_line(lines[-1], piece):
            lines[-1].append(piece)
        else:
            lines.append([piece])
    return [sorted(line, key=lambda p: p.x0) for line in lines]


def _same_line(line: list[_Piece], piece: _Piece) -> bool:
    top, bottom = piece.middle
    return any(min(bottom, other.middle[1]) > max(top, other.middle[0]) for other in line)


def _merge(line: list[_Piece]) -> list[list[_Piece]]:
    """The pieces of one printed line grouped into rows: pieces closer than ``MERGE_GAP`` font sizes together."""
    rows: list[list[_Piece]] = []
    for piece in line:
        if rows and piece.x0 - rows[-1][-1].x1 < MERGE_GAP * max(piece.size, rows[-1][-1].size):
            rows[-1].append(piece)
        else:
            rows.append([piece])
    return rows


def _row(pieces: list[_Piece]) -> Row:
    text = pieces[0].text
    for piece in pieces[1:]:
        text += ("" if is_cjk(text[-1]) or is_cjk(piece.text[0]) else " ") + piece.text
    characters = [len(p.text) for p in pieces]
    size = sum(p.size * n for p, n in zip(pieces, characters)) / sum(characters)
    shaded = sum(n for p, n in zip(pieces, characters) if p.mono) * 2 > sum(characters)
    return Row(
        text=text,
        x0=min(p.x0 for p in pieces),
        y0=min(p.y0 for p in pieces),
        x1=max(p.x1 for p in pieces),
        y1=max(p.y1 for p in pieces),
        size=round(size, 1),
        mono=shaded,
        mono_start=pieces[0].mono,
        confidence=min(p.confidence or 0.0 for p in pieces),
    )


# ---------------------------------------------------------------------------------------------- the whole book
def with_ocr(
    layouts: Sequence[PageLayout], pages: dict[int, OcrPage], min_confidence: float, label_table: bool
) -> list[PageLayout]:
    """``layouts`` with the pages read by OCR (``pages``) in place of their own; without a ``label_table`` in
    the PDF, pages take the labels printed on them (:func:`printed_labels`); OCR row sizes settled."""
    read = [ocr_layout(pages[layout.number], layout.label, min_confidence) if layout.number in pages else layout
            for layout in layouts]
    if not label_table:
        labels = printed_labels(read)
        read = [replace(layout, label=labels.get(layout.number, layout.label)) for layout in read]
    return settle_sizes(read)


def settle_sizes(layouts: Sequence[PageLayout]) -> list[PageLayout]:
    """The layouts with the sizes of OCR rows near the body size set to the body size (``SIZE_BAND``), so that
    a line estimated a little larger is neither a heading nor a new paragraph; a number glued to the Chinese
    title of a row set larger than the body ("2线性代数") gets its space back."""
    body = body_font_size(layouts)
    settled = []
    for layout in layouts:
        if layout.ocr:
            layout = replace(layout, rows=tuple(_settled(row, body) for row in layout.rows))
        settled.append(layout)
    return settled


def _settled(row: Row, body: float) -> Row:
    if abs(row.size - body) <= SIZE_BAND * body:
        return replace(row, size=body)
    if row.size > body:
        return replace(row, text=_GLUED_NUMBER.sub(r"\1 ", row.text))
    return row


_ARABIC = re.compile(r"^(?:[-–—]\s*)?(\d{1,4})(?:\s*[-–—])?$")
_ROMAN = re.compile(r"^(?=[ivxlcdm])m{0,3}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})$", re.IGNORECASE)
_ROMAN_VALUES = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}
_MARGIN = 0.12
_REACH = 2
"""Pages before the first and after the last page of a run of printed numbers that take the run's numbering."""


def printed_labels(layouts: Sequence[PageLayout]) -> dict[int, str]:
    """Page labels from the page numbers printed at the top or bottom of the pages: page number -> label.

    A number counts when at least one other page of the same style (arabic, roman) agrees with it (the same
    difference between printed and physical number); the pages between two agreeing pages, and a couple beyond
    the ends of such a run, are labelled by the run (chapter openings and blank pages often print no number)."""
    found: dict[str, list[tuple[int, int]]] = {"arabic": [], "roman": []}
    for layout in layouts:
        for style, value in _margin_numbers(layout):
            found[style].append((layout.number, layout.number - value))
    labels: dict[int, str] = {}
    claimed: set[int] = set()
    for style, hits in found.items():
        offsets = Counter(offset for _, offset in hits)
        agreed = sorted((page, offset) for page, offset in set(hits) if offsets[offset] >= 2)
        runs: list[list[tuple[int, int]]] = []
        for page, offset in agreed:
            if runs and runs[-1][-1][1] == offset:
                runs[-1].append((page, offset))
            else:
                runs.append([(page, offset)])
        for run in (r for r in runs if len(r) >= 2):
            offset = run[0][1]
            first, last = run[0][0] - _REACH, run[-1][0] + _REACH
            for page in range(max(first, offset + 1, 1), min(last, len(layouts)) + 1):
                if page not in claimed:
                    labels[page] = _format(page - offset, style)
            claimed.update(range(run[0][0], run[-1][0] + 1))
    return labels


def _margin_numbers(layout: PageLayout) -> list[tuple[str, int]]:
    """(style, value) of each bare page number in the top or bottom margin of ``layout``."""
    numbers = []
    for row in layout.rows:
        if not (row.y1 <= _MARGIN * layout.height or row.y0 >= (1 - _MARGIN) * layout.height):
            continue
        text = row.text.strip()
        arabic = _ARABIC.match(text)
        if arabic and int(arabic.group(1)) > 0:
            numbers.append(("arabic", int(arabic.group(1))))
        elif _ROMAN.match(text) and text.islower():
            numbers.append(("roman", _roman_value(text)))
    return numbers


def _roman_value(text: str) -> int:
    values = [_ROMAN_VALUES[c] for c in text.lower()]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


def _format(value: int, style: str) -> str:
    if style == "arabic":
        return str(value)
    out = ""
    for number, letters in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"),
                            (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        while value >= number:
            out += letters
            value -= number
    return out
