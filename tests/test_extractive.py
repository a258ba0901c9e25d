"""The extractive backend: the right sentences, cited by page, grouped by section, with the no-model note."""

from __future__ import annotations

import re

import numpy as np
import pytest
from answer_helpers import DENSENET_CHUNK, GRADIENT_CHUNK, PAGES, chunk, densenet_hits, hit, query

from bookqa.answering.backends import ExtractiveBackend, load_backend
from bookqa.answering.backends.extractive import NOTE
from bookqa.answering.citations import check_citations
from bookqa.config import Settings
from bookqa.index.retriever import merge_chunks
from bookqa.types import Hit


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


def test_sentences_are_taken_by_score_so_the_best_passage_can_give_several_before_a_weaker_one() -> None:
    quotes = ExtractiveBackend(max_sentences=2).select(query("DenseNet 稠密块 过渡层"), densenet_hits(), PAGES)
    assert [q.hit.rank for q in quotes] == [1, 1]


class MeaningEmbedder:
    """Embeds the texts it is told about as given unit vectors, any other text as a vector of its own."""

    name, dim = "meaning", 4

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = vectors

    def embed(self, texts, kind="passage", progress=None) -> np.ndarray:
        rows = [np.asarray(self.vectors.get(text, [0.0, 0.0, 0.0, 1.0]), dtype=np.float32) for text in texts]
        return np.stack([row / np.linalg.norm(row) for row in rows])


SAVING = chunk(
    "00030",
    "Saving a model in PyTorch stores its parameters. The model itself can hold any code, so its code is not saved. "
    "To restore the parameters of a model, write the model's code again and load them.",
    40, 40, ("5.5 File I/O",), "5.5",
)


def test_sentences_close_in_meaning_to_the_question_win_over_ones_that_only_share_its_terms() -> None:
    asked = "Why does PyTorch save only the parameters of a model?"
    embedder = MeaningEmbedder({asked: [1, 0, 0, 0], "The model itself can hold any code, so its code is not saved.": [0.9, 0.1, 0, 0]})
    by_terms = ExtractiveBackend(max_sentences=1).select(query(asked), [hit(SAVING, 1)], PAGES)
    by_meaning = ExtractiveBackend(max_sentences=1).select(query(asked), [hit(SAVING, 1)], PAGES, embedder=embedder)
    assert [q.text for q in by_terms] == ["Saving a model in PyTorch stores its parameters."]
    assert [q.text for q in by_meaning] == ["The model itself can hold any code, so its code is not saved."]


def test_a_why_question_prefers_the_sentence_that_gives_a_reason() -> None:
    reasons = chunk("00031", "Tuples can be dictionary keys, as the example shows. Tuples can be dictionary keys because they are immutable.",
                    120, 120, ("12 Tuples",), "12")
    said = [q.text for q in ExtractiveBackend(max_sentences=1).select(query("Why can tuples be dictionary keys?"), [hit(reasons, 1)], PAGES)]
    assert said == ["Tuples can be dictionary keys because they are immutable."]


@pytest.mark.parametrize("question, answer", [
    ("How many words does words.txt hold?", "The file words.txt holds 113,809 words."),
    ("What is making a new object from a class called?", "Making a new object from a class is called instantiation."),
    ("words.txt里有多少个单词？", "The file words.txt holds 113,809 words."),
])
def test_a_question_of_a_kind_prefers_the_sentence_of_that_kind(question: str, answer: str) -> None:
    text = ("The file words.txt holds the words of a word game. The file words.txt holds 113,809 words. "
            "Making a new object from a class is a common task. Making a new object from a class is called instantiation.")
    said = ExtractiveBackend(max_sentences=1).select(query(question), [hit(chunk("00038", text, 105, 105, ("9 Word play",), "9"), 1)], PAGES)
    assert [q.text for q in said] == [answer]


def test_a_question_naming_an_identifier_quotes_the_code_that_prints_it_as_inline_code() -> None:
    listing = chunk("00032", "def dropout_layer(X, dropout):\n    mask = (torch.rand(X.shape) > dropout).float()\n"
                    "    return mask * X / (1.0 - dropout)", 160, 160, ("4.6 暂退法（Dropout）",), "4.6", kind="code")
    prose = chunk("00033", "在下面的代码中，我们实现dropout_layer函数。该函数以dropout的概率丢弃张量输入X中的元素。", 160, 160,
                  ("4.6 暂退法（Dropout）",), "4.6")
    hits = [hit(prose, 1), hit(listing, 2)]
    named = ExtractiveBackend().answer(query("dropout_layer最后返回什么？"), hits, pages=PAGES).text()
    assert "- `return mask * X / (1.0 - dropout)`[p.160]" in named
    unnamed = ExtractiveBackend().answer(query("暂退法最后返回什么？"), hits, pages=PAGES).text()
    assert "return mask" not in unnamed and "`" not in unnamed


def test_a_latin_word_in_a_chinese_question_names_the_code_that_prints_it() -> None:
    listing = chunk("00034", "class Inception(nn.Module):\n    def forward(self, x):\n        p1 = F.relu(self.p1_1(x))\n"
                    "        return torch.cat((p1, p2), dim=1)", 190, 190, ("7.4 含并行连结的网络（GoogLeNet）",), "7.4", kind="code")
    prose = chunk("00035", "Inception块由四条并行路径组成，这些路径都使用合适的填充来使输入与输出的高和宽一致。", 190, 190,
                  ("7.4 含并行连结的网络（GoogLeNet）",), "7.4")
    hits = [hit(prose, 1), hit(listing, 2)]
    text = ExtractiveBackend().answer(query("Inception块的forward最后怎么合并四条路径的输出？"), hits, pages=PAGES).text()
    assert "`def forward(self, x):`" in text  # the listing that prints the name is quoted
    english = ExtractiveBackend().answer(query("How does the Inception block merge its paths in forward?"), hits, pages=PAGES).text()
    assert "`" not in english  # in an English question, a plain English word is not taken for code


def test_a_passage_joining_a_listing_and_prose_quotes_the_prose() -> None:
    listing = chunk("00036", ">>> t = 'a', 'b', 'c'\n>>> t1 = 'a',", 140, 140, ("12 Tuples", "12.1 Tuples are immutable"), "12.1", kind="code")
    prose = chunk("00037", "To create a tuple with a single element, you have to include a final comma.", 140, 140,
                  ("12 Tuples", "12.1 Tuples are immutable"), "12.1")
    joined = merge_chunks([listing, prose])
    assert joined.kind == "code"  # a merged passage takes its first chunk's kind; its parts keep their own
    passage = Hit(joined, 1, 1.0, parts=(listing, prose))
    said = [q.text for q in ExtractiveBackend().select(query("How do I make a tuple with one element?"), [passage], PAGES)]
    assert said == ["To create a tuple with a single element, you have to include a final comma."]


def test_numbered_headings_and_section_titles_are_not_quoted() -> None:
    text = "7.7.1 从ResNet到DenseNet\n7.7 稠密连接网络（DenseNet）\nDenseNet在通道维上连结输入与输出。"
    headed = chunk("00013", text, 269, 269, ("7 现代卷积神经网络", "7.7 稠密连接网络（DenseNet）"), "7.7")
    assert [q.text for q in ExtractiveBackend().select(query("DenseNet"), [hit(headed, 1)], PAGES)] == ["DenseNet在通道维上连结输入与输出。"]


def test_exercises_are_not_quoted_and_a_sentence_leading_into_a_list_is() -> None:
    text = (
        "稠密网络主要由稠密块和过渡层构成：\n"
        "稠密块定义如何连接输入和输出，过渡层则控制通道数量。\n"
        "小结\n• 在跨层连接上，DenseNet在通道维上连结输入与输出。\n"
        "练习\n1. 为什么DenseNet的过渡层使用平均汇聚层而不是最大汇聚层？\n2. 应用DenseNet的思想设计一个模型。"
    )
    section = ("7 现代卷积神经网络", "7.7 稠密连接网络（DenseNet）")
    quotes = ExtractiveBackend().select(query("DenseNet 过渡层"), [hit(chunk("00014", text, 269, 269, section, "7.7"), 1)], PAGES)
    assert [q.text for q in quotes] == [  # a sentence ending in a colon can say what answers ("…, you have to include a final comma:")
        "稠密网络主要由稠密块和过渡层构成：", "稠密块定义如何连接输入和输出，过渡层则控制通道数量。", "在跨层连接上，DenseNet在通道维上连结输入与输出。"
    ]


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
