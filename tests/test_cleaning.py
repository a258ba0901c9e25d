from __future__ import annotations

from pathlib import Path

import pytest
from pdf_factory import CODE_LINES, FOOTNOTE_URL, RUNNING_HEAD

from bookqa.reading.cleaning import code_rows, find_noise, is_contents_page, looks_like_code, title_kind
from bookqa.reading.layout import PageLayout, Row, read_layouts
from bookqa.reading.pdf import open_pdf


@pytest.fixture(scope="module")
def layouts(tiny_book_pdf: Path) -> list[PageLayout]:
    with open_pdf(tiny_book_pdf) as doc:
        return read_layouts(doc)


def _texts(layout: PageLayout, indices) -> set[str]:
    return {layout.rows[i].text for i in indices}


def test_running_heads_page_numbers_and_footnotes_are_noise(layouts: list[PageLayout]) -> None:
    noise = find_noise(layouts)
    assert _texts(layouts[2], noise[2]) == {RUNNING_HEAD, "1.1. 背景", "1"}
    assert _texts(layouts[3], noise[3]) == {RUNNING_HEAD, "1.2. 代码示例", "2", f"7 {FOOTNOTE_URL}"}
    assert _texts(layouts[1], noise[1]) == {"ii"}
    assert noise[0] == frozenset()  # the title page has no margins to peel


def test_a_heading_at_the_top_of_a_page_is_not_noise(layouts: list[PageLayout]) -> None:
    noise = find_noise(layouts)
    first_body_row = min(set(range(len(layouts[4].rows))) - noise[4])
    assert layouts[4].rows[first_body_row].text == "2 线性代数"


def _page(number: int, rows: list[tuple[str, float]], height: float = 800) -> PageLayout:
    return PageLayout(number, str(number), 600, height, tuple(Row(text, 72, y, 300, y + 10, 10) for text, y in rows))


def test_margin_rows_are_peeled_only_while_they_look_like_running_heads() -> None:
    pages = [
        _page(n, [(f"A Book Title {n}", 30), (f"3.{n} Summary", 60), (f"Body text of page {'abcde'[n - 1]}.", 120), (f"- {n} -", 770)])
        for n in range(1, 6)
    ]
    noise = find_noise(pages)
    for layout, rows in zip(pages, noise):
        assert _texts(layout, rows) == {f"A Book Title {layout.number}", f"- {layout.number} -"}


def test_contents_pages_are_recognised(layouts: list[PageLayout]) -> None:
    noise = find_noise(layouts)
    assert [layout.number for layout, rows in zip(layouts, noise) if is_contents_page(layout, rows)] == [2]


def test_code_rows_are_the_monospace_rows(layouts: list[PageLayout]) -> None:
    code = code_rows(layouts)
    assert [layout.rows[i].text for layout, rows in zip(layouts, code) for i in sorted(rows)] == [
        line.strip() for line in CODE_LINES if line
    ]


def test_code_rows_are_guessed_when_a_book_has_no_monospace_font() -> None:
    page = _page(1, [("We define a function:", 100), ("def f(x):", 120), ("return x + 1", 140), ("y = f(2)", 160)])
    assert code_rows([page]) == [frozenset({1, 2, 3})]


@pytest.mark.parametrize(
    ("text", "is_code"),
    [
        ("def scale(x, factor=2):", True),
        ("import torch", True),
        ("X = torch.ones(3)", True),
        ("print(scale(21))", True),
        ("net.train()", True),
        ("这是一个普通的句子。", False),
        ("This is a plain sentence.", False),
        ("x = 1 时导数为2", False),
    ],
)
def test_looks_like_code(text: str, is_code: bool) -> None:
    assert looks_like_code(text) is is_code


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("参考文献", "bibliography"),
        ("Bibliography", "bibliography"),
        ("References", "bibliography"),
        ("目录", "contents"),
        ("Table of Contents", "contents"),
        ("Index", "index"),
        ("Copyright", "front matter"),
        ("引言", None),
        ("参考文献的格式", None),
    ],
)
def test_title_kind(title: str, kind: str | None) -> None:
    assert title_kind(title) == kind


def test_a_contents_page_without_dot_leaders_is_recognised() -> None:
    entries = ["Contents", "Preface 1", "Installation 9", "1 Introduction 17", "1.1 A Motivating Example 18",
               "1.2 Key Components 20", "2 Preliminaries 43", "2.1 Data Manipulation 43"]
    assert is_contents_page(_page(3, [(text, 60 + 20 * i) for i, text in enumerate(entries)]))
    prose = ["Linear regression flows from a few simple assumptions.", "First, we assume that the relationship",
             "between features x and target y is approximately linear.", "This setup allows that the target value",
             "may still deviate from its expected value.", "Next, we can impose the assumption 2"]
    assert not is_contents_page(_page(4, [(text, 60 + 20 * i) for i, text in enumerate(prose)]))

