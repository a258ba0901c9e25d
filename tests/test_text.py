from __future__ import annotations

import pytest

from bookqa.text import escape_inline_markdown, is_cjk, join_lines, normalize_chars, normalize_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("神经⽹络", "神经网络"),  # Kangxi radical U+2F79
        ("学习能⼒", "学习能力"),  # Kangxi radical U+2F12
        ("⻓度和⻔控", "长度和门控"),  # CJK radicals supplement, which NFKC leaves alone
        ("ＡＢＣ１２３", "ABC123"),  # full-width letters and digits
        ("稠密连接网络（DenseNet），见下文：", "稠密连接网络（DenseNet），见下文："),  # CJK punctuation kept
        ("Fashion\u2010MNIST and non\u2011linear", "Fashion-MNIST and non-linear"),
        ("soft\u00adhyphen, zero\u200bwidth", "softhyphen, zerowidth"),
        ("ﬁne ligature", "fine ligature"),
        ("bracket\uf8ee\uf8efpieces", "bracketpieces"),  # private use area
    ],
)
def test_normalize_chars_repairs_characters(raw: str, expected: str) -> None:
    assert normalize_chars(raw) == expected


def test_normalize_chars_keeps_lines_and_indentation() -> None:
    code = "def f(x):\n    return x  # 返回⽹络"
    assert normalize_chars(code) == "def f(x):\n    return x  # 返回网络"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("the dimen\u2010\nsionality of data", "the dimensionality of data"),
        ("the Fashion\u2010\nMNIST dataset", "the Fashion-MNIST dataset"),
        ("深度学\n习很有趣。", "深度学习很有趣。"),
        ("deep\nlearning", "deep learning"),
        ("我们使用\nResNet训练", "我们使用ResNet训练"),
        ("数据的维数（di‐\nmensionality）", "数据的维数（dimensionality）"),
        ("矩阵‐\n向量积", "矩阵-向量积"),
        ("  many   spaces\there  ", "many spaces here"),
    ],
)
def test_normalize_text_joins_broken_lines(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_normalize_text_drops_footnote_lines_and_their_marks() -> None:
    raw = "Exercises end here.\nDiscussions96\n96 https://discuss.d2l.ai/t/1877"
    assert normalize_text(raw) == "Exercises end here. Discussions"


def test_normalize_text_keeps_numbers_that_are_not_footnote_marks() -> None:
    raw = "x2 and ResNet50 use float32.\n7 https://example.org/page"
    assert normalize_text(raw) == "x2 and ResNet50 use float32."


def test_normalize_text_keeps_paragraphs_apart() -> None:
    assert normalize_text("第一段\n继续。\n\n第二段。\n") == "第一段继续。\n第二段。"


def test_normalize_text_is_idempotent_and_leaves_plain_queries_alone() -> None:
    query = "什么是 DenseNet 的过渡层？"
    assert normalize_text(query) == query
    text = "神经⽹络\n的能⼒ 96\nDiscussions96\n96 https://discuss.d2l.ai/t/1"
    assert normalize_text(normalize_text(text)) == normalize_text(text)


def test_join_lines_reports_where_each_line_begins() -> None:
    text, starts = join_lines(["an estab-", "lished", "", "tool"])
    assert text == "an established tool"
    assert starts == [0, 8, 14, 15]
    assert text[starts[3] :] == "tool"


def test_is_cjk() -> None:
    assert is_cjk("网") and is_cjk("。") and is_cjk("（")
    assert not is_cjk("a") and not is_cjk("1") and not is_cjk(".")


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("z=u*x*y", "z=u\\*x\\*y"),
        ("调用`net(X)`得到[1, 2]", "调用\\`net(X)\\`得到\\[1, 2\\]"),
        ("$x_i$ and <b>", "\\$x_i\\$ and \\<b\\>"),
        ("_private and __init__", "\\_private and \\_\\_init\\_\\_"),
        ("load_data_fashion_mnist函数", "load_data_fashion_mnist函数"),  # between letters: no emphasis
        ("颜色:red[文字] 与 图7.7.1: ResNet", "颜色\\:red\\[文字\\] 与 图7.7.1: ResNet"),
        ("稠密连接网络（DenseNet）在通道维上连结输入与输出。", "稠密连接网络（DenseNet）在通道维上连结输入与输出。"),
    ],
)
def test_escape_inline_markdown_keeps_book_text_literal(raw: str, expected: str) -> None:
    assert escape_inline_markdown(raw) == expected
