"""KeywordIndex: real jieba and a real bm25s index on a few inline Chinese and English texts, exact expectations."""

import json

import numpy as np
import pytest

from bookqa.index.keyword_index import WORDS_FILE, KeywordIndex
from bookqa.index.tokenizer import title_terms

TEXTS = [
    "稠密连接网络（DenseNet）在很大程度上是残差网络的逻辑扩展。",  # 0
    "残差网络（ResNet）通过残差块让很深的网络也容易训练。",  # 1
    "Dropout randomly zeroes hidden units during training.",  # 2
    "稠密块由多个卷积块组成，每个卷积块使用相同数量的输出通道。",  # 3
    "过渡层通过1×1卷积层来减小通道数，并使用步幅为2的平均汇聚层。",  # 4
    "Fashion-MNIST的训练集和测试集分别包含60000和10000张图像。",  # 5
]
TITLES = ["7.6 残差网络（ResNet）", "7.7 稠密连接网络（DenseNet）"]


@pytest.fixture(scope="module")
def index() -> KeywordIndex:
    return KeywordIndex.build(TEXTS, extra_words=[term for title in TITLES for term in title_terms(title)])


def test_title_terms():
    assert title_terms("7.7 稠密连接网络（DenseNet）") == ["稠密连接网络", "densenet"]
    assert title_terms("9.2 长短期记忆网络(LSTM)") == ["长短期记忆网络", "lstm"]
    assert title_terms("前向传播、反向传播和计算图") == ["前向传播", "反向传播和计算图"]
    assert title_terms("10.7 Transformer") == []  # an English word stays whole without help
    assert title_terms("4.6 暂退法（Dropout）") == ["暂退法", "dropout"]


def test_tokenize_mixes_chinese_and_english(index):
    assert index.tokenizer("什么是 DenseNet？它和ResNet-50、word2vec有啥区别！") == [
        "densenet", "resnet", "50", "word2vec", "有", "区别"
    ]  # lower case; punctuation, spaces and question/function words dropped; English words and digits whole
    assert index.tokenizer("") == []
    assert index.tokenizer("？！。，") == []


def test_spaces_a_typesetter_puts_between_chinese_and_latin_text_split_no_term(index):
    for spaced, tight in (("Hessian 矩阵的特征值", "Hessian矩阵的特征值"), ("第1 章 绪论", "第1章绪论"), ("用 GPU 训练 10 轮", "用GPU训练10轮")):
        assert index.tokenizer(spaced) == index.tokenizer(tight)
        assert index.tokenizer.terms(spaced) == index.tokenizer.terms(tight)
    assert index.tokenizer("Hessian 矩阵") == ["hessian", "矩阵"]


def test_english_words_are_searched_by_their_stem():
    texts = ["A function that calls itself is recursive.", "Lists are mutable sequences of values."]
    index = KeywordIndex.build(texts)
    assert index.tokenizer("Recursion in functions") == ["recurs", "function"]
    assert index.tokenizer.terms("Recursion in functions") == ["recursion", "functions"]  # terms stay as written
    scores, ids = index.search("recursion with a function", k=2)
    assert ids.tolist() == [0]  # "recursive" and "function" share the stems of the question's words
    assert index.search("a list of mutable values", k=2)[1].tolist() == [1]


def test_extra_words_keep_a_title_term_whole(index):
    with_words = index.tokenizer("稠密连接网络")
    without_words = KeywordIndex.build(TEXTS).tokenizer("稠密连接网络")
    assert without_words == ["稠密", "连接", "网络"]
    assert with_words == ["稠密", "连接", "网络", "稠密连接网络"]  # search mode: the whole term and its words


def test_search_ranks_by_bm25(index):
    scores, ids = index.search("稠密连接网络", 3)
    assert ids.tolist() == [0, 1, 3]  # the whole term only in 0; "网络" in 1, "稠密" in 3
    assert scores.dtype == np.float32 and scores[0] > scores[1] > scores[2] > 0
    assert index.search("dropout during training", 5)[1].tolist() == [2]
    assert index.search("60000张图像", 5)[1].tolist() == [5]


def test_query_without_a_known_token_returns_nothing(index):
    for query in ("", "   ", "什么是？", "transformer", "量子力学"):
        scores, ids = index.search(query, 5)
        assert scores.size == ids.size == 0, query


def test_filter_is_applied_inside_the_search(index):
    allowed = np.array([False, False, True, True, True, True])
    scores, ids = index.search("稠密连接网络", 1, allowed=allowed)
    assert ids.tolist() == [3]  # unfiltered, document 3 ranks third: a filter after a top-1 search would return nothing
    assert index.search("稠密连接网络", 5, allowed=allowed)[1].tolist() == [3]  # masked documents never come back
    assert index.search("稠密连接网络", 5, allowed=np.zeros(6, dtype=bool))[1].size == 0


def test_save_load_round_trip(index, tmp_path):
    index.save(tmp_path / "kw")
    assert json.loads((tmp_path / "kw" / WORDS_FILE).read_text(encoding="utf-8")) == [
        "残差网络", "resnet", "稠密连接网络", "densenet"
    ]
    loaded = KeywordIndex.load(tmp_path / "kw")
    assert loaded.extra_words == index.extra_words
    assert loaded.tokenizer("稠密连接网络") == index.tokenizer("稠密连接网络")
    for query in ("稠密连接网络", "残差网络 ResNet", "dropout"):
        before, after = index.search(query, 4), loaded.search(query, 4)
        np.testing.assert_array_equal(before[1], after[1])
        np.testing.assert_array_equal(before[0], after[0])


def test_arguments_are_checked(index, tmp_path):
    with pytest.raises(ValueError, match="at least one text"):
        KeywordIndex.build([])
    with pytest.raises(ValueError, match="at least 1"):
        index.search("网络", 0)
    with pytest.raises(ValueError, match="boolean array of shape"):
        index.search("网络", 1, allowed=np.ones(3, dtype=bool))
    with pytest.raises(FileNotFoundError, match="No keyword index"):
        KeywordIndex.load(tmp_path / "missing")


def test_coverage_is_the_share_of_the_query_tokens_the_book_holds(index):
    assert index.coverage("稠密块 过渡层") == 1.0
    assert index.coverage("Dropout 稠密块 quantum entanglement") == pytest.approx(3 / 5)  # dropout, 稠密, 块 of five
    assert index.coverage("quantum entanglement") == 0.0
    assert index.coverage("？") == 0.0  # no tokens at all
