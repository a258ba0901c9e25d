from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest
from pdf_factory import ENGLISH_SECTIONS, HEIGHT, KANGXI_TEXT, TINY_BOOK, WIDTH
from readers import read_outline, read_pages

from bookqa.errors import BookQAError, InvalidPDFError
from bookqa.reading.layout import PageLayout, Row
from bookqa.reading.outline import locate_outline
from bookqa.reading.pdf import open_pdf
from bookqa.reading.render import render_page_png
from bookqa.types import Section


def test_open_pdf_opens_a_book(tiny_book_pdf: Path) -> None:
    with open_pdf(tiny_book_pdf) as doc:
        assert doc.page_count == TINY_BOOK.page_count


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("missing", "does not exist"),
        ("empty", "is empty"),
        ("not_pdf", "is not a PDF"),
        ("truncated", "is truncated"),
        ("encrypted", "needs a password"),
    ],
)
def test_open_pdf_refuses_unreadable_files(bad_pdfs: dict[str, Path], name: str, says: str) -> None:
    with pytest.raises(InvalidPDFError) as caught:
        open_pdf(bad_pdfs[name])
    assert says in caught.value.message
    assert str(bad_pdfs[name]) in caught.value.message
    assert caught.value.hint


def test_open_pdf_opens_a_scanned_pdf(bad_pdfs: dict[str, Path]) -> None:
    with open_pdf(bad_pdfs["scanned"]) as doc:
        assert doc.page_count == 2


def test_read_pages_gives_physical_numbers_labels_and_normalised_text(tiny_book_pdf: Path) -> None:
    with open_pdf(tiny_book_pdf) as doc:
        pages = read_pages(doc)
    assert [page.number for page in pages] == list(range(1, 9))
    assert tuple(page.label for page in pages) == TINY_BOOK.labels
    assert "1.1 背景" in pages[2].text.split("\n")
    assert KANGXI_TEXT in pages[4].text.split("\n")
    assert not any("Discussions" in line for line in pages[3].text.split("\n"))  # a link label with its footnote mark


def test_read_pages_falls_back_to_the_page_number_without_labels(english_book_pdf: Path) -> None:
    with open_pdf(english_book_pdf) as doc:
        assert [page.label for page in read_pages(doc)] == ["1", "2", "3", "4"]


def test_read_outline_numbers_sections_from_printed_headings(tiny_book_pdf: Path) -> None:
    with open_pdf(tiny_book_pdf) as doc:
        assert doc.get_toc()[0] == [1, "引言", 3]  # the outline itself has no numbers
        assert tuple(read_outline(doc)) == TINY_BOOK.sections


def test_read_outline_detects_numbered_headings_without_an_outline(english_book_pdf: Path) -> None:
    with open_pdf(english_book_pdf) as doc:
        assert doc.get_toc() == []
        assert tuple(read_outline(doc)) == ENGLISH_SECTIONS


def _highlighted_pixels(png: bytes) -> int:
    """Pixels painted yellow-ish: strong red and green, weak blue."""
    pixmap = pymupdf.Pixmap(png)
    samples = pixmap.samples
    n = pixmap.n
    return sum(
        1
        for i in range(0, len(samples), n)
        if samples[i] > 200 and samples[i + 1] > 200 and samples[i + 2] < 150
    )


def test_render_page_png_renders_at_zoom(tiny_book_pdf: Path) -> None:
    png = render_page_png(tiny_book_pdf, 3, zoom=1.0)
    assert png.startswith(b"\x89PNG")
    pixmap = pymupdf.Pixmap(png)
    assert (pixmap.width, pixmap.height) == (WIDTH, HEIGHT)
    assert pymupdf.Pixmap(render_page_png(tiny_book_pdf, 3, zoom=2.0)).width == 2 * WIDTH


def test_render_page_png_highlights_passages_despite_normalisation(tiny_book_pdf: Path) -> None:
    plain = render_page_png(tiny_book_pdf, 5, zoom=1.0)
    assert _highlighted_pixels(plain) == 0
    # the text layer holds Kangxi radicals, the passage the normalised characters
    marked = render_page_png(tiny_book_pdf, 5, zoom=1.0, highlight=[KANGXI_TEXT])
    assert _highlighted_pixels(marked) > 100


def test_render_page_png_highlights_a_passage_that_spans_lines(tiny_book_pdf: Path) -> None:
    passage = "感知机在一九五八年被提出，它能够学习线性可分的分类问题。"  # broken over two printed lines
    marked = render_page_png(tiny_book_pdf, 3, zoom=1.0, highlight=[passage])
    assert _highlighted_pixels(marked) > 100


def test_render_page_png_ignores_passages_not_on_the_page(tiny_book_pdf: Path) -> None:
    plain = render_page_png(tiny_book_pdf, 3, zoom=1.0)
    assert render_page_png(tiny_book_pdf, 3, zoom=1.0, highlight=["这句话不在这一页上。", "", "ab"]) == plain


def test_render_page_png_refuses_a_page_outside_the_book(tiny_book_pdf: Path) -> None:
    with pytest.raises(BookQAError, match="Page 9 does not exist"):
        render_page_png(tiny_book_pdf, 9)


def test_footnote_marks_are_dropped_but_exponents_kept(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    for y, parts in ((100, ("Discussions", "96")), (115, ("see the forum", "97")), (130, ("定义L", "2")), (160, ("the square x", "2"))):
        word, small = parts
        font = "china-s" if "定义" in word else "helv"
        page.insert_text((72, y), word, fontname=font, fontsize=10)
        page.insert_text((72 + pymupdf.get_text_length(word, fontname=font, fontsize=10), y - 3), small, fontname="helv", fontsize=6)
    doc.save(tmp_path / "marks.pdf")
    with open_pdf(tmp_path / "marks.pdf") as opened:
        # a line that is only a marked word is a link label and goes; a mark after words in a sentence goes alone
        assert read_pages(opened)[0].text.split("\n") == ["see the forum", "定义L2", "the square x2"]


def test_headings_detected_without_an_outline_read_a_chapter_number_over_its_title() -> None:
    def row(text: str, y: float, size: float = 10) -> Row:
        return Row(text, 72, y, 500, y + size, size, bold=size > 10)

    body = [row("正文的一行文字，用来确定正文字号。" * 2, 300 + 15 * i) for i in range(8)]
    pages = [
        PageLayout(1, "1", 600, 800, (row("1", 100, 24), row("引言", 150, 20), *body, row("1.1 背景", 500, 14))),
        PageLayout(2, "2", 600, 800, (*body, row("1.2 数据", 500, 14), row("200 × 200 像素", 520, 14))),
        PageLayout(3, "3", 600, 800, (row("2", 100, 24), row("预备知识", 150, 20), *body)),
    ]
    outline = locate_outline(pymupdf.open(), pages, [frozenset()] * 3)
    assert outline.sections == (
        Section("1", "引言", 1, 1, 2),
        Section("1.1", "背景", 2, 1, 2),
        Section("1.2", "数据", 2, 2, 2),
        Section("2", "预备知识", 1, 3, 3),
    )
    assert outline.anchors == ((1, 0), (1, 10), (2, 8), (3, 0))


def test_open_pdf_accepts_a_pdf_with_only_an_owner_password(tmp_path: Path) -> None:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Printing is restricted, reading is not.", fontname="helv")
    doc.save(tmp_path / "owner.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner-secret",
             permissions=pymupdf.PDF_PERM_ACCESSIBILITY)
    with open_pdf(tmp_path / "owner.pdf") as opened:
        assert not opened.needs_pass
        assert "reading is not" in read_pages(opened)[0].text
