"""Section numbers read however books print them, and outline entries cleaned of wrong bookmarks."""

from __future__ import annotations

import pytest

from bookqa.reading.numbering import fits, follows, split_number
from bookqa.reading.outline import Entry, outline_entries


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("第8章集成学习", ("8", "集成学习")),
        ("第8章", ("8", "")),
        ("第 8 章", ("8", "")),
        ("第1 章", ("1", "")),
        ("第十二章：概率图模型", ("12", "概率图模型")),
        ("第一百零五章 附加", ("105", "附加")),
        ("附录A 数学基础", ("A", "数学基础")),
        ("Chapter 8", ("8", "")),
        ("Chapter 3 Linear Neural Networks", ("3", "Linear Neural Networks")),
        ("Appendix A", ("A", "")),
        ("A", ("A", "")),
        ("8", ("8", "")),
        ("1.1引言", ("1.1", "引言")),
        ("1.1 概述", ("1.1", "概述")),
        ("1.1 | Background", ("1.1", "Background")),
        ("7.6. Algorithms", ("7.6", "Algorithms")),
        ("A.1.1 I keep making changes.", ("A.1.1", "I keep making changes.")),
        ("A Motivating Example", (None, "A Motivating Example")),  # a title that begins with "A"
        ("2019年的进展", (None, "2019年的进展")),
        ("x = 1", (None, "x = 1")),
    ],
)
def test_split_number(text: str, expected: tuple[str | None, str]) -> None:
    assert split_number(text) == expected


def test_a_number_fits_one_level_under_its_parent_or_as_a_chapter_of_a_part() -> None:
    assert fits("8.6", "8") and fits("A.1.1", "A.1") and fits("3", None) and fits("3", "II")
    assert not fits("8.6.1", "8") and not fits("9.1", "8") and not fits("1", "6.4")


def test_a_number_follows_its_previous_sibling_by_a_few() -> None:
    assert follows("2.3", "2.2") and follows("2.5", "2.2") and follows("B", "A") and follows("A.1.1", None)
    assert not follows("2.9", "2.2") and not follows("2.2", "2.2") and not follows("2.7", None)


def test_duplicated_bookmarks_are_dropped_and_a_whole_book_entry_is_unwrapped() -> None:
    toc = [[1, "机器学习", 1], [2, "绪论", 2], [3, "引言", 2], [3, "引言", 3], [2, "模型评估", 5], [3, "  ", 5], [3, "误差", 99]]
    assert outline_entries(toc, page_count=10) == [Entry(1, "绪论", 2), Entry(2, "引言", 2), Entry(1, "模型评估", 5)]


def test_several_top_entries_stay_chapters() -> None:
    toc = [[1, "Preface", 1], [1, "Basics", 2], [2, "Values", 2]]
    assert outline_entries(toc, page_count=3) == [Entry(1, "Preface", 1), Entry(1, "Basics", 2), Entry(2, "Values", 2)]
