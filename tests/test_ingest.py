"""The whole ingestion on the tiny books: exact pages, sections and chunks."""

from __future__ import annotations

import re
from pathlib import Path

import pymupdf
import pytest
from pdf_factory import (
    BIBLIOGRAPHY,
    CODE_TEXT,
    ENGLISH_SECTIONS,
    FOOTNOTE_URL,
    KANGXI_RAW,
    KANGXI_TEXT,
    RUNNING_HEAD,
    SCALAR_1,
    SCALAR_2,
    TINY_BOOK,
)

from bookqa.config import Settings
from bookqa.errors import InvalidPDFError
from bookqa.reading.ingest import Ingested, ingest_pdf


def test_pages_outline_and_left_out_pages(tiny_book: Ingested) -> None:
    assert tiny_book.title == "小小深度学习"
    assert [(p.number, p.label) for p in tiny_book.pages] == list(zip(range(1, 9), TINY_BOOK.labels))
    assert tiny_book.outline == TINY_BOOK.sections
    assert tiny_book.left_out == TINY_BOOK.left_out
    assert set(tiny_book.timings) == {"parse", "clean", "chunk"}


def test_chunks_with_their_sections_pages_and_kinds(tiny_book: Ingested) -> None:
    assert [(c.id, c.section_number, c.kind, c.page_start, c.page_end) for c in tiny_book.chunks] == [
        ("tiny:00000", "1", "prose", 3, 3),
        ("tiny:00001", "1.1", "prose", 3, 4),  # 1.1 continues on the next page
        ("tiny:00002", "1.2", "prose", 4, 4),
        ("tiny:00003", "1.2", "code", 4, 4),
        ("tiny:00004", "2", "prose", 5, 5),
        ("tiny:00005", "2.1", "prose", 5, 6),  # 2.1 begins near the bottom of page 5
        ("tiny:00006", "2.2", "prose", 6, 7),
        ("tiny:00007", "2.2", "prose", 7, 7),
    ]
    assert tiny_book.chunks[5].section_path == ("2 线性代数", "2.1 标量")
    assert all(c.book_id == "tiny" for c in tiny_book.chunks)


def test_a_section_that_begins_mid_page_is_cut_at_its_heading(tiny_book: Ingested) -> None:
    chapter, scalars = tiny_book.chunks[4], tiny_book.chunks[5]
    assert SCALAR_1 not in chapter.text
    assert scalars.text == f"2.1 标量\n{SCALAR_1}\n{SCALAR_2}"


def test_code_is_its_own_chunk_with_its_indentation(tiny_book: Ingested) -> None:
    code = [c for c in tiny_book.chunks if c.kind == "code"]
    assert [c.text for c in code] == [CODE_TEXT]
    assert not any("def scale" in c.text for c in tiny_book.chunks if c.kind == "prose")


def test_kangxi_radicals_are_normalised(tiny_book: Ingested) -> None:
    assert KANGXI_TEXT in tiny_book.chunks[4].text
    assert not any(KANGXI_RAW in c.text for c in tiny_book.chunks)
    assert KANGXI_TEXT in tiny_book.pages[4].text


def test_no_contents_running_heads_page_numbers_footnotes_or_bibliography(tiny_book: Ingested) -> None:
    left_out = set(tiny_book.left_out)
    for chunk in tiny_book.chunks:
        assert not set(range(chunk.page_start, chunk.page_end + 1)) & left_out
        assert RUNNING_HEAD not in chunk.text
        assert not re.search(r"(?m)^\d+$", chunk.text)  # no bare page number line
        assert ". . ." not in chunk.text
        assert FOOTNOTE_URL not in chunk.text and "Discussions" not in chunk.text
        assert not any(entry[:20] in chunk.text for entry in BIBLIOGRAPHY)
        assert "目录" not in chunk.text and "参考文献" not in chunk.text


def test_overlapping_chunks_share_whole_sentences(tiny_book: Ingested) -> None:
    first, second = tiny_book.chunks[6], tiny_book.chunks[7]
    shared = first.text.rsplit("\n", 1)[-1]
    assert second.text.startswith(shared) and 0 < len(shared) <= 80


def test_chunk_sizes_follow_the_settings(tiny_book_pdf: Path) -> None:
    small = ingest_pdf(tiny_book_pdf, "tiny", Settings(chunk_size=60, chunk_overlap=20))
    assert len(small.chunks) > len(TINY_BOOK.sections) * 2
    assert max(len(c.text) for c in small.chunks) <= 120
    for chunk in small.chunks:
        section = next(s for s in small.outline if s.number == chunk.section_number)
        assert section.start_page <= chunk.page_start <= chunk.page_end <= section.end_page


def test_ids_and_texts_are_stable_across_runs(tiny_book_pdf: Path, tiny_book: Ingested) -> None:
    again = ingest_pdf(tiny_book_pdf, "tiny", Settings())
    assert again.chunks == tiny_book.chunks


def test_progress_is_reported_per_page(tiny_book_pdf: Path) -> None:
    calls: list[tuple[int, int]] = []
    ingest_pdf(tiny_book_pdf, "tiny", Settings(), progress=lambda done, total: calls.append((done, total)))
    assert calls == [(n, 8) for n in range(1, 9)]


def test_a_book_without_outline_is_chunked_by_its_detected_headings(english_book_pdf: Path) -> None:
    book = ingest_pdf(english_book_pdf, "en", Settings())
    assert book.outline == ENGLISH_SECTIONS
    assert book.left_out == {4: "bibliography"}
    assert [(c.section_number, c.page_start, c.page_end) for c in book.chunks] == [
        ("1", 1, 1), ("1.1", 1, 2), ("1.2", 2, 2), ("2", 3, 3), ("2.1", 3, 3)
    ]
    assert book.chunks[0].text == (
        "1 Introduction\nMachine learning has become an established tool. Models learn from data instead of rules. "
        "This book is short."
    )
    assert book.chunks[2].text == "1.2 Data\nWe use the Fashion-MNIST dataset for the examples. It has ten classes of clothing."


def test_with_ocr_off_a_scanned_pdf_is_refused_with_advice(bad_pdfs: dict[str, Path]) -> None:
    with pytest.raises(InvalidPDFError) as caught:
        ingest_pdf(bad_pdfs["scanned"], "scan", Settings(ocr="off"))
    assert caught.value.message.endswith("has no text layer on 2 of its 2 pages: it looks scanned.")
    assert caught.value.hint == "Run OCR first, e.g. ocrmypdf scanned.pdf scanned-ocr.pdf, and add the result."


def test_a_scan_of_blank_pages_is_refused_with_what_ocr_found(bad_pdfs: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(InvalidPDFError) as caught:
        ingest_pdf(bad_pdfs["scanned"], "scan", Settings(data_dir=tmp_path))
    assert "no text layer on 2 of its 2 pages, and OCR found no readable text on them (blank scan)" in caught.value.message
    assert "BOOKQA_OCR_DPI" in caught.value.hint


@pytest.mark.parametrize("name", ["missing", "empty", "not_pdf", "truncated", "encrypted"])
def test_unreadable_files_are_refused(bad_pdfs: dict[str, Path], name: str) -> None:
    with pytest.raises(InvalidPDFError):
        ingest_pdf(bad_pdfs[name], "bad", Settings())


def test_a_pdf_without_any_text_is_refused(tmp_path: Path) -> None:
    doc = pymupdf.open()
    doc.new_page()
    doc.new_page()
    doc.save(tmp_path / "blank.pdf")
    with pytest.raises(InvalidPDFError, match="contains no text"):
        ingest_pdf(tmp_path / "blank.pdf", "blank", Settings())
