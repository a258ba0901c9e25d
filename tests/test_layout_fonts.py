"""Fonts judged monospaced by how their spans advance, and pages drawn out of order put back in order."""

from __future__ import annotations

from bookqa.reading.layout import FontAdvances, _drawn_out_of_order, _in_reading_order

WORDS = ["def", "print_lyrics():", "return", "minutes", "hours", "SyntaxError:", "lumberjack", "x+1", "math.pi"]


def _span(font: str, text: str, x0: float, advance: float, size: float = 10.0, y0: float = 0.0) -> dict:
    box = (x0, y0, x0 + advance * size * len(text), y0 + size)
    return {"bbox": box, "spans": [{"font": font, "text": text, "bbox": box, "size": size, "flags": 0}]}


def test_a_font_whose_spans_all_advance_alike_is_monospaced_whatever_its_name() -> None:
    advances = FontAdvances()
    advances.add([_span("F53", word, 72, 0.6) for word in WORDS])
    advances.add([_span("Palatino", word, 72, 0.35 + 0.04 * (len(word) % 5)) for word in WORDS])
    advances.add([_span("F53", "x = 1  # stretched", 72, 0.9)])  # a span with spaces a justified line stretched
    advances.add([_span("Cour", "x", 72, 0.6), _span("Cour", "y", 90, 0.6)])  # too little evidence
    assert advances.monospaced() == frozenset({"F53"})


def test_listing_lines_that_are_one_span_each_are_evidence_when_nothing_else_is() -> None:
    advances = FontAdvances()
    advances.add([_span("F53", f"value_{i} = compute({i}, size)", 72, 0.6) for i in range(9)])
    advances.add([_span("Serif", f"This is line {i} of a paragraph set in a proportional face.", 72, 0.42 + 0.01 * i) for i in range(9)])
    assert advances.monospaced() == frozenset({"F53"})


def test_a_page_drawn_out_of_order_is_put_back_by_baseline_and_position() -> None:
    text = "每个字单独一行的页面"
    drawn = [*range(0, len(text), 2), *range(1, len(text), 2)]
    lines = [_span("Heiti", text[i], 50 + 10 * i, 1.0) for i in drawn]
    lines += [_span("Heiti", "第二行", 50 + 10 * i, 1.0, y0=20) for i in range(1)]
    assert _drawn_out_of_order(lines)
    assert "".join(line["spans"][0]["text"] for line in _in_reading_order(lines)) == text + "第二行"
    in_order = [_span("Heiti", char, 50 + 10 * i, 1.0) for i, char in enumerate(text)]
    assert not _drawn_out_of_order(in_order)


def test_a_chinese_font_with_even_latin_letters_is_not_a_code_font() -> None:
    advances = FontAdvances()
    advances.add([_span("SimSun", word, 72, 0.5) for word in WORDS])  # SimSun's Latin letters: all half an em
    advances.add([_span("SimSun", "宋体排的中文", 72, 1.0)])
    assert advances.monospaced() == frozenset()
