"""What the app's pages show, computed from small hand-made books and hits (no Streamlit)."""

from __future__ import annotations

import dataclasses

from pathlib import Path

from bookqa.index.retriever import Scope
from bookqa.index.tokenizer import Tokenizer
from bookqa.library.book import Book, Manifest
from bookqa.types import Chunk, Hit, Page, Scores, Section, SignalScore
from bookqa.ui.views import (
    chapter_counts,
    hit_rows,
    left_out_caption,
    left_out_summary,
    outline_tree,
    passage_chunks,
    rank_pairs,
    scope_choices,
    scope_label,
    scope_of,
    scope_section,
    score_rows,
    section_at,
    section_to_ask,
    term_spans,
)

OUTLINE = [
    Section(None, "前言", 1, 1, 1),
    Section("1", "线性神经网络", 1, 2, 4),
    Section("1.1", "线性回归", 2, 2, 3),
    Section("1.1.1", "损失函数", 3, 3, 3),
    Section("1.2", "softmax回归", 2, 3, 4),
    Section("2", "卷积神经网络", 1, 5, 6),
    Section("2.1", "卷积层", 2, 5, 6),
]


def chunk(n: int, path: tuple[str, ...], page: int, text: str = "文本", number: str | None = None) -> Chunk:
    return Chunk(f"b:{n:05d}", "b", text, page, page, path, number)


def book() -> Book:
    manifest = Manifest(
        book_id="b", title="书", source_name="b.pdf", sha256="0" * 64, page_count=6, embedding_model="fake",
        embedding_dim=8, chunk_size=500, chunk_overlap=80, sections=len(OUTLINE), chunks=3, code_chunks=0,
        left_out={1: "front matter", 7: "bibliography", 8: "bibliography"}, timings={},
    )
    pages = [Page(n, "i" if n == 1 else str(n - 1), f"page {n}") for n in range(1, 7)]
    chunks = [
        chunk(0, ("1 线性神经网络", "1.1 线性回归"), 2, number="1.1"),
        chunk(1, ("1 线性神经网络", "1.2 softmax回归"), 4, number="1.2"),
        chunk(2, ("2 卷积神经网络", "2.1 卷积层"), 5, "卷积核在输入上滑动", number="2.1"),
    ]
    return Book(Path("/nowhere"), manifest, pages, OUTLINE, chunks, retriever=None)


def test_scope_choices_are_the_whole_book_then_chapters_and_sections() -> None:
    choices = scope_choices(OUTLINE)
    assert choices[0] is None
    assert [s.number for s in choices[1:]] == [None, "1", "1.1", "1.2", "2", "2.1"]
    assert scope_label(None) == "Whole book"
    assert scope_label(OUTLINE[1]) == "1 线性神经网络"
    assert scope_label(OUTLINE[2]).strip() == "1.1 线性回归"


def test_scope_of_a_numbered_section_is_its_number_else_its_pages() -> None:
    assert scope_of(None) == Scope()
    assert scope_of(OUTLINE[2]) == Scope(section="1.1")
    assert scope_of(OUTLINE[0]) == Scope(pages=(1, 1))


def test_section_at_is_the_section_in_effect_at_the_top_of_the_page() -> None:
    assert section_at(OUTLINE, 2).number == "1.1"
    assert section_at(OUTLINE, 3).number == "1.1"  # 1.2 begins lower on page 3
    assert section_at(OUTLINE, 4).number == "1.2"
    assert section_at(OUTLINE, 5).number == "2.1"  # chapter 2 and 2.1 both begin on page 5
    assert section_at(OUTLINE, 1).title == "前言"
    assert section_at(OUTLINE, 9) is None


def test_outline_tree_groups_sections_under_their_chapters() -> None:
    tree = outline_tree(OUTLINE)
    assert [(c.title, [s.number for s in sections]) for c, sections in tree] == [
        ("前言", []), ("线性神经网络", ["1.1", "1.2"]), ("卷积神经网络", ["2.1"])
    ]


def test_chapter_counts_and_left_out_summary() -> None:
    assert chapter_counts(book()) == [
        {"chapter": "前言", "chunks": 0, "pages": 1},
        {"chapter": "1 线性神经网络", "chunks": 2, "pages": 3},
        {"chapter": "2 卷积神经网络", "chunks": 1, "pages": 2},
    ]
    assert left_out_summary(book().manifest) == {"front matter": 1, "bibliography": 2}


def test_left_out_caption_names_whole_pages_and_parts_of_pages() -> None:
    manifest = book().manifest
    assert left_out_caption(manifest) == "Left out of the index: 1 front matter page, 2 bibliography pages."
    parted = dataclasses.replace(manifest, left_out={}, left_out_parts={57: "bibliography", 12: "front matter"})
    assert left_out_caption(parted) == "Left out of the index: part of pages 12 (front matter), 57 (bibliography)."
    assert left_out_caption(dataclasses.replace(manifest, left_out={})) == ""


def test_hit_rows_and_score_rows_keep_every_signal_as_it_is() -> None:
    b = book()
    hits = [
        Hit(b.chunks[2], 1, 1.3, Scores(dense=SignalScore(0.91, 1), keyword=SignalScore(2.5, 1), fused=1.3)),
        Hit(b.chunks[0], 2, 0.25, Scores(dense=SignalScore(0.80, 2), fused=0.25)),
    ]
    rows = hit_rows(hits, b)
    assert rows[0] == {
        "rank": 1, "fused": 1.3, "dense": 0.91, "keyword": 2.5, "dense_rank": 1, "keyword_rank": 1,
        "page": "4", "section": "2.1 卷积层", "kind": "prose", "preview": "卷积核在输入上滑动",
    }
    assert rows[1]["keyword"] is None and rows[1]["keyword_rank"] is None
    assert score_rows(hits) == [
        {"rank": 1, "signal": "fused", "score": 1.3},
        {"rank": 1, "signal": "dense", "score": 0.91},
        {"rank": 1, "signal": "keyword", "score": 2.5},
        {"rank": 2, "signal": "fused", "score": 0.25},
        {"rank": 2, "signal": "dense", "score": 0.80},
    ]


def test_term_spans_mark_the_query_terms_and_give_the_text_back() -> None:
    text = "DenseNet 把残差网络中的相加换成了连结；densenet 的参数更少。"
    spans = term_spans(text, "DenseNet 和残差网络有什么不同？", Tokenizer())
    assert "".join(piece for piece, _ in spans) == text
    assert [piece for piece, matched in spans if matched] == ["DenseNet", "残差网络", "densenet"]
    assert term_spans("没有关系", "的", Tokenizer()) == [("没有关系", False)]


def test_passage_chunks_resolve_a_hits_id_in_the_book() -> None:
    b = book()
    assert passage_chunks(b, "b:00001") == [b.chunks[1]]
    assert passage_chunks(b, "b:00001+00002") == [b.chunks[1], b.chunks[2]]  # neighbours merged into one passage
    assert passage_chunks(b, "b:00099") == [] and passage_chunks(b, "") == [] and passage_chunks(b, "nonsense") == []


def test_scope_section_is_the_chapter_or_section_holding_a_number() -> None:
    assert scope_section(OUTLINE, "1.1.1") == OUTLINE[2]  # a subsection asks about its section
    assert scope_section(OUTLINE, "1.2") == OUTLINE[4]
    assert scope_section(OUTLINE, "2") == OUTLINE[5]
    assert scope_section(OUTLINE, "3.1") is None and scope_section(OUTLINE, None) is None
    assert scope_section(OUTLINE, "11.1") is None  # "1" does not hold "11.1"


def test_rank_pairs_line_up_the_passages_of_two_searches() -> None:
    b = book()
    merged = Chunk("b:00000+00001", "b", "文本", 2, 4, b.chunks[0].section_path, "1.1")
    hybrid = [Hit(merged, 1, 1.0), Hit(b.chunks[2], 2, 0.5)]
    keyword = [Hit(b.chunks[2], 1, 3.0), Hit(b.chunks[0], 2, 2.0)]  # b:00000 alone, not merged here
    assert rank_pairs(hybrid, keyword) == [
        {"ranks": [1, 2], "page": 2, "section": "1.1 线性回归"},
        {"ranks": [2, 1], "page": 5, "section": "2.1 卷积层"},
    ]
    assert rank_pairs(hybrid, [])[0]["ranks"] == [1, None]


def test_section_to_ask_prefers_the_passage_shown_on_the_page() -> None:
    b = book()
    assert section_to_ask(OUTLINE, 3, [Chunk("b:00009", "b", "文本", 3, 3, ("1 线性神经网络", "1.2 softmax回归"), "1.2")]) == OUTLINE[4]
    assert section_to_ask(OUTLINE, 3) == section_at(OUTLINE, 3)
    assert passage_chunks(b, "b:00000+00001", page=4) == [b.chunks[1]]  # only the chunk printed on that page
