"""Fixture books for the study tests, typeset with bookqa.library.typeset: one Chinese and one English book whose
sections have the book's own summary (小结 / Summary), defined terms (bilingual pairs, 称为, bold terms, "is called",
a glossary), exercises (练习 / Exercises, "Exercise 1.1."), figure and table captions, and a section too thin for
self-test items. ``ZH_BOOK`` and ``EN_BOOK`` hold what a reader of each can see.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pymupdf

from bookqa.library.typeset import BOLD, LATIN, PageWriter, print_text, wrap

WIDTH, HEIGHT = 420, 595
LEFT, RIGHT, TOP = 50, 370, 80
BODY, LEADING = 10, 16


@dataclass(frozen=True)
class Expected:
    """What a reader sees in a fixture section: ``key_points`` of its summary, ``terms`` it defines (as printed)
    with the physical page of each definition, ``exercises`` (their first line), ``captions`` with their pages."""

    key_points: tuple[str, ...] = ()
    terms: tuple[tuple[str, int], ...] = ()
    exercises: tuple[str, ...] = ()
    captions: tuple[tuple[str, int], ...] = ()


# ------------------------------------------------------------------------------------------- the Chinese book
ZH_INTRO = "图像中相邻的像素关系密切。本章介绍如何用卷积层处理图像，并说明输出的形状如何确定。"
ZH_CONV = "卷积层是卷积神经网络的基本组成部分。它用很少的参数描述局部的图像特征。"
ZH_XCORR = (
    "卷积层实际执行的运算称为互相关运算（cross-correlation）。在这种运算中，卷积窗口从输入张量的左上角开始，从左到右、"
    "从上到下滑动。卷积层中的小型二维数组称为卷积核（convolution kernel），它与输入中的局部窗口逐元素相乘后再求和。"
)
ZH_XCORR_2 = "卷积层的输出有时被称为特征映射（feature map），因为它可以被看作输入在空间维度上的一种变换。"
ZH_FIGURE = "图1.1: 二维互相关运算的示意图。"
ZH_PADDING = (
    "在应用多层卷积时，我们常常丢失边缘像素。填充（padding）是在输入图像的边界周围添加额外的行和列，通常把这些元素设为零。"
    "卷积窗口每次滑动的行数和列数叫做步幅（stride），步幅越大，输出的高和宽越小。"
)
ZH_TABLE = "表1.1: 不同填充和步幅下的输出形状。"
ZH_FIELD = (
    "对于某一层的任意元素，其感受野（receptive field）是指在前向传播期间可能影响该元素计算的所有元素。"
    "层数越多，深层元素的感受野就越大，它能够看到的输入区域也越广。"
)
ZH_SUMMARY = (
    "二维卷积层的核心计算是二维互相关运算。",
    "填充可以增加输出的高和宽，常用来让输出与输入的高和宽相同。",
    "步幅可以减小输出的高和宽，例如把输出的高和宽减半。",
)
ZH_EXERCISES = (
    "1. 构建一个具有对角线边缘的图像，把本节的卷积核应用于它，会发生什么？",
    "2. 为什么步幅为2时，输出的高和宽大约会减半？",
    "3. 给定输入形状和卷积核形状，计算输出形状。",
    "1. 不使用填充时，输出形状是多少？",
    "2. 使用填充时呢？",
)
ZH_THIN = "动手做实验是学习的好方法。建议读者运行本章的代码。"
ZH_ATTENTION = "注意力机制让模型在处理一个位置时，有选择地关注输入中最相关的部分。"
ZH_POOLING = (
    "查询（query）与键（key）之间的交互形成了注意力汇聚，它根据查询与键的相似程度对输入做加权平均。"
    "用来衡量查询与键之间相似程度的函数称为注意力评分函数（attention scoring function）。"
    "评分经过softmax运算后得到的权重称为注意力权重（attention weight）。"
)
ZH_POOLING_SUMMARY = ("注意力汇聚按注意力权重对值做加权平均。",)
ZH_POOLING_EXERCISES = ("1. 如果增加查询的维度，注意力权重会怎样变化？",)

ZH_TOC = [
    (1, "卷积神经网络", 1), (2, "卷积层", 1), (3, "互相关运算", 1), (3, "填充和步幅", 2), (3, "感受野", 2),
    (2, "实践建议", 3), (1, "注意力机制", 4), (2, "注意力汇聚", 4),
]
ZH_BOOK = {
    "1.1": Expected(
        key_points=ZH_SUMMARY,
        terms=(("互相关运算", 1), ("卷积核", 1), ("特征映射", 1), ("填充", 2), ("步幅", 2), ("感受野", 2)),
        exercises=ZH_EXERCISES[:3],
        captions=((ZH_FIGURE, 1), (ZH_TABLE, 2)),
    ),
    "1.2": Expected(),
    "2.1": Expected(
        key_points=ZH_POOLING_SUMMARY,
        terms=(("查询", 4), ("注意力评分函数", 4), ("注意力权重", 4)),
        exercises=ZH_POOLING_EXERCISES,
    ),
}
"""Per section number, what the Chinese book shows. Section 1.2 is too thin for self-test items; 键 is one character,
too short for a term."""


def _page(doc: pymupdf.Document, label: str, font: str | None) -> PageWriter:
    page = doc.new_page(width=WIDTH, height=HEIGHT)
    print_text(page, RIGHT - 10, HEIGHT - 30, label, 9, LATIN)
    return PageWriter(page, TOP, LEFT, RIGHT, font=font, body_size=BODY, leading=LEADING)


def build_zh_study_book(path: Path) -> Path:
    """Write the Chinese study book (four pages, ``ZH_TOC`` as its outline) to ``path``."""
    doc = pymupdf.open()
    w = _page(doc, "1", None)
    w.heading("1 卷积神经网络", 16)
    w.paragraph(ZH_INTRO)
    w.heading("1.1 卷积层")
    w.paragraph(ZH_CONV)
    w.heading("1.1.1 互相关运算", 12)
    w.paragraph(ZH_XCORR)
    w.paragraph(ZH_XCORR_2)
    w.paragraph(ZH_FIGURE, size=8)

    w = _page(doc, "2", None)
    w.heading("1.1.2 填充和步幅", 12)
    w.paragraph(ZH_PADDING)
    w.paragraph(ZH_TABLE, size=8)
    w.heading("1.1.3 感受野", 12)
    w.paragraph(ZH_FIELD)
    w.heading("小结", 12)
    for point in ZH_SUMMARY:
        w.paragraph("• " + point)
    w.heading("练习", 12)
    for number, exercise in enumerate(ZH_EXERCISES):
        w.paragraph(exercise) if number < 3 else w.line(exercise, x=LEFT + 20)

    w = _page(doc, "3", None)
    w.heading("1.2 实践建议")
    w.paragraph(ZH_THIN)

    w = _page(doc, "4", None)
    w.heading("2 注意力机制", 16)
    w.paragraph(ZH_ATTENTION)
    w.heading("2.1 注意力汇聚")
    w.paragraph(ZH_POOLING)
    w.heading("小结", 12)
    for point in ZH_POOLING_SUMMARY:
        w.paragraph("• " + point)
    w.heading("练习", 12)
    for exercise in ZH_POOLING_EXERCISES:
        w.paragraph(exercise)

    doc.set_toc([list(entry) for entry in ZH_TOC])
    doc.set_metadata({"title": "卷积与注意力", "author": "BookQA tests"})
    doc.save(path)
    doc.close()
    return path


# ------------------------------------------------------------------------------------------- the English book
EN_INTRO = "This chapter is about the programs we write and the values they work with."
EN_PROGRAM = (
    "A **program** is a sequence of instructions that tells a computer how to perform a computation. "
    "The program that reads your code and runs it one line at a time is called an interpreter. "
    "A **bug** is an error in a program, and the work of finding and removing bugs is called debugging."
)
EN_FIGURE = "Figure 1.1: An interpreter reads a program and prints what it computes."
EN_VALUES = (
    "A **value** is one of the basic things a program works with, like a letter or a number. "
    "Every value belongs to a **type**, and the type decides what a program can do with the value. "
    "Whole numbers such as 17 belong to the type **integer**. "
    "A sequence of characters between quotation marks is known as a **string**."
)
EN_TABLE = "Table 1.1: Some values and their types."
EN_SUMMARY = ("A program is a list of instructions for a computer.", "Every value has a type, such as integer or string.")
EN_EXERCISES = (
    "Exercise 1.1. Type 2 + 3 into the interpreter and describe what it prints.",
    "Exercise 1.2. Which type does the value 3.5 have? Explain how you found out.",
)
EN_GLOSSARY = (
    "statement: A unit of code that the interpreter can run.",
    "expression: A combination of values and operators that stands for a single value.",
    "operator: A special symbol that stands for a computation such as addition.",
)
EN_ASSIGNMENT = (
    "An **assignment statement** creates a new **variable** and gives it a value. "
    "A name that the language reserves for its own use is called a keyword, and it cannot be the name of a variable. "
    "Variable names can be as long as you like and may contain both letters and numbers. "
    "It is a good habit to choose names that say what the variable is used for. "
    "Python reads a script from the top down, so a variable has to be assigned before it is used."
)
EN_TIP = "**Read the error message:** Python names the line where it stopped and what went wrong there."
"""A run-in label of a tip, set in bold: no term (the book does not use it again)."""

EN_TOC = [
    (1, "Programs and values", 1), (2, "What is a program", 1), (2, "Values and types", 2), (2, "Glossary", 3),
    (1, "Variables", 4), (2, "Assignment", 4),
]
EN_BOOK = {
    "1.1": Expected(terms=(("program", 1), ("interpreter", 1), ("bug", 1), ("debugging", 1)), captions=((EN_FIGURE, 1),)),
    "1.2": Expected(
        key_points=EN_SUMMARY,
        terms=(("value", 2), ("type", 2), ("integer", 2), ("string", 2)),
        exercises=EN_EXERCISES,
        captions=((EN_TABLE, 2),),
    ),
    "1.3": Expected(terms=(("statement", 3), ("expression", 3), ("operator", 3))),
    "2.1": Expected(terms=(("assignment statement", 4), ("variable", 4), ("keyword", 4))),
}
"""Per section number, what the English book shows. In 1.1 "bug" and "debugging" share a sentence, in 2.1 "variable"
shares that of "assignment statement": a self-test asks about one term per sentence."""


def rich_paragraph(writer: PageWriter, text: str) -> None:
    """``text`` wrapped and printed in Helvetica, its ``**marked**`` words in bold, then a small gap."""
    plain, bold = "", []
    for number, piece in enumerate(text.split("**")):
        plain += piece
        bold += [number % 2 == 1] * len(piece)
    start = 0
    for line in wrap(plain, writer.body_size, writer.right - writer.left, LATIN):
        start = plain.index(line, start)
        x, run = writer.left, ""
        for offset, char in enumerate(line):
            run += char
            ends = offset + 1 == len(line) or bold[start + offset + 1] != bold[start + offset]
            if ends:
                x = print_text(writer.page, x, writer.y, run, writer.body_size, BOLD if bold[start + offset] else LATIN)
                run = ""
        start += len(line)
        writer.y += writer.leading
    writer.y += 6


def build_en_study_book(path: Path) -> Path:
    """Write the English study book (four pages, ``EN_TOC`` as its outline) to ``path``."""
    doc = pymupdf.open()
    w = _page(doc, "1", LATIN)
    w.heading("1 Programs and values", 16, BOLD)
    w.paragraph(EN_INTRO)
    w.heading("1.1 What is a program", 13, BOLD)
    rich_paragraph(w, EN_PROGRAM)
    w.paragraph(EN_FIGURE, size=8)

    w = _page(doc, "2", LATIN)
    w.heading("1.2 Values and types", 13, BOLD)
    rich_paragraph(w, EN_VALUES)
    w.paragraph(EN_TABLE, size=8)
    w.heading("Summary", 11, BOLD)
    for point in EN_SUMMARY:
        w.paragraph("• " + point)
    w.heading("Exercises", 11, BOLD)
    for exercise in EN_EXERCISES:
        w.paragraph(exercise)

    w = _page(doc, "3", LATIN)
    w.heading("1.3 Glossary", 13, BOLD)
    for entry in EN_GLOSSARY:
        term, definition = entry.split(": ", 1)
        rich_paragraph(w, f"**{term}:** {definition}")

    w = _page(doc, "4", LATIN)
    w.heading("2 Variables", 16, BOLD)
    w.heading("2.1 Assignment", 13, BOLD)
    rich_paragraph(w, EN_ASSIGNMENT)
    rich_paragraph(w, EN_TIP)

    doc.set_toc([list(entry) for entry in EN_TOC])
    doc.set_metadata({"title": "Programs and Values", "author": "BookQA tests"})
    doc.save(path)
    doc.close()
    return path

