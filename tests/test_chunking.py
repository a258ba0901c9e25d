"""Chunking on hand-made body rows: exact expectations without a PDF."""

from __future__ import annotations

from bookqa.config import Settings
from bookqa.reading.chunking import chunk_book, section_paths
from bookqa.reading.cleaning import BodyRow, CleanBook
from bookqa.reading.layout import Row
from bookqa.reading.outline import Outline
from bookqa.types import Section

SECTIONS = (
    Section("7", "现代卷积神经网络", 1, 1, 2),
    Section("7.7", "稠密连接网络（DenseNet）", 2, 1, 2),
    Section("7.7.1", "从ResNet到DenseNet", 3, 2, 2),
    Section(None, "小插曲", 4, 2, 2),
)
CODE_CHAR = 5.4


def _rows(page: int, section: int, texts: list[str], first: int = 0, size: float = 10, code: bool = False,
          bold: bool = False, x0: float = 72) -> list[BodyRow]:
    """Rows one under the other from row index ``first`` on: prose full width, code 5.4 points a character."""
    rows = []
    for i, text in enumerate(texts, start=first):
        x1 = x0 + CODE_CHAR * len(text) if code else 540
        rows.append(BodyRow(page, i, Row(text, x0, 100 + 15 * i, x1, 110 + 15 * i, size, bold, code), code, section))
    return rows


def _book(*pages: list[BodyRow]) -> CleanBook:
    return CleanBook(tuple(tuple(page) for page in pages), {}, 10.0)


def _outline(anchors: list[tuple[int, int]], sections: tuple[Section, ...] = SECTIONS) -> Outline:
    return Outline(sections[: len(anchors)], tuple(anchors))


def _chunk(book: CleanBook, outline: Outline, size: int = 500, overlap: int = 80):
    return chunk_book(book, outline, "bk", Settings(chunk_size=size, chunk_overlap=overlap))


def test_section_paths_and_deepest_numbers() -> None:
    assert section_paths(SECTIONS) == [
        (("7 现代卷积神经网络",), "7"),
        (("7 现代卷积神经网络", "7.7 稠密连接网络（DenseNet）"), "7.7"),
        (("7 现代卷积神经网络", "7.7 稠密连接网络（DenseNet）", "7.7.1 从ResNet到DenseNet"), "7.7.1"),
        (("7 现代卷积神经网络", "7.7 稠密连接网络（DenseNet）", "7.7.1 从ResNet到DenseNet", "小插曲"), "7.7.1"),
    ]


def test_a_section_that_begins_mid_page_gets_its_own_chunks() -> None:
    page_1 = _rows(1, 0, ["7 现代卷积神经网络"], size=14, bold=True)
    page_1 += _rows(1, 0, ["本章介绍现代卷积神经网络。"], first=1)
    page_1 += _rows(1, 1, ["7.7 稠密连接网络（DenseNet）"], first=2, size=12, bold=True)
    page_1 += _rows(1, 1, ["ResNet极大地改变了如何参数化深层网络中函数的观点。稠密连接网络在某种程度上是"], first=3)
    page_2 = _rows(2, 1, ["ResNet的逻辑扩展。"])
    page_2 += _rows(2, 2, ["7.7.1 从ResNet到DenseNet"], first=1, size=12, bold=True)
    page_2 += _rows(2, 2, ["回想一下泰勒展开式。"], first=2)
    chunks = _chunk(_book(page_1, page_2), _outline([(1, 0), (1, 2), (2, 1)]))
    assert [(c.id, c.section_number, c.page_start, c.page_end, c.text) for c in chunks] == [
        ("bk:00000", "7", 1, 1, "7 现代卷积神经网络\n本章介绍现代卷积神经网络。"),
        ("bk:00001", "7.7", 1, 2, "7.7 稠密连接网络（DenseNet）\nResNet极大地改变了如何参数化深层网络中函数的观点。稠密连接网络在某种程度上是ResNet的逻辑扩展。"),
        ("bk:00002", "7.7.1", 2, 2, "7.7.1 从ResNet到DenseNet\n回想一下泰勒展开式。"),
    ]
    assert chunks[2].section_path[-1] == "7.7.1 从ResNet到DenseNet"


def test_a_section_with_nothing_but_its_heading_has_no_chunk() -> None:
    page = _rows(1, 0, ["7 现代卷积神经网络"], size=14, bold=True)
    page += _rows(1, 1, ["7.7 稠密连接网络（DenseNet）"], first=1, size=12, bold=True)
    page += _rows(1, 1, ["稠密块由多个卷积块组成。"], first=2)
    chunks = _chunk(_book(page), _outline([(1, 0), (1, 1)]))
    assert [c.section_number for c in chunks] == ["7.7"]


def test_chunks_break_at_sentence_ends_and_overlap_by_whole_sentences() -> None:
    sentences = [f"第{n}句话讲的是卷积层里一个不同的细节。" for n in range(1, 13)]  # 19 characters each
    page = _rows(1, 0, ["".join(sentences)])
    chunks = _chunk(_book(page), _outline([(1, 0)]), size=100, overlap=45)
    texts = [c.text for c in chunks]
    assert texts[0] == "".join(sentences[0:5])
    assert texts[1] == "".join(sentences[3:8])  # two sentences (38 characters) of overlap
    assert all(text.endswith("。") for text in texts)
    assert texts[-1].endswith(sentences[-1])


def test_english_sentences_keep_abbreviations_together() -> None:
    text = "Models learn from data, e.g. images and text. Fig. 3 shows a result of He et al. in 2016. Then we stop here."
    chunks = _chunk(_book(_rows(1, 0, [text])), _outline([(1, 0)]), size=50, overlap=0)
    assert [c.text for c in chunks] == [
        "Models learn from data, e.g. images and text.",
        "Fig. 3 shows a result of He et al. in 2016.",
        "Then we stop here.",
    ]


def test_a_tiny_tail_is_merged_into_the_chunk_before() -> None:
    sentences = ["这是一句正好有二十个字符的测试句子啊。"] * 5 + ["短尾。"]
    chunks = _chunk(_book(_rows(1, 0, ["".join(sentences)])), _outline([(1, 0)]), size=100, overlap=0)
    assert [c.text for c in chunks] == ["".join(sentences)]


def test_no_chunk_exceeds_twice_the_chunk_size() -> None:
    endless = "没有标点的长句" * 200  # 1,400 characters, no sentence or clause end
    chunks = _chunk(_book(_rows(1, 0, [endless])), _outline([(1, 0)]), size=100, overlap=20)
    assert max(len(c.text) for c in chunks) <= 200
    assert "".join(c.text for c in chunks).count("没有标点的长句") >= 200


def test_code_and_prose_are_separate_chunks_and_code_keeps_its_indentation() -> None:
    page = _rows(1, 0, ["下面定义一个函数："])
    page += _rows(1, 0, ["def f(x):"], first=1, size=9, code=True)
    page += _rows(1, 0, ["return x + 1"], first=2, size=9, code=True, x0=72 + 4 * CODE_CHAR)
    page += _rows(1, 0, ["函数返回输入加一。"], first=3)
    chunks = _chunk(_book(page), _outline([(1, 0)]))
    assert [(c.kind, c.text) for c in chunks] == [
        ("prose", "下面定义一个函数：\n函数返回输入加一。"),
        ("code", "def f(x):\n    return x + 1"),
    ]


def test_a_book_without_sections_is_chunked_with_an_empty_path() -> None:
    chunks = _chunk(_book(_rows(1, None, ["没有任何标题的一段文字。"])), Outline((), ()))
    assert [(c.section_path, c.section_number, c.text) for c in chunks] == [((), None, "没有任何标题的一段文字。")]
