"""Citations: parsing the tolerated forms, mapping labels to retrieved pages, marking the others."""

from __future__ import annotations

from answer_helpers import GRADIENT_CHUNK, PAGES, densenet_hits, hit

from bookqa.answering.citations import check_citations, parse_citations, retrieved_pages


def test_parses_every_tolerated_form_in_order_without_repeats() -> None:
    text = "A [p.251] B [p. 252] C [p.251, p.244] D [第 56 页] E [第7页，第8页] F [p.290-292] G 【p.iv】 H [pp. 5–6] [page 9]"
    assert parse_citations(text) == ["251", "252", "244", "56", "7", "8", "290", "291", "292", "iv", "5", "6", "9"]


def test_brackets_that_are_not_page_citations_are_ignored() -> None:
    assert parse_citations("see [1], x[0], list[int], [p.], [第二章], [p.3, foo bar], [see p.5]") == []


def test_retrieved_pages_span_each_hit() -> None:
    assert retrieved_pages(densenet_hits()) == [262, 269, 270]


def test_labels_map_back_to_retrieved_physical_pages() -> None:
    checked = check_citations("稠密连接 [p.252]，残差 [p. 244]；再次 [p.251, p.252]", densenet_hits(), PAGES)
    assert checked.pages == (270, 262, 269)
    assert checked.unverified == ()
    assert checked.text == "稠密连接 [p.252]，残差 [p.244]；再次 [p.251][p.252]"


def test_a_page_that_was_not_retrieved_is_marked_and_never_a_source() -> None:
    checked = check_citations("一 [p.251] 二 [p.999] 三 [第 56 页] 四 [p.251, p.300]", densenet_hits(), PAGES)
    assert checked.pages == (269,)
    assert checked.unverified == ("999", "56", "300")
    assert checked.text == "一 [p.251] 二 [p.999?] 三 [p.56?] 四 [p.251][p.300?]"
    assert check_citations(checked.text, densenet_hits(), PAGES).pages == (269,)  # marks are not re-read as citations


def test_a_physical_number_is_not_taken_for_a_label() -> None:
    checked = check_citations("DenseNet [p.269]", densenet_hits(), PAGES)  # 269 is the physical number of label 251
    assert checked.pages == () and checked.unverified == ("269",)


def test_without_labels_pages_are_cited_by_number() -> None:
    checked = check_citations("The gradient [p.74].", [hit(GRADIENT_CHUNK, 1)])
    assert checked.pages == (74,) and checked.text == "The gradient [p.74]."


def test_a_reply_without_citations_is_unchanged() -> None:
    checked = check_citations("本书没有涉及这个问题。", densenet_hits(), PAGES)
    assert (checked.text, checked.pages, checked.unverified) == ("本书没有涉及这个问题。", (), ())
