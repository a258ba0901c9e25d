"""Pages without a text layer read by OCR.

Fast tests run the plumbing with a fake recogniser that reads each scanned fixture page as its text layer says (so
what comes out is known exactly): which pages are read, the page cache, worker processes, left-out pages and their
reasons, the confidence floor, reading order, page labels, highlights. The slow tier (tests/test_ocr_real.py) runs
the real rapidocr models.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest
from fakes import FakeRecogniser, recogniser_for
from pdf_factory import (
    ENGLISH_SECTIONS,
    SCAN_DPI,
    TWO_COLUMN_LEFT,
    TWO_COLUMN_RIGHT,
    build_mixed,
    build_scan,
    build_two_columns,
    build_unreadable_scan,
)

from bookqa.config import Settings
from bookqa.errors import InvalidPDFError, SettingsError
from bookqa.reading.ingest import UNREADABLE, Ingested, ingest_pdf
from bookqa.reading.layout import PageLayout, Row
from bookqa.reading.ocr import BLANK_SCAN, DAMAGED_IMAGE, NO_TEXT_FOUND, OcrLine, OcrPage, estimate_ocr
from bookqa.reading.ocr_layout import in_reading_order, ocr_layout, printed_labels, skew
from bookqa.reading.render import ocr_highlight, render_page_png


@pytest.fixture(scope="session")
def english_scan(english_book_pdf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_scan(english_book_pdf, tmp_path_factory.mktemp("scans") / "english-scan.pdf")


@pytest.fixture(scope="session")
def english_reader(english_book_pdf: Path, english_scan: Path) -> FakeRecogniser:
    return recogniser_for(english_book_pdf, english_scan, SCAN_DPI)


def _settings(tmp_path: Path, **changes: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", ocr_dpi=SCAN_DPI, ocr_workers=1).replace(**changes)


def _ingest(pdf: Path, tmp_path: Path, recogniser: FakeRecogniser, **changes: object) -> Ingested:
    return ingest_pdf(pdf, "book", _settings(tmp_path, **changes), recogniser=recogniser)


# ---------------------------------------------------------------------------------------------- the whole book
def test_a_scanned_book_reads_like_its_text_layer(english_book_pdf, english_scan, english_reader, tmp_path):
    text = ingest_pdf(english_book_pdf, "book", Settings())
    scan = _ingest(english_scan, tmp_path, english_reader)
    assert scan.outline == ENGLISH_SECTIONS == text.outline
    assert [(c.text, c.section_path, c.page_start, c.page_end) for c in scan.chunks] == [
        (c.text, c.section_path, c.page_start, c.page_end) for c in text.chunks
    ]
    assert scan.left_out == text.left_out == {4: "bibliography"}
    assert sorted(scan.ocr) == [1, 2, 3, 4] and "ocr" in scan.timings
    assert [p.label for p in scan.pages] == ["1", "2", "3", "4"]  # the numbers printed at the foot of the pages


def test_a_mixed_pdf_reads_text_pages_directly_and_ocrs_only_the_image_page(english_book_pdf, tmp_path):
    mixed = build_mixed(english_book_pdf, tmp_path / "mixed.pdf", scanned=[1])
    reader = recogniser_for(english_book_pdf, mixed, SCAN_DPI, pages=[1])
    book = _ingest(mixed, tmp_path, reader)
    assert reader.calls == 1 and sorted(book.ocr) == [2]
    assert book.outline == ENGLISH_SECTIONS
    assert "We use the Fashion-\nMNIST dataset" in book.pages[1].text
    assert book.chunks[2].text == "1.2 Data\nWe use the Fashion-MNIST dataset for the examples. It has ten classes of clothing."


def test_the_page_cache_makes_a_rebuild_skip_ocr(english_scan, english_reader, tmp_path):
    first = _ingest(english_scan, tmp_path, english_reader)
    calls = english_reader.calls
    again = _ingest(english_scan, tmp_path, english_reader, chunk_size=300)  # a changed chunk setting, same pages
    assert english_reader.calls == calls
    assert all(page.cached for page in again.ocr.values())
    assert [p.text for p in again.pages] == [p.text for p in first.pages]
    plan = estimate_ocr(english_scan, _settings(tmp_path), signature=english_reader.signature)
    assert plan.pages == [1, 2, 3, 4] and plan.to_recognise == [] and plan.seconds == 0
    assert "4 pages to read by OCR (4 read before)" in plan.describe()


def test_worker_processes_read_what_one_process_reads(english_scan, english_reader, tmp_path):
    alone = _ingest(english_scan, tmp_path / "one", english_reader)
    together = _ingest(english_scan, tmp_path / "two", english_reader, ocr_workers=2)
    assert together.chunks == alone.chunks and together.pages == alone.pages
    assert estimate_ocr(english_scan, _settings(tmp_path / "two")).measured  # the rate is remembered


def test_an_estimate_before_the_first_scan_is_a_first_guess(english_scan, tmp_path):
    plan = estimate_ocr(english_scan.read_bytes(), _settings(tmp_path, ocr_workers=2))
    assert plan.to_recognise == [1, 2, 3, 4] and plan.workers == 2 and not plan.measured
    assert plan.seconds == 2 * plan.seconds_per_page
    assert plan.describe().endswith("with 2 workers, a first guess.")
    assert estimate_ocr(b"not a PDF", Settings()).pages == []


def test_with_ocr_off_scanned_pages_are_left_out_as_before(english_book_pdf, tmp_path):
    mixed = build_mixed(english_book_pdf, tmp_path / "mixed.pdf", scanned=[1])
    book = ingest_pdf(mixed, "book", _settings(tmp_path, ocr="off"))
    assert book.left_out[2] == "no text layer" and not book.ocr


def test_force_reads_every_page_by_ocr(english_book_pdf, tmp_path):
    reader = recogniser_for(english_book_pdf, english_book_pdf, SCAN_DPI)  # the text pages' own images
    book = ingest_pdf(english_book_pdf, "book", _settings(tmp_path, ocr="force"), recogniser=reader)
    assert reader.calls == 4 and sorted(book.ocr) == [1, 2, 3, 4]
    assert book.outline == ENGLISH_SECTIONS
    with pytest.raises(InvalidPDFError, match="OCR found no readable text"):  # a recogniser that reads nothing
        ingest_pdf(english_book_pdf, "book", _settings(tmp_path / "none", ocr="force"), recogniser=FakeRecogniser({}))


def test_ocr_settings_are_checked():
    assert Settings.from_env({"BOOKQA_OCR": "FORCE"}).ocr == "force"
    for env, needle in (({"BOOKQA_OCR": "maybe"}, "auto, off, force"), ({"BOOKQA_OCR_DPI": "1200"}, "BOOKQA_OCR_DPI"),
                        ({"BOOKQA_OCR_MIN_CONFIDENCE": "2"}, "BOOKQA_OCR_MIN_CONFIDENCE"),
                        ({"BOOKQA_OCR_WORKERS": "-1"}, "BOOKQA_OCR_WORKERS")):
        with pytest.raises(SettingsError, match=needle):
            Settings.from_env(env)


# ---------------------------------------------------------------------------------------------- what cannot be read
def test_blank_photo_and_damaged_pages_are_left_out_with_the_reason(english_book_pdf, tmp_path, caplog):
    pdf = build_unreadable_scan(english_book_pdf, tmp_path / "unreadable.pdf")
    with caplog.at_level(logging.WARNING, logger="bookqa.reading.ingest"):
        book = _ingest(pdf, tmp_path, FakeRecogniser({}))
    assert book.left_out == {2: BLANK_SCAN, 3: NO_TEXT_FOUND, 4: DAMAGED_IMAGE}
    assert [c.page_start for c in book.chunks] == [1, 1]
    damaged = [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()]
    assert len(damaged) == 1 and "page 4" in damaged[0] and "JPEG" in damaged[0].upper() and "left out" in damaged[0]


def test_lines_below_the_confidence_floor_stay_out_of_the_index(english_book_pdf, english_scan, tmp_path):
    reader = recogniser_for(english_book_pdf, english_scan, SCAN_DPI)
    for lines in reader.pages.values():
        for i, (corners, text, _) in enumerate(lines):
            if text.startswith("Training needs"):
                lines[i] = (corners, text, 0.3)
    book = _ingest(english_scan, tmp_path, reader)
    assert not any("Training needs" in c.text for c in book.chunks)
    assert "Training needs" not in book.pages[1].text
    poor = [line for line in book.ocr[2].lines if line.confidence < 0.5]
    assert [line.text[:14] for line in poor] == ["Training needs"]
    everything = _ingest(english_scan, tmp_path / "all", reader, ocr_min_confidence=0.0)
    assert any("Training needs" in c.text for c in everything.chunks)


def test_a_page_with_every_line_below_the_floor_is_unreadable(english_book_pdf, english_scan, tmp_path):
    reader = recogniser_for(english_book_pdf, english_scan, SCAN_DPI)
    page_3 = list(reader.pages)[2]
    reader.pages[page_3] = [(corners, text, 0.1) for corners, text, _ in reader.pages[page_3]]
    assert _ingest(english_scan, tmp_path, reader).left_out[3] == UNREADABLE


# ---------------------------------------------------------------------------------------------- layout of a page
def _line(text: str, x0: float, y0: float, x1: float, y1: float, confidence: float = 0.99, size: float = 10) -> OcrLine:
    return OcrLine(text, (x0, y0, x1, y0, x1, y1, x0, y1), confidence, size)


def _page(lines: list[OcrLine], width: float = 600, height: float = 800) -> OcrPage:
    return OcrPage(1, width, height, tuple(lines))


def test_two_columns_read_column_by_column_under_a_heading_across_both():
    lines = [_line("1 A heading over both columns", 50, 60, 550, 76, size=14)]
    for i in range(6):  # baselines line up across the columns, as in a typeset page
        y = 100 + 16 * i
        lines += [_line(f"left {i} text of the first column", 50, y, 290, y + 12),
                  _line(f"right {i} text of the second column", 310, y, 550, y + 12)]
    rows = ocr_layout(_page(lines[::-1]), "1", 0.5).rows
    assert [r.text.split()[0] for r in rows] == ["1", *["left"] * 6, *["right"] * 6]
    assert [r.text.split()[1] for r in rows[1:7]] == [str(i) for i in range(6)]


def test_one_column_with_aligned_code_comments_reads_line_by_line():
    lines = []
    for i in range(4):
        y = 100 + 16 * i
        lines += [_line(f"statement_{i} = {i}", 50, y, 200, y + 12), _line(f"# comment {i}", 420, y, 480, y + 12)]
    lines.append(_line("A sentence of prose that runs across the whole width of the page here.", 50, 170, 550, 182))
    rows = ocr_layout(_page(lines), "1", 0.5).rows
    assert [r.text for r in rows[:2]] == ["statement_0 = 0", "# comment 0"]  # far apart: two rows, in reading order
    assert rows[-1].text.startswith("A sentence")


def test_pieces_of_one_line_make_one_row_and_a_spaced_section_number_is_mended():
    rows = ocr_layout(_page([_line("2. 1", 50, 100, 70, 114, size=14), _line("标量", 80, 100, 110, 114, size=14),
                             _line("Fig. 3", 50, 130, 80, 142)]), "1", 0.5).rows
    assert [r.text for r in rows] == ["2.1标量", "Fig. 3"]
    assert rows[0].size == 14 and rows[0].confidence == 0.99


def test_a_slightly_rotated_scan_is_straightened():
    angle = math.radians(1.0)
    lines = []
    for i in range(8):
        x0, y0 = 50.0, 100.0 + 16 * i
        corners = [(x0, y0), (x0 + 500, y0), (x0 + 500, y0 + 12), (x0, y0 + 12)]
        turned = [(300 + (x - 300) * math.cos(angle) - (y - 400) * math.sin(angle),
                   400 + (x - 300) * math.sin(angle) + (y - 400) * math.cos(angle)) for x, y in corners]
        lines.append(OcrLine(f"line {i} of the page", tuple(v for p in turned for v in p), 0.99, 10))
    page = _page(lines[::-1])
    assert math.degrees(skew(page.lines)) == pytest.approx(1.0, abs=0.01)
    rows = ocr_layout(page, "1", 0.5).rows
    assert [r.text for r in rows] == [f"line {i} of the page" for i in range(8)]
    assert all(r.height == pytest.approx(12, abs=0.5) for r in rows)
    assert [line.text for line in in_reading_order(page).lines] == [r.text for r in rows]


def test_printed_page_numbers_become_labels_and_a_misread_one_is_ignored():
    def layout(number: int, printed: str | None) -> PageLayout:
        rows = [Row("body text", 50, 300, 500, 312, 10)]
        if printed:
            rows.append(Row(printed, 290, 760, 310, 772, 9))
        return PageLayout(number, str(number), 600, 800, tuple(rows), ocr=True)

    printed = {1: None, 2: "iii", 3: "iv", 4: None, 5: "1", 6: "2", 7: None, 8: "4", 9: "77", 10: "6"}
    labels = printed_labels([layout(n, text) for n, text in printed.items()])
    assert labels == {1: "ii", 2: "iii", 3: "iv", 4: "v", 5: "1", 6: "2", 7: "3", 8: "4", 9: "5", 10: "6"}


# ---------------------------------------------------------------------------------------------- highlights
def test_a_cited_passage_is_highlighted_on_the_lines_that_hold_it():
    lines = [("第一行：这是前面的一句话。", (50, 100, 350, 100, 350, 114, 50, 114)),
             ("The cited sentence begins here and", (50, 120, 350, 120, 350, 134, 50, 134)),
             ("ends on this line. Another follows.", (50, 140, 350, 140, 350, 154, 50, 154))]
    quads = ocr_highlight(lines, ["The cited sentence begins here and ends on this line."])
    assert [(round(q.ul.y), round(q.ll.y)) for q in quads] == [(120, 134), (140, 154)]
    assert quads[0].ul.x == pytest.approx(50) and quads[1].ul.x == pytest.approx(50)
    assert 150 < quads[1].ur.x < 260  # "ends on this line." is about half of its line
    assert ocr_highlight(lines, ["Nothing of the sort is on this page."]) == []


def test_the_page_image_of_a_scan_is_highlighted_from_its_recognised_lines(english_scan, english_reader, tmp_path):
    book = _ingest(english_scan, tmp_path, english_reader)
    lines = [(line.text, line.quad) for line in book.ocr[1].lines]
    chunk = book.chunks[1]  # 1.1 Background: its heading and two lines of prose
    quads = ocr_highlight(lines, [chunk.text])
    rows = [r for r in ocr_layout(book.ocr[1], "1", 0.5).rows if len(r.text) > 3 and r.text in chunk.text]
    assert len(rows) == 3 and {round(q.ul.y) for q in quads} == {round(r.y0) for r in rows}
    plain = render_page_png(english_scan, 1, zoom=1.0)
    assert render_page_png(english_scan, 1, zoom=1.0, highlight=[chunk.text], lines=lines) != plain


def test_a_two_column_scan_reads_column_by_column(tmp_path):
    text = build_two_columns(tmp_path / "columns.pdf")
    scan = build_scan(text, tmp_path / "columns-scan.pdf")
    book = _ingest(scan, tmp_path, recogniser_for(text, scan, SCAN_DPI))
    (chunk,) = book.chunks
    assert chunk.section_path == ("3 Optimisation",)
    assert chunk.text == f"3 Optimisation\n{TWO_COLUMN_LEFT}\n{TWO_COLUMN_RIGHT}"
