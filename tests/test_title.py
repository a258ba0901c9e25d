"""The book's own name: a real metadata title, else its title page's largest text."""

from __future__ import annotations

import pytest

from bookqa.reading.layout import PageLayout, Row
from bookqa.reading.title import book_title, is_real_title


@pytest.mark.parametrize(
    ("title", "real"),
    [
        ("Think Python", True),
        ("动手学深度学习", True),
        ("Dive into Deep Learning", True),
        ("thinkpython2", False),  # the file's name
        ("Microsoft Word - 手册.doc", False),
        ("手册.doc", False),
        ("C:\\books\\notes", False),
        ("Untitled", False),
        ("无标题", False),
        ("", False),
        ("my-notes", False),  # the file is my-notes.pdf
    ],
)
def test_is_real_title(title: str, real: bool) -> None:
    assert is_real_title(title, "my-notes.pdf") is real


def _page(number: int, rows: list[tuple[str, float, float]]) -> PageLayout:
    return PageLayout(number, str(number), 600, 800, tuple(Row(text, 72, y, 400, y + size, size) for text, size, y in rows))


def test_the_title_page_names_a_book_without_a_real_metadata_title() -> None:
    pages = [
        _page(1, [("Think Python", 20.7, 269), ("How to Think Like a Computer Scientist", 14.3, 309), ("2", 30, 700)]),
        _page(2, [("Contents", 24.8, 100), ("1 The way of the program", 10, 150)]),
    ]
    assert book_title("thinkpython2", pages, "thinkpython2.pdf") == "Think Python"
    assert book_title("Think Python, 2nd edition", pages, "thinkpython2.pdf") == "Think Python, 2nd edition"
    assert book_title("Ｔｈｉｎｋ  Ｐｙｔｈｏｎ", pages, "thinkpython2.pdf") == "Think Python"  # NFKC, spaces folded


def test_a_title_set_over_two_lines_is_read_whole_and_a_book_without_text_is_named_by_its_file() -> None:
    pages = [_page(1, [("深度学习", 26, 200), ("入门与实践", 26, 232), ("张三 著", 12, 300)])]
    assert book_title("", pages, "dl.pdf") == "深度学习 入门与实践"
    assert book_title("", [_page(1, [])], "uploads/notes.pdf") == "notes"
    # the first section starts on the first page: its largest text is that section's heading, not a title
    assert book_title("", [_page(1, [("1 Introduction", 20, 100), ("Body text.", 10, 140)])], "scan.pdf", 1) == "scan"
