"""Ingestion of books laid out as real textbooks are (tests/layout_books.py): exact sections, pages and text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from layout_books import (
    EQUATION_NUMBER,
    FURNITURE_1_1,
    FURNITURE_1_1_AFTER,
    FURNITURE_2,
    FURNITURE_LABELS,
    FURNITURE_REFERENCES,
    FURNITURE_SECTIONS,
    FURNITURE_TITLE,
    PROMO,
    PYTHON_1_1,
    PYTHON_1_2,
    PYTHON_1_2_END,
    PYTHON_1_3,
    PYTHON_A_1_1,
    PYTHON_A_1_2,
    PYTHON_CODE_TEXT,
    PYTHON_INDEX,
    PYTHON_INLINE_CODE,
    PYTHON_RUN_IN,
    PYTHON_RUNNING_HEADS,
    PYTHON_SECTIONS,
    PYTHON_TITLE,
    SITE,
    SPANS_SECTIONS,
    SPANS_TEXT,
    SPANS_TITLE,
    UNNUMBERED_SECTIONS,
    WORD_1_1,
    WORD_1_2,
    WORD_2_1,
    WORD_BULLETS,
    WORD_MIXED,
    WORD_REFERENCE,
    WORD_RUN_IN,
    WORD_SECTIONS,
    WORD_SHUFFLED,
    WORD_TITLE,
    NOTES_ACROSS,
    NOTES_CODE,
    NOTES_LINK,
    NOTES_PROSE,
    build_footnote_book,
    build_furniture_book,
    build_python_book,
    build_spans_book,
    build_unnumbered_book,
    build_word_manual,
)

from bookqa.config import Settings
from bookqa.reading.ingest import Ingested, ingest_pdf
from bookqa.types import Chunk, ChunkKind


def _ingest(factory, folder: Path, name: str) -> Ingested:
    return ingest_pdf(factory(folder / name), name.split(".")[0], Settings())


def _book(factory, name: str, fixture: str):
    """A module fixture: the book ``factory`` writes, ingested as ``name``."""

    @pytest.fixture(scope="module", name=fixture)
    def book(tmp_path_factory: pytest.TempPathFactory) -> Ingested:
        return _ingest(factory, tmp_path_factory.mktemp("layouts"), name)

    return book


spans_book = _book(build_spans_book, "lecture-notes.pdf", "spans_book")
python_book = _book(build_python_book, "smallpython2.pdf", "python_book")
word_manual = _book(build_word_manual, "手册.pdf", "word_manual")
furniture_book = _book(build_furniture_book, "stats.pdf", "furniture_book")


def _chunks(book: Ingested, number: str, kind: ChunkKind = ChunkKind.PROSE) -> list[Chunk]:
    return [c for c in book.chunks if c.section_number == number and c.kind == kind]


# --- numbers in separate spans, 第N章 chapters, numbers in outline titles, wrong bookmarks


def test_section_numbers_come_from_printed_headings_however_they_are_set(spans_book: Ingested) -> None:
    assert spans_book.outline == SPANS_SECTIONS  # the whole-book bookmark unwrapped, the duplicate dropped
    assert spans_book.left_out == {1: "front matter"}


def test_chapters_read_the_same_however_they_are_printed(spans_book: Ingested) -> None:
    paths = {c.section_number: c.section_path for c in spans_book.chunks}
    assert paths == {
        "1": ("1 绪论",),
        "1.1": ("1 绪论", "1.1 引言"),
        "1.2": ("1 绪论", "1.2 基本术语"),
        "8": ("8 集成学习",),
        "8.1": ("8 集成学习", "8.1 个体与集成"),
        "9": ("9 聚类",),
        "9.1": ("9 聚类", "9.1 聚类任务"),
        "10": ("10 降维与度量学习",),
        "10.1": ("10 降维与度量学习", "10.1 k近邻学习"),
    }
    assert not any("章" in title for path in paths.values() for title in path)


def test_each_section_holds_its_own_text(spans_book: Ingested) -> None:
    assert [(c.section_number, c.page_start, c.text) for c in spans_book.chunks] == [
        ("1", 2, f"第1 章绪论\n{SPANS_TEXT['1']}"),
        ("1.1", 2, f"1.1引言\n{SPANS_TEXT['1.1']}"),
        ("1.2", 2, f"1.2 基本术语\n{SPANS_TEXT['1.2']}"),
        ("8", 3, f"第8章集成学习\n{SPANS_TEXT['8']}"),
        ("8.1", 3, f"个体与集成8.1\n{SPANS_TEXT['8.1']}"),  # as drawn: the title, then its number
        ("9", 4, f"第 9 章聚类\n{SPANS_TEXT['9']}"),
        ("9.1", 4, f"聚类任务\n{SPANS_TEXT['9.1']}"),
        ("10", 5, f"降维与度量学习\n{SPANS_TEXT['10']}"),
        ("10.1", 5, f"10.1 k近邻学习\n{SPANS_TEXT['10.1']}"),
    ]


def test_a_book_without_a_metadata_title_is_named_by_its_title_page(spans_book: Ingested) -> None:
    assert spans_book.title == SPANS_TITLE


def test_without_a_label_table_the_printed_page_numbers_label_the_pages(spans_book: Ingested) -> None:
    # numbers printed from 1 on the second page; the unnumbered title page keeps its physical number
    assert [page.label for page in spans_book.pages] == ["1", "1", "2", "3", "4"]


def test_a_book_that_prints_no_numbers_is_numbered_by_outline_order(tmp_path: Path) -> None:
    book = _ingest(build_unnumbered_book, tmp_path, "manual.pdf")
    assert book.outline == UNNUMBERED_SECTIONS  # the preface stays unnumbered
    assert [c.section_path for c in book.chunks if c.section_number == "2.2"] == [("2 安装", "2.2 步骤")]


# --- an English book typeset like Think Python


def test_an_english_book_gets_its_numbers_and_the_headings_its_outline_lacks(python_book: Ingested) -> None:
    assert python_book.outline == PYTHON_SECTIONS
    assert python_book.title == PYTHON_TITLE  # not "smallpython2"
    assert [page.label for page in python_book.pages] == ["iv", "v", "1", "2", "3", "4", "5", "6"]


def test_the_index_is_left_out_and_never_indexed(python_book: Ingested) -> None:
    assert python_book.left_out == {1: "front matter", 7: "index", 8: "index"}
    entries = [entry for column in PYTHON_INDEX for entry in column]
    assert not any(entry in chunk.text for chunk in python_book.chunks for entry in entries)


def test_running_heads_repeating_titles_are_never_text_or_a_section_start(python_book: Ingested) -> None:
    for chunk in python_book.chunks:
        assert not any(head in chunk.text for head in PYTHON_RUNNING_HEADS.values())
        assert "Chapter 0. Preface" not in chunk.text
    # the running head "1.3. Debugging" tops the page where 1.3 begins: what is above 1.3's heading stays in 1.2
    assert [c.text for c in _chunks(python_book, "1.2")] == [
        f"1.2 Running Python\n{PYTHON_1_2}\n{''.join(PYTHON_INLINE_CODE)} {PYTHON_1_2_END}"
    ]
    assert [c.text for c in _chunks(python_book, "1.3")] == [f"1.3 Debugging\n{PYTHON_1_3}"]


def test_ligatures_hyphenation_urls_and_control_characters_are_repaired(python_book: Ingested) -> None:
    assert [c.text for c in _chunks(python_book, "1.1")] == [f"1.1 What is a program?\n{PYTHON_1_1}"]
    page = python_book.pages[2].text
    assert "ﬁ" not in page and "\x01" not in page and "define a float" in page


def test_code_without_leading_spaces_keeps_its_indentation_and_aligned_comments(python_book: Ingested) -> None:
    assert [c.text for c in _chunks(python_book, "1.2", ChunkKind.CODE)] == [PYTHON_CODE_TEXT]


def test_appendix_headings_missing_from_the_outline_are_sections_and_list_items_are_not(python_book: Ingested) -> None:
    assert [c.text for c in _chunks(python_book, "A.1.1")] == [
        f"A.1.1 I keep making changes and nothing happens.\n{PYTHON_A_1_1}\n{''.join(PYTHON_RUN_IN)}"
    ]
    assert [c.text for c in _chunks(python_book, "A.1.2")] == [f"A.1.2 The program stops early\n{PYTHON_A_1_2}"]
    assert [c.section_path for c in _chunks(python_book, "A.1.2")] == [
        ("A Debugging", "A.1 Syntax errors", "A.1.2 The program stops early")
    ]


# --- a manual exported from Word


def test_a_word_export_reads_as_cleanly_as_a_latex_book(word_manual: Ingested) -> None:
    assert word_manual.title == WORD_TITLE  # not "Microsoft Word - 手册.doc"
    assert word_manual.outline == WORD_SECTIONS  # no outline: headings found by their numbers, 样本： is none
    assert [page.label for page in word_manual.pages] == ["1", "2", "3", "4"]
    assert word_manual.left_out == {1: "front matter"}
    assert word_manual.left_out_parts == {4: "bibliography"}
    assert [(c.section_number, c.page_start, c.text) for c in word_manual.chunks] == [
        ("1", 2, f"第1章概述\n{WORD_MIXED}\n• {WORD_BULLETS[0]}\n• {WORD_BULLETS[1]}"),
        ("1.1", 2, f"1.1 目的\n{WORD_1_1}\n{WORD_RUN_IN}"),
        ("1.2", 2, f"1.2 范围\n{WORD_1_2}"),
        ("2", 3, f"第2章安装\n{WORD_SHUFFLED}"),  # the page drawn out of order
        ("2.1", 4, f"2.1 步骤\n{WORD_2_1[0]}\n{WORD_2_1[1]}"),
    ]
    assert not any(WORD_REFERENCE[:10] in c.text for c in word_manual.chunks)


# --- furniture on every page, no printed page numbers, a formula, a chapter's reference list


def test_lines_on_every_page_are_furniture_wherever_they_sit(furniture_book: Ingested) -> None:
    assert furniture_book.outline == FURNITURE_SECTIONS
    assert furniture_book.title == FURNITURE_TITLE
    for chunk in furniture_book.chunks:
        assert PROMO not in chunk.text and SITE not in chunk.text


def test_a_chapter_number_printed_alone_above_its_title_numbers_the_chapter(furniture_book: Ingested) -> None:
    assert [(c.section_path, c.page_start, c.text) for c in furniture_book.chunks if c.section_number == "3"] == [
        (("3 统计",), 4, f"3\n统计\n{FURNITURE_2}")
    ]


def test_pages_without_printed_numbers_take_their_labels_from_the_label_table(furniture_book: Ingested) -> None:
    assert tuple(page.label for page in furniture_book.pages) == FURNITURE_LABELS


def test_a_formula_split_into_short_lines_is_one_formula_chunk(furniture_book: Ingested) -> None:
    formulas = _chunks(furniture_book, "1.1", ChunkKind.FORMULA)
    assert len(formulas) == 1 and EQUATION_NUMBER in formulas[0].text
    assert sorted(formulas[0].text.split()) == sorted("L(w, b) = 1 n n X i=1 l(i)(w, b) (1.1.1)".split())
    assert [c.text for c in _chunks(furniture_book, "1.1")] == [f"1.1 期望\n{FURNITURE_1_1}\n{FURNITURE_1_1_AFTER}"]


def test_a_reference_list_at_a_chapters_end_is_left_out_and_reported(furniture_book: Ingested) -> None:
    assert furniture_book.left_out == {1: "front matter"}
    assert furniture_book.left_out_parts == {3: "bibliography"}
    assert not any(entry[:8] in c.text for c in furniture_book.chunks for entry in FURNITURE_REFERENCES)
    assert not any(re.search(r"参考文献", c.text) for c in furniture_book.chunks)


# --- footnotes


def test_a_prose_footnote_is_a_chunk_of_its_own_and_a_link_footnote_is_left_out(tmp_path: Path) -> None:
    book = _ingest(build_footnote_book, tmp_path, "pipes.pdf")
    prose = _chunks(book, "1.1")
    assert [(c.text, c.page_start, c.page_end) for c in prose[1:]] == [(NOTES_PROSE, 1, 1)]  # its mark "1" dropped
    assert NOTES_ACROSS in prose[0].text  # the sentence across the page break is not split by the footnote
    assert not any(NOTES_LINK in c.text or "subprocess" in c.text for c in book.chunks if c is not prose[1])


def test_a_small_listing_at_a_pages_foot_is_code_not_a_footnote(tmp_path: Path) -> None:
    book = _ingest(build_footnote_book, tmp_path, "pipes.pdf")
    assert [c.text for c in _chunks(book, "2", ChunkKind.CODE)] == ["\n".join(NOTES_CODE)]
