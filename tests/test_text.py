from __future__ import annotations

import pytest

from bookqa.text import (
    escape_inline_markdown,
    hyphenated_words,
    is_cjk,
    join_lines,
    normalize_chars,
    normalize_text,
    repair_urls,
)


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
        ("the eﬀect of oﬄine ﬂows", "the effect of offline flows"),
        ("bracket\uf8ee\uf8efpieces", "bracketpieces"),  # private use area
    ],
)
def test_normalize_chars_repairs_characters(raw: str, expected: str) -> None:
    assert normalize_chars(raw) == expected


def test_normalize_chars_drops_control_and_private_use_characters() -> None:
    assert normalize_chars("a\x00b\x01c\x7f\x97d\U000f0041e\U00100000f") == "abcdef"
    assert normalize_chars("tab\tand\nnewline") == "tab\tand\nnewline"  # ASCII text too, spacing kept
    assert normalize_chars("（，）") == "（，）"  # protected punctuation comes back


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Solution: http: // thinkpython2. com/ code/ do_ four. py . Next", "Solution: http://thinkpython2.com/code/do_four.py. Next"),
        ("(http: // www. cartalk. com/ content/ puzzlers ): Give", "(http://www.cartalk.com/content/puzzlers): Give"),
        ("at http: // docs. python. org/ 3/ library/ stdtypes. html# string-methods . You", "at http://docs.python.org/3/library/stdtypes.html#string-methods. You"),
        ("at http://tinyurl.com/thinkpython2e. There are", "at http://tinyurl.com/thinkpython2e. There are"),  # printed whole
        ("no link here: a // b", "no link here: a // b"),
    ],
)
def test_repair_urls_joins_urls_that_extraction_spaced_out(raw: str, expected: str) -> None:
    assert repair_urls(raw) == expected


def test_join_lines_keeps_the_hyphens_a_book_prints_inside_lines_and_joins_broken_urls() -> None:
    lines = ["an estab-", "lished way of problem-", "solving; see http://example.com/code/", "polygon.py or http://wiki.", "python.org"]
    assert join_lines(lines, hyphenated_words("problem-solving skills"))[0] == (
        "an established way of problem-solving; see http://example.com/code/polygon.py or http://wiki.python.org"
    )
    assert join_lines(["problem-", "solving"])[0] == "problemsolving"  # never printed hyphenated: a soft hyphen
    assert join_lines(["at http://example.com/a.", "The next sentence"])[0] == "at http://example.com/a. The next sentence"
    assert hyphenated_words("Fashion-MNIST, non-linear and so-called x-1") == {"fashion-mnist", "non-linear", "so-called"}


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
