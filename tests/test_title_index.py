"""Title scores: BM25 over section titles, the best title on a chunk's path, scaled so the best is 1."""

import numpy as np

from bookqa.index.title_index import TitleIndex
from bookqa.index.tokenizer import Tokenizer
from bookqa.types import Chunk

SOFTMAX = ("3 线性神经网络", "3.4 softmax回归")
SCRATCH = ("3 线性神经网络", "3.6 softmax回归的从零开始实现")
GRADIENT = ("2 预备知识", "2.4 微积分", "2.4.3 梯度")


def _chunks():
    paths = [SOFTMAX, SOFTMAX, SCRATCH, GRADIENT, ("前言",)]
    return [Chunk(f"b:{i:05d}", "b", "正文", 1, 1, path) for i, path in enumerate(paths)]


def test_short_title_the_question_covers_scores_best():
    scores = TitleIndex(_chunks(), Tokenizer()).scores("softmax回归怎么理解")
    assert scores[0] == scores[1] == 1.0
    assert 0 < scores[2] < 1.0  # the longer title shares the words but says more
    assert scores[3] == scores[4] == 0.0


def test_a_chunk_takes_the_best_title_on_its_path():
    scores = TitleIndex(_chunks(), Tokenizer()).scores("梯度")
    assert scores[3] == 1.0 and not scores[:3].any()


def test_no_matching_word_gives_zeros():
    assert not TitleIndex(_chunks(), Tokenizer()).scores("transformer").any()
    assert TitleIndex(_chunks(), Tokenizer()).scores("").dtype == np.float32
