"""The low-confidence rule: dense similarity or keyword support, from the hits' scores."""

from __future__ import annotations

from answer_helpers import DENSENET_CHUNK, GRADIENT_CHUNK, RESNET_CHUNK, densenet_hits, hit

from bookqa.confidence import assess

THRESHOLD = 0.80


def test_no_hits_is_low_confidence() -> None:
    verdict = assess("什么是 DenseNet 模型", [], THRESHOLD)
    assert verdict.low and verdict.reason == "nothing was retrieved"


def test_a_high_dense_similarity_is_support() -> None:
    verdict = assess("什么是 DenseNet 模型", densenet_hits(), THRESHOLD)
    assert not verdict.low and verdict.top_dense == 0.91


def test_keyword_support_carries_a_question_the_dense_signal_is_unsure_of() -> None:
    hits = [hit(DENSENET_CHUNK, 1, dense=0.78, dense_rank=1, keyword=5.0, keyword_rank=1)]
    verdict = assess("DenseNet 和 ResNet 的输出通道", hits, THRESHOLD)  # every term is in the passage
    assert not verdict.low and verdict.coverage == 1.0
    named = assess("DenseNet 和 ResNet 的区别", hits, THRESHOLD)  # both names are there, 区别 is not
    assert not named.low and named.coverage == 2 / 3
    unnamed = assess("稠密块和过渡层的本质区别与联系", hits, THRESHOLD)  # 本质区别 and 联系 are not there
    assert unnamed.low and unnamed.coverage == 0.5


def test_an_everyday_question_is_low_confidence() -> None:
    hits = [
        hit(GRADIENT_CHUNK, 1, dense=0.74, dense_rank=1, keyword=0.9, keyword_rank=1),
        hit(RESNET_CHUNK, 2, dense=0.72, dense_rank=2),
    ]
    verdict = assess("今天天气怎么样，适合去公园散步吗", hits, THRESHOLD)
    assert verdict.low and verdict.top_dense == 0.74 and verdict.coverage == 0.0


def test_a_topic_the_book_does_not_treat_is_low_confidence_despite_common_words() -> None:
    hits = [hit(DENSENET_CHUNK, 1, dense=0.77, dense_rank=1, keyword=2.0, keyword_rank=1)]
    verdict = assess("XGBoost 模型的输出通道", hits, THRESHOLD)  # 模型, 输出, 通道 match; XGBoost does not
    assert verdict.low and verdict.coverage == 0.0  # the passage lacks the question's one name


def test_keyword_mode_is_judged_by_keyword_support_alone() -> None:
    supported = assess("DenseNet", [hit(DENSENET_CHUNK, 1, keyword=4.0, keyword_rank=1)], THRESHOLD)
    unsupported = assess("XGBoost", [hit(DENSENET_CHUNK, 1, keyword=0.5, keyword_rank=1)], THRESHOLD)
    assert not supported.low and supported.top_dense is None
    assert unsupported.low


def test_hits_without_scores_cannot_be_judged_and_are_not_flagged() -> None:
    assert not assess("XGBoost", [hit(DENSENET_CHUNK, 1)], THRESHOLD).low
