"""Book text shown by the app is escaped: Markdown and HTML in it are displayed, never interpreted."""

from __future__ import annotations

from bookqa.index.tokenizer import Tokenizer
from bookqa.text import escape_markdown as escape
from bookqa.ui.components import file_size, highlighted


def test_escape_leaves_no_markup_to_interpret() -> None:
    text = "<script>alert(1)</script> **粗体** $x^2$ [链接](http://x) :red[颜色] `code` # 标题"
    escaped = escape(text)
    for raw in ("<script>", "**粗体**", "$x^2$", "[链接](", ":red[", "`code`"):
        assert raw not in escaped
    assert escaped.replace("\\", "") == text


def test_escape_keeps_line_breaks() -> None:
    assert escape("第一行\n第二行") == "第一行  \n第二行"


def test_highlighted_wraps_only_the_query_terms() -> None:
    marked = highlighted("DenseNet 使用 <b>连结</b>", "DenseNet 的连结", Tokenizer())
    assert marked.startswith(":orange[**DenseNet**]")
    assert ":orange[**连结**]" in marked
    assert "<b>" not in marked


def test_file_size() -> None:
    assert file_size(300) == "1 KB"
    assert file_size(640 * 1024) == "640 KB"
    assert file_size(int(12.34 * 2**20)) == "12.3 MB"
