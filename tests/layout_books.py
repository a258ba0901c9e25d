"""Fixture books for the layouts real textbooks come in, each with what a reader of it sees (``*_SECTIONS``).

``build_spans_book``: Chinese; an outline without numbers wrapped in one whole-book entry, chapters printed
"第1 章" over "绪论", "第8章" beside "集成学习", "第 9 章" over "聚类", numbers in outline titles ("第9章 聚类",
"9.1 聚类任务", "第十章：降维与度量学习"), section numbers in spans of their own apart from their titles (one
drawn after its title), a duplicated bookmark, one a page late, one named otherwise than its printed heading;
page numbers printed from its second page, no page-label table.
``build_python_book``: English, typeset like *Think Python*: numberless outline, "Chapter 1" over the title, a
number beside its title in another font, running heads that repeat chapter and section titles (one above the
heading of the section it names), ligatures, line-end hyphenation, a spaced-out URL, a control character,
code in a font named "F53" (monospaced only by its advances) without leading spaces, an appendix whose
level-3 headings are not in the outline (one bold, one in the body size), numbered list items, an index that is
not in the outline either, a ligature in the title page's title.
``build_word_manual``: Chinese, exported from Word: no outline, no contents, no running heads, a useless
metadata title, Latin text in another font mid-line, bullets from a symbol font and from a control
character, a page drawn out of order (one character per line), headings detected from their numbers.
``build_furniture_book``: Chinese: a promotional line and a URL on every page (the promotional line wherever
on the page), no printed page numbers (the label table names the pages), a display formula set as one short
line per symbol group, a reference list at a chapter's end, a chapter number printed alone above its title
(chapter 2 is not in this sample).
``build_unnumbered_book``: an outline and headings without numbers (numbered by outline order).
``build_footnote_book``: English, a section running across a page break past a prose footnote (its mark glued
to its first word), and a link footnote under a small listing whose first line starts with a digit.
"""

from __future__ import annotations

from pathlib import Path

import pymupdf
from pdf_factory import HEIGHT, LEFT, RIGHT, WIDTH, map_glyphs

from bookqa.library.typeset import BOLD, CJK, LATIN, MONO, PageWriter, print_text
from bookqa.types import Section

BODY = 10
LINE = 16
HEAD_Y = 40
FOOT_Y = 570


def _writer(page: pymupdf.Page, y: float = 90, font: str | None = CJK) -> PageWriter:
    return PageWriter(page, y, LEFT, RIGHT, font=font, body_size=BODY, leading=LINE)


def _pages(doc: pymupdf.Document, count: int) -> list[pymupdf.Page]:
    for _ in range(count):
        doc.new_page(width=WIDTH, height=HEIGHT)
    return list(doc)


def _encode_glyphs(doc: pymupdf.Document, page: pymupdf.Page, font_name: str, names: dict[str, str]) -> None:
    """Give characters of ``font_name`` on ``page`` other glyph names in its encoding ("uni0097"): how a control
    character gets into a real PDF's text layer (PyMuPDF ignores a ToUnicode entry for one)."""
    differences = " ".join(f"{ord(char)} /{name}" for char, name in names.items())
    for xref, _, _, name, *_ in page.get_fonts():
        if name == font_name:
            doc.xref_set_key(xref, "Encoding", f"<< /BaseEncoding /WinAnsiEncoding /Differences [{differences}] >>")


def _rename_courier(doc: pymupdf.Document, page: pymupdf.Page, name: str) -> None:
    """Give the page's Courier another name, as embedded code fonts have ("F53"): its widths stay those of
    Courier, but neither its name nor its flags say it is monospaced."""
    for xref, _, _, font, *_ in page.get_fonts():
        if font == "Courier":
            doc.xref_set_key(xref, "BaseFont", f"/{name}")
            doc.xref_set_key(xref, "FirstChar", "32")
            doc.xref_set_key(xref, "LastChar", "126")
            doc.xref_set_key(xref, "Widths", "[" + " ".join(["600"] * 95) + "]")


def _page_number(page: pymupdf.Page, label: str) -> None:
    width = pymupdf.get_text_length(label, fontname=LATIN, fontsize=9)
    page.insert_text(((WIDTH - width) / 2, FOOT_Y), label, fontname=LATIN, fontsize=9)


# --- numbers in separate spans, 第N章 chapters, numbers in outline titles, wrong bookmarks

SPANS_TITLE = "机器学习讲义"
SPANS_TEXT = {
    "1": "机器学习研究如何让计算机从数据中学习规律。本章介绍全书的主要内容和阅读方法。",
    "1.1": "引言部分说明学习的含义：程序通过经验提高在某类任务上的表现。",
    "1.2": "样本、特征和标记是描述数据的三个基本术语，后面各章都会用到。",
    "8": "集成学习把多个学习器结合起来完成任务，常常比单个学习器更好。",
    "8.1": "个体学习器可以是同种类型的，也可以是不同类型的，关键在于它们要有差异。",
    "9": "聚类试图把数据集中的样本划分为若干个通常不相交的子集。",
    "9.1": "聚类任务中，训练样本的标记信息是未知的，目标是揭示数据的内在结构。",
    "10": "降维通过某种数学变换把原始高维属性空间转变为一个低维子空间。",
    "10.1": "近邻学习是一种常用的监督学习方法，它的工作机制非常简单。",
}
SPANS_SECTIONS = (
    Section("1", "绪论", 1, 2, 2),
    Section("1.1", "引言", 2, 2, 2),
    Section("1.2", "基本术语", 2, 2, 2),
    Section("8", "集成学习", 1, 3, 3),
    Section("8.1", "个体与集成", 2, 3, 3),
    Section("9", "聚类", 1, 4, 4),
    Section("9.1", "聚类任务", 2, 4, 4),
    Section("10", "降维与度量学习", 1, 5, 5),
    Section("10.1", "k近邻学习", 2, 5, 5),
)


def build_spans_book(path: Path) -> Path:
    """Write the Chinese book whose sections are ``SPANS_SECTIONS`` (see the module docstring)."""
    doc = pymupdf.open()
    pages = _pages(doc, 5)
    pages[0].insert_text((LEFT, 200), SPANS_TITLE, fontname=CJK, fontsize=24)

    page = pages[1]
    print_text(page, LEFT, 110, "第1 章", 20)  # the number row, Latin digit between Chinese characters
    print_text(page, LEFT, 145, "绪论", 20)
    writer = _writer(page, 180)
    writer.paragraph(SPANS_TEXT["1"])
    y = writer.y + 16
    print_text(page, LEFT, y, "1.1", 13, font=LATIN)  # the number in its own span, far from its title
    print_text(page, LEFT + 60, y, "引言", 13, font=CJK)
    writer.y = y + 24
    writer.paragraph(SPANS_TEXT["1.1"])
    y = writer.y + 16
    end = print_text(page, LEFT, y, "1.2", 13, font=LATIN)  # close to its title, in another font
    print_text(page, end + 5, y, "基本术语", 13, font=CJK)
    writer.y = y + 24
    writer.paragraph(SPANS_TEXT["1.2"])

    page = pages[2]
    end = print_text(page, LEFT, 110, "第8章", 20)
    print_text(page, end + 12, 110, "集成学习", 20, font=CJK)
    writer = _writer(page, 145)
    writer.paragraph(SPANS_TEXT["8"])
    y = writer.y + 16
    print_text(page, LEFT + 60, y, "个体与集成", 13, font=CJK)  # the title drawn first, its number after it
    print_text(page, LEFT, y, "8.1", 13, font=LATIN)
    writer.y = y + 24
    writer.paragraph(SPANS_TEXT["8.1"])

    page = pages[3]
    print_text(page, LEFT, 110, "第 9 章", 20)
    print_text(page, LEFT, 145, "聚类", 20)
    writer = _writer(page, 180)
    writer.paragraph(SPANS_TEXT["9"])
    writer.heading("聚类任务", 13)  # printed without its number; the outline title has it
    writer.paragraph(SPANS_TEXT["9.1"])

    page = pages[4]
    writer = _writer(page, 110)
    writer.heading("降维与度量学习", 20)  # printed without its number; the outline title has it in Chinese numerals
    writer.paragraph(SPANS_TEXT["10"])
    writer.heading("10.1 k近邻学习", 13)  # its bookmark says otherwise
    writer.paragraph(SPANS_TEXT["10.1"])

    for number, page in enumerate(pages[1:], start=1):
        _page_number(page, str(number))
    doc.set_toc([
        [1, SPANS_TITLE, 1],
        [2, "绪论", 2], [3, "引言", 2], [3, "基本术语", 2],
        [2, "集成学习", 3], [3, "个体与集成", 3], [3, "个体与集成", 3],  # a duplicated bookmark
        [2, "第9章 聚类", 4], [3, "9.1 聚类任务", 5],  # a page late
        [2, "第十章：降维与度量学习", 5], [3, "近邻方法", 5],  # named otherwise than printed
    ])
    doc.save(path)
    doc.close()
    return path


# --- an English book typeset like Think Python

PYTHON_TITLE = "A Small Python Book, Simplified"
PYTHON_TITLE_PRINTED = "A Small Python Book, SimpliXed"
"""As drawn: its "X" extracts as the ligature "ﬁ"."""
PYTHON_PREFACE = "This book grew out of notes for a short course. It assumes no programming experience at all."
PYTHON_LIGATURES = "We deXne a Yoat as a number with a Xxed number of digits after the point, and the valueZ is stored."
PYTHON_HYPHENATED = (
    "Programming is an estab-",
    "lished way of problem-",
    "solving, and problem-solving is the skill this book practises.",
)
PYTHON_URL = "Solution: http: // example. com/ code/ do_ four. py . Try it yourself."
PYTHON_1_1 = (
    "We define a float as a number with a fixed number of digits after the point, and the value is stored.\n"
    "Programming is an established way of problem-solving, and problem-solving is the skill this book practises.\n"
    "Solution: http://example.com/code/do_four.py. Try it yourself."
)
"""Section 1.1 as read: ligatures expanded, the control character dropped, "estab-lished" joined, the hyphen of
"problem-solving" (printed so inside a line) kept, the URL rejoined."""
PYTHON_1_2 = "Here is an example of a function definition:"
PYTHON_CODE = (
    "def print_lyrics():",
    '    print("I am a lumberjack.")',
    '    print("I sleep all night.")',
    "",
    ">>> minutes = hours * 60",
    ">>> hours * 60 = minutes",
    "SyntaxError: cannot assign to operator",
    "",
    "def repeat_lyrics():",
    "    print_lyrics()",
    "    print_lyrics()",
)
PYTHON_COMMENTS = {4: "# right", 5: "# wrong!"}
"""Comments printed at one x on the listing's lines 4 and 5, far right of the code."""
PYTHON_COMMENT_COLUMN = 36
PYTHON_CODE_TEXT = "\n".join(
    line + " " * (PYTHON_COMMENT_COLUMN - len(line)) + PYTHON_COMMENTS[i] if i in PYTHON_COMMENTS else line
    for i, line in enumerate(PYTHON_CODE)
)
PYTHON_INLINE_CODE = ("def", " is a keyword that tells Python this is a function definition.")
PYTHON_1_2_END = "The body of a function has to be indented, by convention four spaces."
PYTHON_1_3 = "Debugging is the process of finding and fixing errors in a program."
PYTHON_A = "When you are debugging, you should tell apart the different kinds of errors."
PYTHON_A_1 = "Syntax errors are usually easy to fix once you figure out what they are."
PYTHON_LIST = ("1. Make sure you are not using a keyword as a name.", "2. Check that every header ends with a colon.")
PYTHON_A_1_1 = "If the interpreter says there is an error and you do not see it, you may be running another file."
PYTHON_RUN_IN = ("Syntax:", " the rules that govern the structure of a program.")
PYTHON_A_1_2 = "A program that stops before its end usually raised an exception nobody caught."
PYTHON_INDEX = (
    ("argument, 12, 15", "assignment, 9", "bug, 3, 193", "class, 147, 148", "comment, 14", "debugging, 3, 7, 193",
     "def keyword, 19", "dictionary, 103"),
    ("float type, 4", "function, 17, 19", "header, 19", "interpreter, 2, 3", "keyword, 11, 19", "list, 89",
     "loop, 43", "recursion, 61, 63"),
)
PYTHON_RUNNING_HEADS = {4: "Chapter 1. The way of the program", 5: "1.3. Debugging", 8: "Index"}
"""Running heads (page number -> text), printed at the top without a page number beside them."""
PYTHON_SECTIONS = (
    Section(None, "Preface", 1, 2, 2),
    Section("1", "The way of the program", 1, 3, 5),
    Section("1.1", "What is a program?", 2, 3, 3),
    Section("1.2", "Running Python", 2, 4, 5),
    Section("1.3", "Debugging", 2, 5, 5),
    Section("A", "Debugging", 1, 6, 6),
    Section("A.1", "Syntax errors", 2, 6, 6),
    Section("A.1.1", "I keep making changes and nothing happens.", 3, 6, 6),
    Section("A.1.2", "The program stops early", 3, 6, 6),
    Section(None, "Index", 1, 7, 8),  # not in the outline: a heading in the chapters' style that names back matter
)


def build_python_book(path: Path) -> Path:
    """Write the English book whose sections are ``PYTHON_SECTIONS`` (see the module docstring)."""
    doc = pymupdf.open()
    pages = _pages(doc, 8)
    pages[0].insert_text((LEFT, 200), PYTHON_TITLE_PRINTED, fontname=LATIN, fontsize=24)
    pages[0].insert_text((LEFT, 240), "Second Edition", fontname=LATIN, fontsize=14)
    pages[0].insert_text((LEFT, 300), "Ann Author", fontname=LATIN, fontsize=12)

    writer = _writer(pages[1], 100, LATIN)
    writer.heading("Preface", 24, font=BOLD)
    writer.paragraph(PYTHON_PREFACE)
    pages[1].insert_text((LEFT, HEAD_Y), "Chapter 0. Preface", fontname=LATIN, fontsize=9)

    page = pages[2]
    page.insert_text((LEFT, 110), "Chapter 1", fontname=BOLD, fontsize=20)
    page.insert_text((LEFT, 150), "The way of the program", fontname=BOLD, fontsize=24)
    writer = _writer(page, 190, LATIN)
    end = print_text(page, LEFT, writer.y, "1.1", 14, font=BOLD)
    print_text(page, end + 8, writer.y, "What is a program?", 14, font="tibo")
    writer.y += 30
    first, second = PYTHON_LIGATURES.split(" of ", 1)
    writer.line(first + " of", font="tiro")
    writer.line(second, font="tiro")
    writer.lines(PYTHON_HYPHENATED)
    writer.paragraph(PYTHON_URL)
    map_glyphs(doc, page, "Times-Roman", {"X": 0xFB01, "Y": 0xFB02})
    _encode_glyphs(doc, page, "Times-Roman", {"Z": "uni0001"})

    page = pages[3]
    writer = _writer(page, 90, LATIN)
    writer.heading("1.2 Running Python", 14, font=BOLD)
    writer.paragraph(PYTHON_1_2)
    char = pymupdf.get_text_length("x", fontname=MONO, fontsize=9)
    top = writer.y
    writer.code(PYTHON_CODE, spaces=False)
    for line, comment in PYTHON_COMMENTS.items():
        page.insert_text((LEFT + PYTHON_COMMENT_COLUMN * char, top + 13 * line), comment, fontname=MONO, fontsize=9)
    end = print_text(page, LEFT, writer.y, PYTHON_INLINE_CODE[0], 9, font=MONO)
    print_text(page, end, writer.y, PYTHON_INLINE_CODE[1], BODY, font=LATIN)
    writer.y += LINE
    _rename_courier(doc, page, "F53")

    page = pages[4]
    writer = _writer(page, 90, LATIN)
    writer.paragraph(PYTHON_1_2_END)
    writer.y += 30
    writer.heading("1.3 Debugging", 14, font=BOLD)
    writer.paragraph(PYTHON_1_3)

    page = pages[5]
    page.insert_text((LEFT, 110), "Appendix A", fontname=BOLD, fontsize=20)
    page.insert_text((LEFT, 150), "Debugging", fontname=BOLD, fontsize=24)
    writer = _writer(page, 180, LATIN)
    writer.paragraph(PYTHON_A)
    writer.heading("A.1 Syntax errors", 14, font=BOLD)
    writer.paragraph(PYTHON_A_1)
    for item in PYTHON_LIST:
        writer.line(item, x=LEFT + 12)
    writer.heading("A.1.1 I keep making changes and nothing happens.", 12, font=BOLD)
    writer.paragraph(PYTHON_A_1_1)
    end = print_text(page, LEFT, writer.y, PYTHON_RUN_IN[0], BODY, font=BOLD)
    print_text(page, end, writer.y, PYTHON_RUN_IN[1], BODY, font=LATIN)
    writer.y += LINE + 14
    writer.line("A.1.2 The program stops early")  # a heading in the body size, set apart by space only
    writer.paragraph(PYTHON_A_1_2)

    for page, column in zip(pages[6:], PYTHON_INDEX):
        writer = _writer(page, 90, LATIN)
        if page is pages[6]:
            writer.heading("Index", 24, font=BOLD)
        for entry in column:
            writer.line(entry)
    for number, text in PYTHON_RUNNING_HEADS.items():
        pages[number - 1].insert_text((LEFT, HEAD_Y), text, fontname=LATIN, fontsize=9)
    for index, page in enumerate(pages[1:], start=2):
        _page_number(page, "v" if index == 2 else str(index - 2))
    map_glyphs(doc, pages[0], "Helvetica", {"X": 0xFB01})
    doc.set_page_labels([
        {"startpage": 0, "prefix": "", "style": "r", "firstpagenum": 4},
        {"startpage": 2, "prefix": "", "style": "D", "firstpagenum": 1},
    ])
    doc.set_toc([
        [1, "Preface", 2], [1, "The way of the program", 3], [2, "What is a program?", 3], [2, "Running Python", 4],
        [2, "Debugging", 5], [1, "Debugging", 6], [2, "Syntax errors", 6],
    ])
    doc.save(path)
    doc.close()
    return path


# --- a manual exported from Word

WORD_TITLE = "设备使用手册"
WORD_METADATA_TITLE = "Microsoft Word - 手册.doc"
WORD_MIXED = "本设备通过USB接口连接Windows电脑，并支持Hessian 矩阵计算。"
WORD_BULLETS = ("检查电源线是否连接。", "确认指示灯亮起。")
WORD_1_1 = "本手册说明设备的安装和使用方法。"
WORD_RUN_IN = "样本：指用于测试设备的一组数据。"
WORD_1_2 = "本手册适用于所有型号的设备。"
WORD_SHUFFLED = "安装前请先阅读安全说明，并准备好所需的工具。"
WORD_2_1 = ("1. 打开包装，取出设备。", "2. 连接电源，按下开关。")
WORD_REFERENCE = "[1] 张三. 设备维护指南. 北京: 示例出版社, 2020."
WORD_SECTIONS = (
    Section("1", "概述", 1, 2, 2),
    Section("1.1", "目的", 2, 2, 2),
    Section("1.2", "范围", 2, 2, 2),
    Section("2", "安装", 1, 3, 4),
    Section("2.1", "步骤", 2, 4, 4),
    Section(None, "参考文献", 1, 4, 4),
)


def build_word_manual(path: Path) -> Path:
    """Write the Word-exported manual whose sections are ``WORD_SECTIONS`` (see the module docstring)."""
    doc = pymupdf.open()
    pages = _pages(doc, 4)
    pages[0].insert_text((LEFT, 200), WORD_TITLE, fontname=CJK, fontsize=26)
    pages[0].insert_text((LEFT, 240), "技术部 编", fontname=CJK, fontsize=12)

    page = pages[1]
    writer = _writer(page, 90, font=None)
    writer.heading("第1章 概述", 18)
    writer.paragraph(WORD_MIXED)
    page.insert_text((LEFT, writer.y), "\u00be", fontname="zadb", fontsize=BODY)  # Wingdings-style bullet
    print_text(page, LEFT + 14, writer.y, WORD_BULLETS[0], BODY)
    writer.y += LINE
    page.insert_text((LEFT, writer.y), "W", fontname="tiro", fontsize=BODY)  # extracts as U+0097
    print_text(page, LEFT + 14, writer.y, WORD_BULLETS[1], BODY)
    writer.y += LINE
    writer.heading("1.1 目的", 14)
    writer.paragraph(WORD_1_1)
    writer.paragraph(WORD_RUN_IN)
    writer.y += 14
    writer.line("1.2 范围")  # the body size: a heading by its number and the space above it
    writer.paragraph(WORD_1_2)
    _encode_glyphs(doc, page, "Times-Roman", {"W": "uni0097"})

    page = pages[2]
    writer = _writer(page, 90, font=None)
    writer.heading("第2章 安装", 18)
    y = writer.y
    order = [*range(0, len(WORD_SHUFFLED), 2), *range(1, len(WORD_SHUFFLED), 2)]
    for i in order:  # drawn out of order: PyMuPDF extracts one character per line
        page.insert_text((LEFT + i * BODY, y), WORD_SHUFFLED[i], fontname=CJK, fontsize=BODY)

    page = pages[3]
    writer = _writer(page, 90, font=None)
    writer.heading("2.1 步骤", 14)
    for item in WORD_2_1:
        writer.line(item)
    writer.heading("参考文献", 14)
    writer.paragraph(WORD_REFERENCE, size=9)
    doc.set_metadata({"title": WORD_METADATA_TITLE, "producer": "Microsoft® Word 2016"})
    doc.save(path)
    doc.close()
    return path


# --- furniture on every page, no printed page numbers, a formula, a chapter's reference list

FURNITURE_TITLE = "小小统计学"
PROMO = "关注公众号示例学习获取更多资料"
SITE = "www.example-books.com"
FURNITURE_1 = "概率论研究随机现象的规律。"
FURNITURE_1_1 = "期望是随机变量取值的加权平均。平方误差可以定义为以下公式："
FURNITURE_1_1_AFTER = "其中n是样本数。常数不会带来本质的差别。"
FORMULA_ROWS = (("L(w, b) =", 150, 0, BODY), ("1", 208, -6, BODY), ("n", 208, 8, BODY), ("n", 222, -10, 7),
                ("X", 220, 0, BODY), ("i=1", 219, 12, 7), ("l(i)(w, b)", 236, 0, BODY))
"""A display formula as real PDFs extract it: one short line per symbol group (text, x, y offset, size)."""
EQUATION_NUMBER = "(1.1.1)"
FURNITURE_1_2 = "方差衡量随机变量偏离期望的程度。"
FURNITURE_REFERENCES = ("[1] 张三. 概率论基础. 北京: 示例出版社, 2020.", "[2] 李四. 统计学导论. 上海: 示例出版社, 2019.")
FURNITURE_2 = "统计学从数据出发推断总体的性质。"
FURNITURE_LABELS = ("P-1", "P-2", "P-3", "P-4")
FURNITURE_SECTIONS = (
    Section("1", "概率", 1, 2, 3),
    Section("1.1", "期望", 2, 2, 2),
    Section("1.2", "方差", 2, 3, 3),
    Section(None, "参考文献", 2, 3, 3),  # not in the outline: set like its sections, it names back matter
    Section("3", "统计", 1, 4, 4),  # printed "3" above "统计", where outline order would say 2
)


def build_furniture_book(path: Path) -> Path:
    """Write the Chinese book whose sections are ``FURNITURE_SECTIONS`` (see the module docstring)."""
    doc = pymupdf.open()
    pages = _pages(doc, 4)
    pages[0].insert_text((LEFT, 200), FURNITURE_TITLE, fontname=CJK, fontsize=24)
    pages[0].insert_text((LEFT, 400), PROMO, fontname=CJK, fontsize=9)

    page = pages[1]
    writer = _writer(page, 90)
    writer.heading("1 概率", 16)
    writer.paragraph(FURNITURE_1)
    writer.paragraph(PROMO, size=9)  # mid-page here
    writer.heading("1.1 期望", 13)
    writer.paragraph(FURNITURE_1_1)
    y = writer.y + 12
    for text, x, dy, size in FORMULA_ROWS:
        page.insert_text((x, y + dy), text, fontname=LATIN, fontsize=size)
    width = pymupdf.get_text_length(EQUATION_NUMBER, fontname=LATIN, fontsize=BODY)
    page.insert_text((RIGHT - width, y), EQUATION_NUMBER, fontname=LATIN, fontsize=BODY)
    writer.y = y + 34
    writer.paragraph(FURNITURE_1_1_AFTER)

    page = pages[2]
    page.insert_text((LEFT, HEAD_Y), PROMO, fontname=CJK, fontsize=9)  # at the top here
    writer = _writer(page, 90)
    writer.heading("1.2 方差", 13)
    writer.paragraph(FURNITURE_1_2)
    writer.heading("参考文献", 13)
    for entry in FURNITURE_REFERENCES:
        writer.paragraph(entry, size=9)

    page = pages[3]
    print_text(page, LEFT, 100, "3", 28, font=LATIN)  # its number alone above its title: the sample skips chapter 2
    writer = _writer(page, 130)
    writer.heading("统计", 16)
    writer.paragraph(FURNITURE_2)
    page.insert_text((LEFT, 500), PROMO, fontname=CJK, fontsize=9)  # near the bottom here

    for page in pages:
        page.insert_text((LEFT, FOOT_Y), SITE, fontname=LATIN, fontsize=9)
    doc.set_page_labels([{"startpage": 0, "prefix": "P-", "style": "D", "firstpagenum": 1}])
    doc.set_toc([[1, "概率", 2], [2, "期望", 2], [2, "方差", 3], [1, "统计", 4]])
    doc.set_metadata({"title": FURNITURE_TITLE})
    doc.save(path)
    doc.close()
    return path


# --- a book that prints no section numbers

UNNUMBERED_SECTIONS = (
    Section(None, "前言", 1, 1, 1),
    Section("1", "概述", 1, 2, 2),
    Section("1.1", "目的", 2, 2, 2),
    Section("2", "安装", 1, 3, 3),
    Section("2.1", "准备", 2, 3, 3),
    Section("2.2", "步骤", 2, 3, 3),
)


def build_unnumbered_book(path: Path) -> Path:
    """Write a book whose outline and headings carry no numbers: its sections are numbered by outline order."""
    doc = pymupdf.open()
    pages = _pages(doc, 3)
    for page, headings in zip(pages, (("前言",), ("概述", "目的"), ("安装", "准备", "步骤"))):
        writer = _writer(page, 100)
        for level, heading in enumerate(headings):
            writer.heading(heading, 18 if level == 0 else 13)
            writer.paragraph(f"这是关于{heading}的一段说明文字，用来检查章节的编号。")
    doc.set_toc([[1, "前言", 1], [1, "概述", 2], [2, "目的", 2], [1, "安装", 3], [2, "准备", 3], [2, "步骤", 3]])
    doc.save(path)
    doc.close()
    return path


# --- footnotes: prose kept apart from the page's flow, links left out

NOTES_1 = ("A pipe object represents a running program. You can launch a shell command with os.popen, and read its "
           "output as if it were a file.")
NOTES_ACROSS_1 = "The function os.popen is still in the library and works for simple cases, although"
NOTES_ACROSS_2 = "the documentation now marks it as deprecated."
NOTES_ACROSS = f"{NOTES_ACROSS_1} {NOTES_ACROSS_2}"
NOTES_PROSE = "popen is deprecated now, but I find subprocess more complicated than necessary for simple cases."
NOTES_LINK = "https://docs.example.org/library/subprocess"
NOTES_2 = "A module is a file that contains Python code; importing it runs the code once."
NOTES_CODE = ["10 + 4", "print(total)"]


def build_footnote_book(path: Path) -> Path:
    """Write an English book whose section 1.1 runs across a page break into chapter 2, with a prose footnote at the foot of its
    first page (its mark glued to its first word, as pdfTeX sets it) and a link footnote on the second."""
    doc = pymupdf.open()
    pages = _pages(doc, 2)
    writer = _writer(pages[0], 90, LATIN)
    writer.heading("1 Files", 16)
    writer.heading("1.1 Pipes", 13)
    writer.paragraph(NOTES_1)
    writer.line(NOTES_ACROSS_1)
    pages[0].insert_text((LEFT, 470), "1", fontname=LATIN, fontsize=5)
    pages[0].insert_text((LEFT + 3, 472), NOTES_PROSE, fontname=LATIN, fontsize=7)
    writer = _writer(pages[1], 90, LATIN)
    writer.line(NOTES_ACROSS_2)
    writer.heading("2 Modules", 16)
    writer.paragraph(NOTES_2)
    writer.y = 400  # a small listing in the lower half, its first line starting with a digit, like a footnote's mark
    writer.code(NOTES_CODE, size=7, step=10)
    pages[1].insert_text((LEFT, 470), "2", fontname=LATIN, fontsize=5)
    pages[1].insert_text((LEFT + 3, 472), " " + NOTES_LINK, fontname=LATIN, fontsize=7)
    for page, label in zip(pages, ("1", "2")):
        _page_number(page, label)
    doc.set_toc([[1, "Files", 1], [2, "Pipes", 1], [1, "Modules", 2]])
    doc.save(path)
    doc.close()
    return path
