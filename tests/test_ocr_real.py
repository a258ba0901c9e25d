"""The real OCR (rapidocr's PP-OCR models on onnxruntime) on scanned fixture pages: Chinese and English lines,
numbered headings, printed page numbers, a code line, highlights on the right lines; the page cache spares a
rebuild the OCR; the page command shows what was read. Four pages are recognised once per session.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pymupdf
import pytest
from fakes import FakeEmbedder
from pdf_factory import CODE_LINES, INTRO_1, SCALAR_1, SCAN_DPI, build_scan

from bookqa.cli import main
from bookqa.config import Settings
from bookqa.library.store import Library
from bookqa.reading.ingest import Ingested, ingest_pdf
from bookqa.reading.layout import read_layout
from bookqa.reading.ocr import RapidRecogniser
from bookqa.reading.render import ocr_highlight

pytestmark = pytest.mark.slow

TINY_PAGES = [2, 3, 4]
"""Pages of the tiny Chinese book that are scanned: 1 引言 and 1.1, 1.2 with its code, 2 线性代数 and 2.1 (printed 1-3)."""


@pytest.fixture(scope="session")
def ocr_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ocr-data")


@pytest.fixture(scope="session")
def chinese_scan(tiny_book_pdf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_scan(tiny_book_pdf, tmp_path_factory.mktemp("real-scans") / "tiny-scan.pdf", pages=TINY_PAGES)


@pytest.fixture(scope="session")
def chinese(chinese_scan: Path, ocr_data: Path) -> Ingested:
    return ingest_pdf(chinese_scan, "scan", Settings(data_dir=ocr_data, ocr_dpi=SCAN_DPI))


@pytest.fixture(scope="session")
def english(english_book_pdf: Path, ocr_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Ingested:
    scan = build_scan(english_book_pdf, tmp_path_factory.mktemp("real-scans") / "english-scan.pdf", pages=[2], rotate=0.6)
    return ingest_pdf(scan, "en", Settings(data_dir=ocr_data, ocr_dpi=SCAN_DPI))


def _similar(expected: str, text: str) -> float:
    """How much of ``expected`` (whitespace left out) ``text`` holds, as difflib sees it."""
    a, b = "".join(expected.split()), "".join(text.split())
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / len(a)


def test_numbered_chinese_headings_are_found(chinese: Ingested) -> None:
    assert [(s.number, s.title, s.level, s.start_page) for s in chinese.outline] == [
        ("1", "引言", 1, 1), ("1.1", "背景", 2, 1), ("1.2", "代码示例", 2, 2), ("2", "线性代数", 1, 3), ("2.1", "标量", 2, 3),
    ]
    assert sorted(chinese.ocr) == [1, 2, 3]


def test_printed_page_numbers_become_the_labels(chinese: Ingested) -> None:
    assert [page.label for page in chinese.pages] == ["1", "2", "3"]


def test_chinese_lines_and_a_code_line_are_read(chinese: Ingested) -> None:
    intro = next(c for c in chinese.chunks if c.section_number == "1")
    assert _similar(INTRO_1, intro.text) >= 0.95
    code = [c for c in chinese.chunks if c.kind == "code"]
    assert code and CODE_LINES[0] in code[0].text
    assert not any("小小深度学习" in c.text for c in chinese.chunks)  # the running head is gone
    confidences = [line.confidence for page in chinese.ocr.values() for line in page.lines]
    assert min(confidences) > 0.5 and all(line.size > 5 for page in chinese.ocr.values() for line in page.lines)


def test_english_lines_and_headings_are_read_on_a_slightly_rotated_scan(english: Ingested) -> None:
    assert [(s.number, s.title) for s in english.outline] == [("2", "Linear Algebra"), ("2.1", "Scalars")]
    assert "A scalar is a single number. The temperature today is a scalar." in english.chunks[-1].text


def test_a_cited_passage_is_highlighted_on_the_lines_that_print_it(chinese: Ingested, tiny_book_pdf: Path) -> None:
    scalars = next(c for c in chinese.chunks if c.section_number == "2.1")
    lines = [(line.text, line.quad) for line in chinese.ocr[3].lines]
    quads = ocr_highlight(lines, [SCALAR_1])
    with pymupdf.open(tiny_book_pdf) as doc:  # where the sentence is printed, from the original's text layer
        printed = [row for row in read_layout(doc.load_page(4)).rows if SCALAR_1[:8] in row.text]
    assert SCALAR_1 in scalars.text and len(quads) == 1 and len(printed) == 1
    middle = (quads[0].ul.y + quads[0].ll.y) / 2
    assert printed[0].y0 - 1 <= middle <= printed[0].y1 + 1
    assert abs(quads[0].ul.x - printed[0].x0) < 6


def test_a_rebuild_reads_every_page_from_the_cache_and_the_page_command_shows_them(
    chinese: Ingested, chinese_scan: Path, ocr_data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(self: RapidRecogniser, image: object) -> list:
        raise AssertionError("a page was recognised again")

    monkeypatch.setattr(RapidRecogniser, "__call__", refuse)
    settings = Settings(data_dir=ocr_data, ocr_dpi=SCAN_DPI, embedding_model="fake-256")
    manifest, built = Library(settings).add(chinese_scan, embedder=FakeEmbedder())
    assert built and manifest.chunks == len(chinese.chunks) and manifest.sections == 5
    for name, value in {"BOOKQA_DATA_DIR": str(ocr_data), "BOOKQA_OCR_DPI": str(SCAN_DPI),
                        "BOOKQA_EMBEDDING_MODEL": "fake-256", "BOOKQA_EMBEDDING_FACTORY": "fakes:fake_embedder"}.items():
        monkeypatch.setenv(name, value)
    assert main(["page", manifest.book_id, "2", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["page"] == 2 and shown["label"] == "2" and shown["source"] == "ocr"
    assert shown["text"] == chinese.pages[1].text
    assert any(line["text"] == CODE_LINES[0] for line in shown["lines"])
    assert all(len(line["bbox"]) == 4 and 0 < line["confidence"] <= 1 for line in shown["lines"])
