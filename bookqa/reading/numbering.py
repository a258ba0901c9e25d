"""Section numbers as books print them: read off the start of a heading or an outline title, and checked
against where they stand in the outline.

A chapter is a chapter however it is printed: "第8章", "第 8 章", "第八章", "Chapter 8", "8" all read "8"; a
section reads "8.6" whether a space, a dot, a bar or nothing (before Chinese text) separates it from its
title. Appendices read as letters ("Appendix A", "A.1.1").
"""

from __future__ import annotations

import re

from bookqa.text import HAN

_CHINESE_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CHINESE_UNITS = {"十": 10, "百": 100}
_CHINESE_NUMERAL = "〇零一二两三四五六七八九十百"
_SEPARATOR = r"(?:\s*[|｜:：、—–]\s*|\s+|(?=[" + HAN + r"])|$)"
_LABELLED = re.compile(
    r"^(?:(?P<word>chapter|appendix|part)\s+(?P<named>\d{1,3}|[A-Z]|[IVXLC]{1,6})(?![\w.]*\d)\.?"
    rf"|第\s*(?P<zh>\d{{1,3}}|[{_CHINESE_NUMERAL}]{{1,4}})\s*[章节篇部讲]|附录\s*(?P<appendix>[A-Z]|\d{{1,2}}))" + _SEPARATOR,
    re.IGNORECASE,
)
_DOTTED = re.compile(r"^(?P<number>\d{1,3}(?:\.\d{1,3}){0,4}|[A-Z](?:\.\d{1,3}){1,4})(?:\.(?!\d))?" + _SEPARATOR)
_LETTER = re.compile(r"^[A-Z]$")
_MAX_JUMP = 3
"""How far a section number may skip ahead of its previous sibling (a heading the reader missed)."""
_ROMAN = re.compile(r"^[IVXLC]+$")


def split_number(text: str) -> tuple[str | None, str]:
    """``(number, rest)`` of a heading or outline title: the section number it begins with, normalised
    ("第十二章：概率" -> ("12", "概率"), "Chapter 3" -> ("3", ""), "1.1引言" -> ("1.1", "引言")), and the
    text after it; ``(None, text)`` when it begins with none. A line that is one capital letter is an
    appendix's letter."""
    text = text.strip()
    labelled = _LABELLED.match(text)
    if labelled:
        named = labelled.group("named")
        if named is not None:
            number = named.upper() if _ROMAN.match(named.upper()) and labelled.group("word").lower() == "part" else named
            if number.isalpha() and len(number) == 1:
                number = number.upper()
        elif labelled.group("appendix") is not None:
            number = labelled.group("appendix")
        else:
            number = _arabic(labelled.group("zh"))
        return (number, text[labelled.end() :].strip()) if number else (None, text)
    dotted = _DOTTED.match(text)
    if dotted:
        return dotted.group("number"), text[dotted.end() :].strip()
    if _LETTER.match(text):
        return text, ""
    return None, text


def depth(number: str) -> int:
    """How deep a section number goes: "8" 1, "8.6" 2, "A.1.1" 3."""
    return number.count(".") + 1


def fits(number: str, parent: str | None) -> bool:
    """Whether ``number`` can number a child of the section numbered ``parent``: one level below it
    ("8.6" under "8"), or a chapter of its own under an unnumbered parent or a part ("3" under "II")."""
    if parent is None:
        return True
    return (number.startswith(parent + ".") and depth(number) == depth(parent) + 1) or (
        depth(number) == 1 and _ROMAN.match(parent) is not None
    )


def follows(number: str, previous: str | None) -> bool:
    """Whether ``number`` can come after the sibling numbered ``previous`` (None: it is the first child): one of
    the next few numbers (or letters, for appendices)."""
    last = _last_part(number)
    if last is None:
        return False
    if previous is None:
        return last <= _MAX_JUMP
    before = _last_part(previous)
    return before is not None and before < last <= before + _MAX_JUMP


def _last_part(number: str) -> int | None:
    tail = number.rpartition(".")[2]
    if tail.isdigit():
        return int(tail)
    if _LETTER.match(tail):
        return ord(tail) - ord("A") + 1
    return None


def _arabic(numeral: str) -> str | None:
    """Digits as they are; Chinese numerals up to the hundreds as digits ("十二" -> "12", "一百零五" -> "105")."""
    if numeral.isdigit():
        return str(int(numeral))
    total = current = 0
    for char in numeral:
        if char in _CHINESE_DIGITS:
            current = _CHINESE_DIGITS[char]
        elif char in _CHINESE_UNITS:
            total += (current or 1) * _CHINESE_UNITS[char]
            current = 0
        else:
            return None
    total += current
    return str(total) if total > 0 else None
