"""Hybrid retrieval on ten inline chunks: real FAISS, real bm25s, the deterministic FakeEmbedder, exact expectations."""

import dataclasses

import numpy as np
import pytest
from fakes import FakeEmbedder

from bookqa.config import Settings
from bookqa.errors import IndexMismatchError
from bookqa.index.fusion import Fusion, merge_scores, score_breakdown
from bookqa.index.keyword_index import KeywordIndex
from bookqa.index.retriever import Retriever, Scope, build_indexes, index_text, merge_chunks
from bookqa.index.vector_index import VectorIndex
from bookqa.types import Chunk, Scores, SignalScore, passage_chunk_ids, passage_id

RESNET = ("7 现代卷积神经网络", "7.6 残差网络（ResNet）")
DENSENET = ("7 现代卷积神经网络", "7.7 稠密连接网络（DenseNet）")
TRANSITION = (*DENSENET, "7.7.2 过渡层")


def chunk(n: int, text: str, page: int, path: tuple[str, ...], number: str, book: str = "b") -> Chunk:
    return Chunk(id=f"{book}:{n:05d}", book_id=book, text=text, page_start=page, page_end=page, section_path=path, section_number=number)


# Chunks 4 and 5 overlap ("与残差网络不同，...连结。") as a chunker's consecutive chunks do.
CHUNKS = [
    chunk(0, "softmax回归是一种用于多类分类的模型，它把输出变换为每个类别的概率。", 111, ("3 线性神经网络", "3.4 softmax回归"), "3.4"),
    chunk(1, "Dropout randomly zeroes hidden units during training to reduce overfitting.", 159, ("4 多层感知机", "4.6 暂退法（Dropout）"), "4.6"),
    chunk(2, "残差网络的核心思想是：每个附加层都应该更容易地包含原始函数作为其元素之一。残差块由此诞生。", 260, RESNET, "7.6"),
    chunk(3, "残差块里首先有2个有相同输出通道数的3×3卷积层。", 261, RESNET, "7.6"),
    chunk(4, "稠密连接网络在很大程度上是残差网络的逻辑扩展。与残差网络不同，稠密网络的输出在通道维上连结。", 269, DENSENET, "7.7"),
    chunk(5, "与残差网络不同，稠密网络的输出在通道维上连结。一个稠密块由多个卷积块组成，每个卷积块使用相同数量的输出通道。", 270, DENSENET, "7.7"),
    chunk(6, "由于每个稠密块都会带来通道数的增加，使用过多则会过于复杂化模型。", 271, TRANSITION, "7.7.2"),
    chunk(7, "过渡层可以用来控制模型复杂度。它通过1×1卷积层来减小通道数，并使用步幅为2的平均汇聚层减半高和宽。", 271, TRANSITION, "7.7.2"),
    chunk(8, "多头注意力把查询、键和值分别投影到多个子空间，再并行计算注意力。", 379, ("10 注意力机制", "10.5 多头注意力"), "10.5"),
    chunk(9, "The Transformer is built entirely on attention, without recurrent or convolutional layers.", 387, ("10 注意力机制", "10.7 Transformer"), "10.7"),
]
SETTINGS = Settings(top_k=3, candidates=3, rrf_k=60)
SIGNAL_KEYS = {"dense", "dense_rank", "dense_norm", "keyword", "keyword_rank", "keyword_norm", "fused"}


@pytest.fixture(scope="module")
def embedder() -> FakeEmbedder:
    return FakeEmbedder(64)


@pytest.fixture(scope="module")
def indexes(embedder) -> tuple[VectorIndex, KeywordIndex]:
    return build_indexes(CHUNKS, embedder)


@pytest.fixture(scope="module")
def retriever(indexes, embedder) -> Retriever:
    return Retriever(CHUNKS, *indexes, embedder, SETTINGS)


def ids(hits) -> list[str]:
    return [hit.chunk.id for hit in hits]


def flat(scores: Scores) -> dict[str, float]:
    """``scores`` as one flat dict (``dense``, ``dense_rank``, ``dense_norm``, ..., ``fused``), unrounded."""
    out: dict[str, float] = {}
    for name in ("dense", "keyword"):
        found = getattr(scores, name)
        if found is not None:
            out.update({name: found.score, f"{name}_rank": found.rank})
            if found.scaled is not None:
                out[f"{name}_norm"] = found.scaled
    if scores.fused is not None:
        out["fused"] = scores.fused
    return out


def test_modes_rank_exactly(retriever):
    dense = retriever.search("attention transformer", mode="dense")
    keyword = retriever.search("attention transformer", mode="keyword")
    hybrid = retriever.search("attention transformer", mode="hybrid")
    assert ids(dense) == ["b:00009", "b:00001", "b:00006"]
    assert ids(keyword) == ["b:00009"]  # no other chunk has either word
    assert ids(hybrid) == ["b:00009", "b:00001", "b:00006"]
    assert [hit.rank for hit in hybrid] == [1, 2, 3]
    assert [flat(hit.scores)["dense_rank"] for hit in dense] == [1, 2, 3]
    assert flat(hybrid[0].scores)["keyword_rank"] == 1 and "keyword" not in flat(hybrid[1].scores)


def test_score_is_the_signal_of_the_mode(retriever):
    for mode, key in (("dense", "dense"), ("keyword", "keyword"), ("hybrid", "fused")):
        for hit in retriever.search("什么是DenseNet", mode=mode):
            assert hit.score == flat(hit.scores)[key]
    dense = retriever.search("什么是DenseNet", mode="dense")
    assert set().union(*(flat(hit.scores) for hit in dense)) == {"dense", "dense_rank"}
    assert [round(hit.score, 4) for hit in dense] == [0.3264, 0.2725, 0.2392]
    assert dense[0].score > dense[1].score > dense[2].score


def test_hybrid_score_breakdown(retriever):
    hits = retriever.search("什么是DenseNet", mode="hybrid")
    # 1 is the best dense candidate, missed by the keyword search; 6 (in 7.7.2) the best keyword match, missed by the
    # dense one: both fuse to 0.5 and the tie goes to reading order; 4+5 the second keyword match and the last of
    # three dense candidates
    assert ids(hits) == ["b:00001", "b:00006", "b:00004+00005"]
    assert set(flat(hits[0].scores)) == {"dense", "dense_rank", "dense_norm", "fused"}
    assert set(flat(hits[1].scores)) == {"keyword", "keyword_rank", "keyword_norm", "fused"}
    assert set(flat(hits[2].scores)) == SIGNAL_KEYS
    for hit in hits:
        signals = 0.5 * flat(hit.scores).get("dense_norm", 0) + 0.5 * flat(hit.scores).get("keyword_norm", 0)
        assert hit.score == pytest.approx(signals)
    assert flat(hits[1].scores)["keyword_norm"] == 1.0 and flat(hits[2].scores)["dense_norm"] == 0.0  # the best and the last candidate
    assert flat(hits[0].scores)["dense_norm"] == 1.0 and hits[0].score == hits[1].score == 0.5


def test_hybrid_with_reciprocal_rank_fusion(indexes, embedder):
    hits = Retriever(CHUNKS, *indexes, embedder, SETTINGS.replace(fusion="rrf")).search("什么是DenseNet")
    assert ids(hits) == ["b:00004+00005", "b:00001", "b:00006"]  # ranks alone: found by both signals comes first, then a tie in reading order
    for hit in hits:
        ranks = [flat(hit.scores)[key] for key in ("dense_rank", "keyword_rank") if key in flat(hit.scores)]
        rrf = sum(1 / (60 + rank) for rank in ranks)
        assert hit.score == pytest.approx(rrf)


def test_a_question_naming_a_section_title_finds_that_section_first(indexes, embedder):
    hits = Retriever(CHUNKS, *indexes, embedder, SETTINGS.replace(candidates=10)).search("残差网络", k=10)
    assert hits[0].chunk.id == "b:00002+00003" and hits[0].chunk.section_number == "7.6"  # "7.6 残差网络（ResNet）"
    assert set().union(*(flat(hit.scores) for hit in hits)) <= SIGNAL_KEYS | {"fused"}  # titles are read by both signals, not scored apart


def test_an_english_question_also_searches_the_books_own_chinese_term(embedder):
    chunks = [
        chunk(0, "这里的诀窍是框架的延后初始化（defers initialization），即直到数据第一次通过模型传递时，框架才会推断出每个层的大小。", 200, ("5 深度学习计算", "5.3 延后初始化"), "5.3"),
        chunk(1, "权重衰减（weight decay）是最广泛使用的正则化技术之一。", 150, ("4 多层感知机", "4.5 权重衰减"), "4.5"),
        chunk(2, "We initialize the weights with random values drawn from a normal distribution.", 99, ("3 线性神经网络", "3.2 线性回归"), "3.2"),
    ]
    retriever = Retriever(chunks, *build_indexes(chunks, embedder), embedder, SETTINGS)
    assert retriever.expand("When is a deferred initialization done?") == "When is a deferred initialization done? 延后初始化"
    assert retriever.expand("什么是权重衰减") == "什么是权重衰减"
    hits = retriever.search("When is a deferred initialization done?", mode="keyword")
    assert ids(hits)[0] == "b:00000"


def test_reciprocal_rank_fusion_by_hand():
    dense = (np.array([0.9, 0.8, 0.7], np.float32), np.array([4, 7, 2]))
    keyword = (np.array([12.0, 3.0], np.float32), np.array([7, 9]))
    breakdown = score_breakdown({"dense": dense, "keyword": keyword}, Fusion("rrf", rrf_k=60))
    assert flat(breakdown[7]) == {
        "dense": pytest.approx(0.8), "dense_rank": 2, "dense_norm": pytest.approx(0.5),
        "keyword": 12.0, "keyword_rank": 1, "keyword_norm": 1.0, "fused": pytest.approx(1 / 62 + 1 / 61),
    }
    assert flat(breakdown[4])["fused"] == pytest.approx(1 / 61)
    assert flat(breakdown[9])["fused"] == pytest.approx(1 / 62)
    assert flat(breakdown[2])["fused"] == pytest.approx(1 / 63)
    assert sorted(breakdown, key=lambda p: -breakdown[p].fused) == [7, 4, 9, 2]
    assert flat(score_breakdown({"dense": dense})[4]) == {"dense": pytest.approx(0.9), "dense_rank": 1}  # single-signal modes: no fusion


def test_weighted_fusion_by_hand():
    dense = (np.array([0.9, 0.8, 0.7], np.float32), np.array([4, 7, 2]))
    keyword = (np.array([12.0, 3.0], np.float32), np.array([7, 9]))
    breakdown = score_breakdown({"dense": dense, "keyword": keyword}, Fusion("weighted", dense_weight=0.6))
    # dense scaled from the last candidate (0.7 -> 0) to the best (0.9 -> 1); keyword from 0 to the best (12 -> 1)
    assert flat(breakdown[7])["fused"] == pytest.approx(0.6 * 0.5 + 0.4 * 1.0)
    assert flat(breakdown[4])["fused"] == pytest.approx(0.6)
    assert flat(breakdown[9])["fused"] == pytest.approx(0.4 * 0.25)
    assert flat(breakdown[2])["fused"] == pytest.approx(0.0)  # the last dense candidate
    assert sorted(breakdown, key=lambda p: -breakdown[p].fused) == [7, 4, 9, 2]
    single = score_breakdown({"dense": (np.array([0.5], np.float32), np.array([3]))}, Fusion())
    assert flat(single[3])["dense_norm"] == 1.0  # one candidate is the best one


def test_the_keyword_signal_weighs_as_much_as_the_share_of_the_question_the_book_holds():
    dense = (np.array([0.9, 0.7], np.float32), np.array([4, 7]))
    keyword = (np.array([5.0], np.float32), np.array([7]))  # a stray match: one word of four the book has
    weighted = score_breakdown({"dense": dense, "keyword": keyword}, Fusion("weighted", dense_weight=0.5), coverage=0.25)
    assert flat(weighted[7])["fused"] == pytest.approx((0.5 * 0.0 + 0.125 * 1.0) / 0.625)
    assert flat(weighted[4])["fused"] == pytest.approx(0.5 / 0.625)
    assert sorted(weighted, key=lambda p: -weighted[p].fused) == [4, 7]  # at coverage 1 the two would tie
    rrf = score_breakdown({"dense": dense, "keyword": keyword}, Fusion("rrf", rrf_k=60), coverage=0.25)
    assert flat(rrf[7])["fused"] == pytest.approx(1 / 62 + 0.25 / 61)
    none = score_breakdown({"dense": dense, "keyword": keyword}, Fusion("weighted", dense_weight=0.0), coverage=0.0)
    assert flat(none[4])["fused"] == 0.0  # no signal left to weigh: nothing is divided by zero


def test_fusion_checks_its_arguments():
    with pytest.raises(ValueError, match="weighted"):
        Fusion("sum")
    with pytest.raises(ValueError, match="dense_weight"):
        Fusion(dense_weight=1.5)


def test_neighbours_merge_into_one_passage(retriever):
    hits = retriever.search("稠密连接网络", mode="keyword")
    assert ids(hits) == ["b:00004+00005", "b:00006"]  # 4 and 5 both matched; 6's neighbour 7 was not among the 3 candidates
    merged = hits[0].chunk
    assert merged.text == CHUNKS[4].text + "一个稠密块由多个卷积块组成，每个卷积块使用相同数量的输出通道。"
    assert merged.text.count("与残差网络不同") == 1
    assert (merged.page_start, merged.page_end, merged.section_path) == (269, 270, DENSENET)
    assert flat(hits[0].scores)["keyword_rank"] == 1
    assert hits[1].chunk == CHUNKS[6] and hits[1].chunk is not CHUNKS[6]  # hits carry new objects
    assert ids(retriever.search("过渡层", mode="hybrid")) == ["b:00006+00007", "b:00008"]


def test_merged_scores_keep_each_signals_best_and_the_best_fused_score():
    merged = merge_scores(
        [
            Scores(dense=SignalScore(0.5, 3, 0.2), fused=0.4),
            Scores(dense=SignalScore(0.7, 1, 0.9), keyword=SignalScore(2.0, 4), fused=0.3),
        ]
    )
    assert flat(merged) == {"dense": 0.7, "dense_rank": 1, "dense_norm": 0.9, "keyword": 2.0, "keyword_rank": 4, "fused": 0.4}


def test_merge_chunks_without_overlap_joins_with_a_line_break():
    merged = merge_chunks([CHUNKS[6], CHUNKS[7]])
    assert merged.id == "b:00006+00007"
    assert merged.text == f"{CHUNKS[6].text}\n{CHUNKS[7].text}"
    assert (merged.page_start, merged.page_end, merged.section_number) == (271, 271, "7.7.2")
    assert CHUNKS[6].id == "b:00006"  # the inputs are left as they were


def test_a_passage_merges_at_most_three_chunks_towards_the_better_neighbour():
    path = ("6 卷积神经网络", "6.2 图像卷积")
    counts = [1, 2, 4, 3, 1]  # how often each chunk says 卷积
    chunks = [chunk(n, "卷积" * count + "运算" * (6 - count), 200 + n, path, "6.2", book="m") for n, count in enumerate(counts)]
    embedder = FakeEmbedder(16)
    retriever = Retriever(chunks, *build_indexes(chunks, embedder), embedder, Settings(candidates=5))
    # Chunk 2 ranks first; it takes chunk 3 (ranked 2nd) before chunk 1 (3rd); chunks 0 and 4 are left alone.
    assert ids(retriever.search("卷积", k=5, mode="keyword")) == ["m:00001+00002+00003", "m:00000", "m:00004"]


def test_scope_filters_inside_the_search(indexes, embedder):
    narrow = Retriever(CHUNKS, *indexes, embedder, Settings(top_k=1, candidates=1))
    assert ids(narrow.search("稠密连接网络", mode="dense")) == ["b:00004"]
    # With one candidate per signal, a filter applied after the search would have nothing left.
    for mode in ("dense", "hybrid"):
        assert ids(narrow.search("稠密连接网络", mode=mode, scope=Scope(section="10.7"))) == ["b:00009"]
    assert ids(narrow.search("稠密连接网络", mode="keyword")) == ["b:00004"]
    assert ids(narrow.search("稠密连接网络", mode="keyword", scope=Scope(section="7.7.2"))) == ["b:00006"]  # "稠密块"


def test_scope_returns_k_in_scope_hits_when_available(retriever):
    assert ids(retriever.search("稠密连接网络", k=3, mode="dense")) == ["b:00004+00005", "b:00007"]
    hits = retriever.search("稠密连接网络", k=2, mode="dense", scope=Scope(pages=(300, 400)))
    assert ids(hits) == ["b:00008", "b:00009"]  # 9 was beyond the unfiltered candidates
    assert [hit.rank for hit in hits] == [1, 2]


def test_section_scope_includes_subsections(retriever):
    in_77 = retriever.search("通道", k=5, mode="keyword", scope=Scope(section="7.7"))
    assert ids(in_77) == ["b:00004+00005", "b:00006+00007"]
    assert ids(retriever.search("通道", k=5, mode="keyword", scope=Scope(section="7.7.2"))) == ["b:00006+00007"]
    both = retriever.search("通道", k=5, mode="keyword", scope=Scope(section="7", pages=(261, 261)))
    assert ids(both) == ["b:00003"]


def test_empty_results_are_not_errors(retriever):
    for mode in ("hybrid", "dense", "keyword"):
        assert retriever.search("", mode=mode) == []
        assert retriever.search("  \n ", mode=mode) == []
        assert retriever.search("稠密", mode=mode, scope=Scope(section="12")) == []
    assert retriever.search("什么是？", mode="keyword") == []  # only question words: no keyword token
    assert retriever.search("量子力学", mode="keyword") == []  # no token in the index
    hybrid = retriever.search("量子力学", mode="hybrid")  # the dense signal still answers
    assert hybrid and all("keyword" not in flat(hit.scores) for hit in hybrid)


def test_query_is_normalised(retriever):
    kangxi = "多头注意\u2f12"  # "力" as the Kangxi radical U+2F12, as copied from some PDFs
    assert ids(retriever.search(kangxi, k=1, mode="keyword")) == ["b:00008"]


def test_defaults_come_from_settings(indexes, embedder):
    retriever = Retriever(CHUNKS, *indexes, embedder, SETTINGS.replace(top_k=1, retrieval_mode="keyword"))
    hits = retriever.search("稠密连接网络")
    assert ids(hits) == ["b:00004+00005"] and set(flat(hits[0].scores)) == {"keyword", "keyword_rank"}


def test_save_load_round_trip_returns_the_same_hits(retriever, indexes, embedder, tmp_path):
    vector_index, keyword_index = indexes
    vector_index.save(tmp_path)
    keyword_index.save(tmp_path)
    loaded = Retriever(CHUNKS, VectorIndex.load(tmp_path), KeywordIndex.load(tmp_path), embedder, SETTINGS)
    for query in ("稠密连接网络", "什么是DenseNet", "attention transformer", "通道"):
        for mode in ("hybrid", "dense", "keyword"):
            before, after = retriever.search(query, mode=mode), loaded.search(query, mode=mode)
            assert [(h.chunk.id, h.rank, h.score, dict(flat(h.scores))) for h in before] == [
                (h.chunk.id, h.rank, h.score, dict(flat(h.scores))) for h in after
            ]


def test_index_text_and_build_indexes(embedder):
    assert index_text(CHUNKS[4]) == "7 现代卷积神经网络 > 7.7 稠密连接网络（DenseNet）\n" + CHUNKS[4].text
    assert index_text(dataclasses.replace(CHUNKS[4], section_path=())) == CHUNKS[4].text
    progress = []
    vector_index, keyword_index = build_indexes(CHUNKS, embedder, progress=lambda done, total: progress.append((done, total)))
    assert progress[-1] == (10, 10) and len(vector_index) == len(keyword_index) == 10
    assert {"稠密连接网络", "densenet", "残差网络", "resnet", "过渡层", "多头注意力"} <= set(keyword_index.extra_words)


def test_arguments_are_checked(retriever, indexes, embedder):
    with pytest.raises(ValueError, match=r"hybrid, dense, keyword"):
        retriever.search("稠密", mode="bm25")
    with pytest.raises(ValueError, match="at least 1"):
        retriever.search("稠密", k=0)
    with pytest.raises(ValueError, match="section number"):
        Scope(section=" ")
    with pytest.raises(ValueError, match="first <= last"):
        Scope(pages=(5, 4))
    with pytest.raises(IndexMismatchError, match="do not match its chunks"):
        Retriever(CHUNKS[:9], *indexes, embedder, SETTINGS)
    with pytest.raises(IndexMismatchError, match="64-d"):
        Retriever(CHUNKS, *indexes, FakeEmbedder(32), SETTINGS)
    with pytest.raises(ValueError, match="at least one chunk"):
        build_indexes([], embedder)


def test_mentions_counts_the_chunks_that_use_a_word(retriever):
    assert retriever.mentions("densenet") == 4  # 7.7's two chunks and 7.7.2's two, by their section path
    assert retriever.mentions("Transformer") == 1 and retriever.mentions("dense") == 0  # whole words only


def test_a_passage_id_names_its_chunks_and_reads_back():
    assert passage_id(["b:00004", "b:00005"]) == "b:00004+00005" and passage_id(["b:00004"]) == "b:00004"
    assert passage_chunk_ids("b:00004+00005") == ["b:00004", "b:00005"] and passage_chunk_ids("nonsense") == []


def test_front_and_back_matter_is_searched_only_where_the_question_names_its_title(embedder):
    def unnumbered(n: int, text: str, page: int, path: tuple[str, ...]) -> Chunk:
        return Chunk(id=f"m:{n:05d}", book_id="m", text=text, page_start=page, page_end=page, section_path=path, section_number=None)

    chunks = [
        unnumbered(0, "Thanks to Alice Dropout, Bob Hidden and Carol Units, who read early drafts.", 3, ("Preface", "Acknowledgments")),
        Chunk(id="m:00001", book_id="m", text=CHUNKS[1].text, page_start=10, page_end=10, section_path=CHUNKS[1].section_path, section_number="4.6"),
        Chunk(id="m:00002", book_id="m", text=CHUNKS[9].text, page_start=20, page_end=20, section_path=CHUNKS[9].section_path, section_number="10.7"),
        unnumbered(3, "Dropout, hidden units: see the glossary of terms at the end of the book.", 30, ("Afterword",)),
    ]
    retriever = Retriever(chunks, *build_indexes(chunks, embedder), embedder, Settings(top_k=4, candidates=4))
    for mode in ("hybrid", "dense", "keyword"):
        assert {hit.chunk.id for hit in retriever.search("dropout hidden units", mode=mode)} <= {"m:00001", "m:00002"}
    assert "m:00000" in ids(retriever.search("who is in the acknowledgments", mode="keyword"))
    assert "m:00000" in ids(retriever.search("acknowledgments", mode="hybrid"))
    assert ids(retriever.search("Alice Dropout", scope=Scope(pages=(3, 3)))) == ["m:00000"]  # asked for by its page


def test_a_question_that_says_the_book_in_passing_stays_out_of_the_front_matter(embedder):
    chunks = [
        Chunk(id="m:00000", book_id="m", text="Alice wrote this book for her students; it is free to copy.", page_start=2,
              page_end=2, section_path=("Preface", "This book"), section_number=None),
        Chunk(id="m:00001", book_id="m", text="Debugging is like detective work: form a hypothesis, then test it.", page_start=9,
              page_end=9, section_path=("1 Programs", "1.7 Debugging with print statements"), section_number="1.7"),
        Chunk(id="m:00002", book_id="m", text="A variable is a name that refers to a value.", page_start=12, page_end=12,
              section_path=("2 Variables", "2.1 Assignment"), section_number="2.1"),
    ]
    retriever = Retriever(chunks, *build_indexes(chunks, embedder), embedder, Settings(top_k=3, candidates=3))
    for mode in ("hybrid", "dense", "keyword"):  # "book" matches the preface's title, "debugging" a body title
        assert "m:00000" not in ids(retriever.search("Why does the book compare debugging to detective work?", mode=mode))
    assert "m:00000" in ids(retriever.search("Who wrote this book?", mode="keyword"))  # nothing but the book is named
