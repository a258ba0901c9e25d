"""Tiny PDFs built with PyMuPDF, with known pages, sections and noise, for the tests.

``build_tiny_book``: an 8-page Chinese book laid out like d2l-zh (outline without section numbers,
roman-numbered front matter, a dot-leader contents page, a running head on top and a running title
with the page number at the bottom of every page, a Courier code listing, a footnote, Kangxi radicals in
the text layer, a section that begins near the bottom of a page, a bibliography). ``TINY_BOOK`` holds
what a reader of that book can see. ``build_english_book``: a 4-page English book without an outline.
``build_bad_pdfs``: files that are not readable books. ``build_scan``: a book's pages as a scanner gives them
(image-only); ``build_mixed``: a book with some pages scanned; ``build_unreadable_scan``: a text page, a blank
scan, a photo and a damaged image.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pymupdf

from bookqa.library.typeset import CJK, PageWriter, scanned_copy
from bookqa.types import Section

WIDTH, HEIGHT = 420, 595
LEFT, RIGHT = 50, 370
BODY_TOP, BODY_BOTTOM = 90, 520
HEADER_Y, FOOTER_Y = 35, 570
BODY_SIZE = 10
LINE = 16

INTRO_1 = "本书用很小的篇幅介绍深度学习的基本概念。读者可以先浏览每一章的引言，再阅读各节的细节。"
BACKGROUND_1 = (
    "深度学习的历史可以追溯到二十世纪四十年代的人工神经元模型。感知机在一九五八年被提出，它能够学习线性可分的"
    "分类问题。反向传播算法在八十年代被广泛使用，使得训练多层网络成为可能。"
)
BACKGROUND_2 = (
    "二零一二年，卷积神经网络在图像分类竞赛中大幅领先，深度学习从此进入快速发展的阶段。如今，深度学习被用于语音识别、"
    "机器翻译和药物发现等许多领域。"
)
CODE_INTRO = "下面的代码定义了一个把输入放大若干倍的函数，并打印一个结果。"
CODE_LINES = (
    "def scale(x, factor=2):",
    '    """Multiply x by factor."""',
    "    return x * factor",
    "",
    "print(scale(21))",
)
CODE_TEXT = "\n".join(CODE_LINES)
CODE_OUTRO = "运行这段代码会打印四十二。练习：请修改放大的倍数，观察输出如何变化。"
KANGXI_RAW = "神经⽹络的学习能⼒很强。"
KANGXI_TEXT = "神经网络的学习能力很强。"
LINEAR_1 = "线性代数是深度学习的数学基础之一。本章介绍标量、向量和它们的基本运算。"
SCALAR_1 = "标量是只有一个元素的张量，例如温度或者价格。"
SCALAR_2 = "我们用普通的小写字母表示标量，例如x和y。标量之间可以进行加法、减法、乘法和除法运算，结果仍然是标量。"
VECTOR_1 = (
    "向量是由标量值组成的列表，这些标量值被称为向量的元素或分量。在数学上，我们通常用粗体的小写字母表示向量。"
    "向量的长度也叫做它的维度，它等于向量中元素的个数。"
)
VECTOR_2 = (
    "两个维度相同的向量可以逐元素相加，得到的结果仍然是一个同样维度的向量。向量也可以与一个标量相乘，此时每个元素都乘以这个标量。"
    "点积是两个向量对应元素乘积的和，它衡量了两个向量之间的相似程度。当两个向量的点积为零时，我们称它们相互正交。"
)
VECTOR_3 = (
    "范数衡量一个向量的大小。最常用的是欧几里得范数，即各元素平方和的平方根。另一种常用的范数是各元素绝对值的和。"
    "在深度学习中，范数经常出现在损失函数和正则化项里，用来限制模型参数的大小，从而减少过拟合的风险。"
)
VECTOR_4 = (
    "向量的加法满足交换律和结合律，数乘满足分配律。这些性质让我们可以像处理普通数字一样处理向量表达式。"
    "在实现时，深度学习框架会把向量存储为连续的内存块，并用并行的硬件指令一次处理许多元素，所以向量运算比逐个元素的循环快得多。"
    "这种把循环改写为向量运算的做法称为矢量化，它是编写高效深度学习代码的基本技巧。"
)
VECTOR_5 = (
    "矩阵可以看作由若干个向量排成的表格，矩阵与向量的乘法就是用矩阵的每一行与向量做点积。"
    "全连接层的计算正是这样一次矩阵与向量的乘法，再加上一个偏置向量。"
)
VECTOR_6 = (
    "练习：给定两个三维向量，先手工计算它们的和与点积，再写一段代码验证结果。"
    "然后把其中一个向量乘以二，观察点积如何变化，并解释原因。最后计算两个向量的欧几里得范数，判断哪一个更长。"
)
VECTOR_7 = "小结：向量是标量的有序列表，可以相加、数乘和计算点积。"
BIBLIOGRAPHY = (
    "Zhang, A., Lipton, Z. C., Li, M., & Smola, A. J. (2023). Dive into Deep Learning.",
    "Goodfellow, I., Bengio, Y., & Courville, A. (2016). Deep Learning. MIT Press.",
    "LeCun, Y., Bengio, Y., & Hinton, G. (2015). Deep learning. Nature, 521, 436-444.",
)
RUNNING_HEAD = "小小深度学习"
FOOTNOTE_URL = "https://discuss.example.org/t/7"


@dataclass(frozen=True)
class TinyBookFacts:
    """What the tiny book looks like: its page labels, its outline, the pages left out."""

    page_count: int
    labels: tuple[str, ...]
    sections: tuple[Section, ...]
    left_out: dict[int, str]


TINY_BOOK = TinyBookFacts(
    page_count=8,
    labels=("i", "ii", "1", "2", "3", "4", "5", "6"),
    sections=(
        Section("1", "引言", 1, 3, 4),
        Section("1.1", "背景", 2, 3, 4),
        Section("1.2", "代码示例", 2, 4, 4),
        Section("2", "线性代数", 1, 5, 7),
        Section("2.1", "标量", 2, 5, 6),
        Section("2.2", "向量", 2, 6, 7),
        Section(None, "参考文献", 1, 8, 8),
    ),
    left_out={1: "front matter", 2: "contents", 8: "bibliography"},
)


def _writer(page: pymupdf.Page, y: float = BODY_TOP, font: str = CJK) -> PageWriter:
    """A writer down the body of a fixture page, in one font, code indented by position only (no leading spaces)."""
    return PageWriter(page, y, LEFT, RIGHT, font=font, body_size=BODY_SIZE, leading=LINE)


def _margins(page: pymupdf.Page, running_title: str | None, label: str, header: str | None = RUNNING_HEAD, font: str = CJK) -> None:
    """A running head on top; the running title and the page number at the bottom, like d2l."""
    if header:
        page.insert_text((LEFT, HEADER_Y), header, fontname=font, fontsize=9)
    if running_title:
        page.insert_text((LEFT, FOOTER_Y), running_title, fontname=font, fontsize=9)
    width = pymupdf.get_text_length(label, fontname="helv", fontsize=9)
    page.insert_text((RIGHT - width, FOOTER_Y), label, fontname="helv", fontsize=9)


def _kangxi_line(page: pymupdf.Page, y: float) -> None:
    """Writes KANGXI_RAW so that its text layer holds the Kangxi radicals U+2F79 and U+2F12, as the
    official d2l-zh PDF does: "X" and "Y" in Times-Roman, whose ToUnicode map is rewritten below."""
    x = LEFT
    for text, font in (("神经", CJK), ("X", "tiro"), ("络的学习能", CJK), ("Y", "tiro"), ("很强。", CJK)):
        page.insert_text((x, y), text, fontname=font, fontsize=BODY_SIZE)
        x += pymupdf.get_text_length(text, fontname=font, fontsize=BODY_SIZE)


def _map_times_to_kangxi(doc: pymupdf.Document, page: pymupdf.Page) -> None:
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /KangxiTest def /CMapType 2 def\n"
        b"1 begincodespacerange <00> <FF> endcodespacerange\n"
        b"2 beginbfchar <58> <2F79> <59> <2F12> endbfchar\n"
        b"endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    stream = doc.get_new_xref()
    doc.update_object(stream, "<<>>")
    doc.update_stream(stream, cmap)
    for xref, _, _, name, *_ in page.get_fonts():
        if name == "Times-Roman":
            doc.xref_set_key(xref, "ToUnicode", f"{stream} 0 R")


def build_tiny_book(path: Path) -> Path:
    """Write the tiny Chinese book described by ``TINY_BOOK`` to ``path``."""
    doc = pymupdf.open()
    for _ in range(TINY_BOOK.page_count):
        doc.new_page(width=WIDTH, height=HEIGHT)
    pages = list(doc)

    title = pages[0]
    title.insert_text((LEFT, 200), "小小深度学习", fontname=CJK, fontsize=24)
    title.insert_text((LEFT, 240), "作者：张三", fontname=CJK, fontsize=12)
    title.insert_text((LEFT, 480), "版权所有 © 2024 示例出版社", fontname=CJK, fontsize=9)

    contents = _writer(pages[1])
    contents.heading("目录", 16)
    for number, title_text, page_label in (
        ("1", "引言", "1"), ("1.1", "背景", "1"), ("1.2", "代码示例", "2"),
        ("2", "线性代数", "3"), ("2.1", "标量", "3"), ("2.2", "向量", "4"), ("", "参考文献", "6"),
    ):
        entry = f"{number} {title_text}".strip()
        contents.line(entry)
        contents.y -= LINE
        contents.line(". " * 20, x=LEFT + 90)
        contents.y -= LINE
        contents.line(page_label, font="helv", x=RIGHT - 10)
    _margins(pages[1], None, "ii", header=None)

    page = _writer(pages[2])
    page.heading("1 引言", 16)
    page.paragraph(INTRO_1)
    page.heading("1.1 背景")
    page.paragraph(BACKGROUND_1)
    _margins(pages[2], "1.1. 背景", "1")

    page = _writer(pages[3])
    page.paragraph(BACKGROUND_2)
    page.heading("1.2 代码示例")
    page.paragraph(CODE_INTRO)
    page.code(CODE_LINES, spaces=False)
    page.paragraph(CODE_OUTRO)
    mark_x = LEFT + pymupdf.get_text_length("Discussions", fontname="helv", fontsize=BODY_SIZE)
    page.page.insert_text((LEFT, page.y), "Discussions", fontname="helv", fontsize=BODY_SIZE)
    page.page.insert_text((mark_x, page.y - 3), "7", fontname="helv", fontsize=6)
    page.page.insert_text((LEFT + 8, 505), "7", fontname="helv", fontsize=5)
    page.page.insert_text((LEFT + 12, 505), " " + FOOTNOTE_URL, fontname="helv", fontsize=7)
    _margins(pages[3], "1.2. 代码示例", "2")

    page = _writer(pages[4])
    page.heading("2 线性代数", 16)
    page.paragraph(LINEAR_1)
    _kangxi_line(pages[4], page.y)
    page.y = 470
    page.heading("2.1 标量")
    page.paragraph(SCALAR_1)
    _margins(pages[4], "2. 线性代数", "3")
    _map_times_to_kangxi(doc, pages[4])

    page = _writer(pages[5])
    page.paragraph(SCALAR_2)
    page.heading("2.2 向量")
    page.paragraph(VECTOR_1)
    page.paragraph(VECTOR_2)
    _margins(pages[5], "2.2. 向量", "4")

    page = _writer(pages[6])
    page.paragraph(VECTOR_3)
    page.paragraph(VECTOR_4)
    page.paragraph(VECTOR_5)
    page.paragraph(VECTOR_6)
    page.paragraph(VECTOR_7)
    _margins(pages[6], "2.2. 向量", "5")

    page = _writer(pages[7])
    page.heading("参考文献", 16)
    for entry in BIBLIOGRAPHY:
        page.paragraph(entry, size=9)
    _margins(pages[7], "参考文献", "6")

    doc.set_page_labels([
        {"startpage": 0, "prefix": "", "style": "r", "firstpagenum": 1},
        {"startpage": 2, "prefix": "", "style": "D", "firstpagenum": 1},
    ])
    doc.set_toc([[s.level, s.title, s.start_page] for s in TINY_BOOK.sections])
    doc.set_metadata({"title": "小小深度学习", "author": "张三"})
    doc.save(path)
    doc.close()
    return path


ENGLISH_SECTIONS = (
    Section("1", "Introduction", 1, 1, 2),
    Section("1.1", "Background", 2, 1, 2),
    Section("1.2", "Data", 2, 2, 2),
    Section("2", "Linear Algebra", 1, 3, 3),
    Section("2.1", "Scalars", 2, 3, 3),
    Section(None, "References", 1, 4, 4),
)
"""The sections a reader sees in the English book (which has no outline)."""


def build_english_book(path: Path) -> Path:
    """Write a 4-page English book without an outline: bold numbered headings ("1 Introduction",
    "Chapter 2" over "Linear Algebra"), words hyphenated at line ends, a running head, page numbers."""
    doc = pymupdf.open()
    for _ in range(4):
        doc.new_page(width=WIDTH, height=HEIGHT)
    pages = list(doc)
    font = "helv"

    page = _writer(pages[0], font=font)
    page.font = "hebo"
    page.heading("1 Introduction", 16)
    page.font = font
    page.lines([
        "Machine learning has become an estab-",
        "lished tool. Models learn from data instead",
        "of rules. This book is short.",
    ])
    page.font = "hebo"
    page.heading("1.1 Background", 13)
    page.font = font
    page.paragraph("Neural networks were first studied in the 1940s. They returned in the 2010s with large datasets such as Fashion-MNIST and ImageNet.")
    _margins(pages[0], "1.1. Background", "1", header="A Tiny English Book", font=font)

    page = _writer(pages[1], font=font)
    page.paragraph("Training needs a lot of labelled examples. Labels are often made by people.")
    page.font = "hebo"
    page.heading("1.2 Data", 13)
    page.font = font
    page.lines([
        "We use the Fashion-",
        "MNIST dataset for the examples. It has ten classes of clothing.",
    ])
    _margins(pages[1], "1.2. Data", "2", header="A Tiny English Book", font=font)

    page = _writer(pages[2], font=font)
    page.font = "hebo"
    page.heading("Chapter 2", 16)
    page.heading("Linear Algebra", 16)
    page.font = font
    page.paragraph("Linear algebra studies vectors and matrices. It is the language of deep learning.")
    page.font = "hebo"
    page.heading("2.1 Scalars", 13)
    page.font = font
    page.paragraph("A scalar is a single number. The temperature today is a scalar.")
    _margins(pages[2], "2.1. Scalars", "3", header="A Tiny English Book", font=font)

    page = _writer(pages[3], font=font)
    page.font = "hebo"
    page.heading("References", 16)
    page.font = font
    for entry in BIBLIOGRAPHY:
        page.paragraph(entry, size=9)
    _margins(pages[3], None, "4", header="A Tiny English Book", font=font)

    doc.save(path)
    doc.close()
    return path


def build_bad_pdfs(folder: Path, good_pdf: Path) -> dict[str, Path]:
    """Files ``open_pdf`` or ``ingest_pdf`` must refuse, by name: ``missing``, ``empty``, ``not_pdf``,
    ``truncated``, ``encrypted`` (``open_pdf`` refuses these) and ``scanned`` (opens; ``ingest_pdf``
    refuses it). ``good_pdf`` is cut in half for ``truncated``."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {name: folder / f"{name}.pdf" for name in ("missing", "empty", "not_pdf", "truncated", "encrypted", "scanned")}
    files["empty"].write_bytes(b"")
    files["not_pdf"].write_text("Chapter 1\nThis is a plain text file, not a PDF.\n", encoding="utf-8")
    data = good_pdf.read_bytes()
    files["truncated"].write_bytes(data[: len(data) // 2])

    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "A secret book.", fontname="helv")
    doc.save(files["encrypted"], encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner-secret")
    doc.close()

    doc = pymupdf.open()
    scan = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 120, 160), False)
    scan.clear_with(230)
    for _ in range(2):
        doc.new_page(width=WIDTH, height=HEIGHT).insert_image(pymupdf.Rect(0, 0, WIDTH, HEIGHT), pixmap=scan)
    doc.save(files["scanned"])
    doc.close()
    return files


SCAN_DPI = 150


def build_scan(text_pdf: Path, path: Path, pages: list[int] | None = None, rotate: float = 0.0) -> Path:
    """Write the pages (0-based, default all) of ``text_pdf`` as scanned images, without a text layer."""
    target = pymupdf.open()
    with pymupdf.open(text_pdf) as source:
        scanned_copy(source, target, dpi=SCAN_DPI, pages=pages, rotate=rotate)
    target.save(path)
    target.close()
    return path


def build_mixed(text_pdf: Path, path: Path, scanned: list[int]) -> Path:
    """Write ``text_pdf`` with the pages ``scanned`` (0-based) replaced by their scans."""
    doc = pymupdf.open(text_pdf)
    for index in scanned:
        scan = pymupdf.open()
        scanned_copy(doc, scan, dpi=SCAN_DPI, pages=[index])
        doc.insert_pdf(scan, start_at=index)
        doc.delete_page(index + 1)
    doc.save(path)
    doc.close()
    return path


def build_unreadable_scan(text_pdf: Path, path: Path) -> Path:
    """Write four pages: page 1 of ``text_pdf`` with its text layer, a blank scan, a photo (grey noise without
    text) and a scanned page whose JPEG data is damaged."""
    import numpy as np

    doc = pymupdf.open()
    with pymupdf.open(text_pdf) as source:
        doc.insert_pdf(source, from_page=0, to_page=0)
    blank = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.IRect(0, 0, 300, 420), False)
    blank.clear_with(250)
    photos = [pymupdf.Pixmap(pymupdf.csGRAY, 300, 420, np.random.default_rng(seed).integers(0, 256, size=(420, 300),
                                                                                          dtype=np.uint8).tobytes(), False)
              for seed in (7, 8)]
    for pixmap in (blank, *photos):
        page = doc.new_page(width=WIDTH, height=HEIGHT)
        page.insert_image(page.rect, stream=pixmap.tobytes("jpeg"))
    xref = doc[3].get_images()[0][0]
    doc.update_stream(xref, b"this is not a JPEG" * 40, compress=False)
    doc.xref_set_key(xref, "Filter", "/DCTDecode")
    doc.save(path)
    doc.close()
    return path


TWO_COLUMN_LEFT = (
    "Gradient descent moves the parameters a small step against the gradient of the loss. The step size is "
    "called the learning rate."
)
TWO_COLUMN_RIGHT = "梯度下降每一步都沿着损失函数梯度的反方向更新参数。步长叫做学习率，太大会发散，太小则收敛很慢。"


def build_two_columns(path: Path) -> Path:
    """Write one page in two columns under a heading across both: an English paragraph on the left, a Chinese
    one on the right, their baselines aligned, the page number at the foot."""
    doc = pymupdf.open()
    page = doc.new_page(width=WIDTH, height=HEIGHT)
    PageWriter(page, BODY_TOP, LEFT, RIGHT, font="hebo").heading("3 Optimisation", 16)
    middle = (LEFT + RIGHT) / 2
    PageWriter(page, BODY_TOP + 40, LEFT, middle - 12, font="helv", body_size=BODY_SIZE).paragraph(TWO_COLUMN_LEFT)
    PageWriter(page, BODY_TOP + 40, middle + 12, RIGHT, font=CJK, body_size=BODY_SIZE).paragraph(TWO_COLUMN_RIGHT)
    page.insert_text(((LEFT + RIGHT) / 2, FOOTER_Y), "7", fontname="helv", fontsize=9)
    doc.save(path)
    doc.close()
    return path
