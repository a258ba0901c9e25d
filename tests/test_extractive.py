"""The extractive backend: the right sentences, cited by page, grouped by section, with the no-model note."""

from __future__ import annotations

import re

import pytest
from answer_helpers import DENSENET_CHUNK, GRADIENT_CHUNK, PAGES, chunk, densenet_hits, hit, query

from bookqa.answering.backends import ExtractiveBackend, load_backend
from bookqa.answering.backends.extractive import NOTE
from bookqa.answering.citations import check_citations
from bookqa.config import Settings


def test_answers_with_cited_sentences_of_the_retrieved_pages_only() -> None:
    text = ExtractiveBackend().answer(query("什么是 DenseNet 模型"), densenet_hits(), pages=PAGES).text()
    assert text.startswith(NOTE["zh"])
    bullets = [line for line in text.splitlines() if line.startswith("- ")]
    assert bullets and all(re.search(r"。\[p\.\d+\]$", line) for line in bullets)
    checked = check_citations(text, densenet_hits(), PAGES)
    assert checked.unverified == () and set(checked.pages) <= {262, 269, 270}
    assert "- 稠密连接网络（DenseNet）在某种程度上是ResNet的逻辑扩展。[p.251]" in bullets
    assert "- 由于每个稠密块都会带来通道数的增加，使用过多则会过于复杂化模型。[p.252]" in bullets  # placed on its page


def test_the_standalone_query_decides_and_sections_are_grouped_best_first() -> None:
    text = ExtractiveBackend().answer(query("它与ResNet的关键区别是什么？"), densenet_hits(), pages=PAGES, standalone=query("DenseNet 模型与ResNet的关键区别是什么？")
    ).text()
    assert text.index("**7.7 稠密连接网络（DenseNet）**") < text.index("**7.6 残差网络（ResNet）**")
    assert "ResNet将输出与输入相加，而DenseNet在通道维上连结输入与输出。[p.251]" in text


def test_rare_terms_outweigh_common_ones() -> None:
    quotes = ExtractiveBackend().select(query("过渡层的作用"), densenet_hits(), PAGES)
    assert quotes[0].text == "过渡层可以用来控制模型复杂度。" and quotes[0].page == 270


def test_english_answers_have_an_english_note_and_spaced_citations() -> None:
    text = ExtractiveBackend().answer(query("What does gradient descent do?"), [hit(GRADIENT_CHUNK, 1)], pages=PAGES).text()
    assert text.startswith(NOTE["en"])
    assert "- Gradient descent moves the parameters against the gradient to reduce the loss. [p.56]" in text


def test_without_any_shared_term_the_opening_sentences_of_the_best_passages_are_shown() -> None:
    quotes = ExtractiveBackend(max_sentences=2).select(query("汽车发动机的原理"), densenet_hits(), PAGES)
    assert [(q.hit.rank, q.position, q.score) for q in quotes] == [(1, 0, 0.0), (1, 1, 0.0)]


def test_code_passages_are_not_quoted_and_limits_hold() -> None:
    code = chunk("00011", "net = DenseNet(); print(net). DenseNet code here.", 271, 271, ("7.7 稠密连接网络（DenseNet）",), kind="code")
    quotes = ExtractiveBackend(max_sentences=2, per_hit=1).select(query("DenseNet ResNet"), [hit(code, 1), *densenet_hits()], PAGES)
    assert len(quotes) == 2 and all(q.hit.chunk.kind == "prose" for q in quotes)
    assert len({q.hit.chunk.id for q in quotes}) == 2


def test_formula_passages_are_never_quoted() -> None:
    formula = chunk("00013", "DenseNet(x) = [x, f1(x), f2([x, f1(x)])]. (7.7.1)", 269, 269, ("7.7 稠密连接网络（DenseNet）",), kind="formula")
    quotes = ExtractiveBackend().select(query("DenseNet"), [hit(formula, 1), *densenet_hits()], PAGES)
    assert quotes and all(q.hit.chunk.kind == "prose" for q in quotes)


def test_long_sentences_are_cut() -> None:
    long = chunk("00012", "DenseNet " + "很长的句子" * 100 + "。", 269, 269, ("7.7",))
    (quote,) = ExtractiveBackend().select(query("DenseNet"), [hit(long, 1)], PAGES)
    assert len(quote.text) == 301 and quote.text.endswith("…")


def test_constructor_checks_its_limits() -> None:
    with pytest.raises(ValueError, match="max_sentences"):
        ExtractiveBackend(max_sentences=0)


def test_explicit_extractive_settings_give_the_extractive_backend() -> None:
    backend = load_backend(Settings(backend="extractive"))
    assert isinstance(backend, ExtractiveBackend) and not backend.generative


def test_densenet_chunk_spans_two_pages() -> None:
    assert (DENSENET_CHUNK.page_start, DENSENET_CHUNK.page_end) == (269, 270)


def test_a_sentence_repeated_by_overlapping_passages_is_quoted_once() -> None:
    twin = chunk("00099", DENSENET_CHUNK.text, 269, 270, DENSENET_CHUNK.section_path, "7.7")
    quotes = ExtractiveBackend().select(query("DenseNet"), [hit(DENSENET_CHUNK, 1), hit(twin, 2)], PAGES)
    texts = [q.text for q in quotes]
    assert texts and len(texts) == len(set(texts))


def test_every_matching_passage_gives_its_best_sentence_before_a_second_one_of_another() -> None:
    quotes = ExtractiveBackend(max_sentences=2).select(query("DenseNet 残差网络"), densenet_hits(), PAGES)
    assert {q.hit.rank for q in quotes} == {1, 2}


def test_numbered_headings_and_section_titles_are_not_quoted() -> None:
    text = "7.7.1 从ResNet到DenseNet\n7.7 稠密连接网络（DenseNet）\nDenseNet在通道维上连结输入与输出。"
    headed = chunk("00013", text, 269, 269, ("7 现代卷积神经网络", "7.7 稠密连接网络（DenseNet）"), "7.7")
    assert [q.text for q in ExtractiveBackend().select(query("DenseNet"), [hit(headed, 1)], PAGES)] == ["DenseNet在通道维上连结输入与输出。"]


def test_exercises_and_lead_ins_are_not_quoted() -> None:
    text = (
        "稠密网络主要由稠密块和过渡层构成：\n"
        "稠密块定义如何连接输入和输出，过渡层则控制通道数量。\n"
        "小结\n• 在跨层连接上，DenseNet在通道维上连结输入与输出。\n"
        "练习\n1. 为什么DenseNet的过渡层使用平均汇聚层而不是最大汇聚层？\n2. 应用DenseNet的思想设计一个模型。"
    )
    section = ("7 现代卷积神经网络", "7.7 稠密连接网络（DenseNet）")
    quotes = ExtractiveBackend().select(query("DenseNet 过渡层"), [hit(chunk("00014", text, 269, 269, section, "7.7"), 1)], PAGES)
    assert [q.text for q in quotes] == ["稠密块定义如何连接输入和输出，过渡层则控制通道数量。", "在跨层连接上，DenseNet在通道维上连结输入与输出。"]


def test_the_books_text_is_escaped_so_markdown_shows_it_as_printed() -> None:
    autograd = chunk("00020", "分离计算：反向传播函数计算z=u*x关于x的偏导数，同时将u作为常数处理，而不是z=x*x*x关于x的偏导数。",
                     82, 82, ("2.5 自动微分", "2.5.3 分离计算"), "2.5.3")
    text = ExtractiveBackend().answer(query("分离计算中反向传播计算的偏导数"), [hit(autograd, 1)], pages=PAGES).text()
    assert "z=u\\*x关于x的偏导数" in text and "z=x\\*x\\*x关于x" in text
    assert check_citations(text, [hit(autograd, 1)], PAGES).pages == (82,)  # citations stay readable


def test_code_lines_and_sentences_cut_off_by_a_formula_are_not_quoted() -> None:
    merged = chunk("00021", "同样，ResNet将函数展开为\nf(x) = x + g(x).\n也就是说，ResNet将f分解为两部分：一个简单的线性项和一个复杂的非线性项。\n"
                   "net = nn.Sequential(nn.Conv2d(1, 6, kernel_size=5), nn.Sigmoid())", 252, 252,
                   ("7.7 稠密连接网络（DenseNet）", "7.7.1 从ResNet到DenseNet"), "7.7.1")
    quotes = ExtractiveBackend().select(query("ResNet 将函数分解为什么"), [hit(merged, 1)], PAGES)
    assert [q.text for q in quotes] == ["也就是说，ResNet将f分解为两部分：一个简单的线性项和一个复杂的非线性项。"]
