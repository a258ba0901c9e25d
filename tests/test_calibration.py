"""The low-confidence cut calibrated on the book itself: title questions against the shipped off-topic questions."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pytest
from answer_helpers import DENSENET_CHUNK, GRADIENT_CHUNK, RESNET_CHUNK, chunk, hit, query

from bookqa.answering.calibration import Calibration, calibrate, off_topic_pairs, title_questions
from bookqa.answering.confidence import assess
from bookqa.config import Settings
from bookqa.index.embedders import load_embedder
from bookqa.index.retriever import Retriever, build_indexes
from bookqa.types import Language

CHINESE = [DENSENET_CHUNK, RESNET_CHUNK, chunk("00011", "练习：请计算。", 275, 275, ("7 现代卷积神经网络", "7.7 稠密连接网络（DenseNet）", "7.7.5 练习"), "7.7.5"),
           chunk("00012", "练习：请再算一次。", 266, 266, ("7 现代卷积神经网络", "7.6 残差网络（ResNet）", "7.6.5 练习"), "7.6.5")]


class Scorer:
    """A stand-in retriever whose similarities come from a table: in-book questions, then off-topic ones."""

    def __init__(self, chunks: Sequence[object], score: dict[str, float]) -> None:
        self.chunks = chunks
        self.score = score

    def best_similarities(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([self.score[text] for text in texts], np.float32)


def table(chunks, in_book: float, off_same: float, off_cross: float, language: Language = Language.ZH) -> dict[str, float]:
    other = Language.EN if language == Language.ZH else Language.ZH
    scores = {q: in_book + 0.01 * (i % 3) for i, q in enumerate(title_questions(chunks, language))}
    for i, pair in enumerate(off_topic_pairs()):
        scores[pair[language]] = off_same + 0.001 * i
        scores[pair[other]] = off_cross + 0.001 * i
    return scores


def test_title_questions_drop_numbers_and_titles_several_sections_share() -> None:
    assert title_questions(CHINESE, Language.ZH) == ["什么是稠密连接网络（DenseNet）？", "残差网络（ResNet）是做什么的？"]
    assert title_questions([GRADIENT_CHUNK], Language.EN) == ["What is Calculus?"]


def test_the_cut_lies_between_the_two_distributions_and_the_other_language_is_lower() -> None:
    calibration = calibrate(Scorer(CHINESE, table(CHINESE, in_book=0.90, off_same=0.80, off_cross=0.74)))
    assert calibration.language == Language.ZH and calibration.questions == (2, len(off_topic_pairs()))
    low_in, high_off = np.quantile([0.90, 0.91], 0.05), np.quantile([0.80 + 0.001 * i for i in range(len(off_topic_pairs()))], 0.9)
    assert calibration.same == pytest.approx((low_in + high_off) / 2, abs=1e-4)
    assert calibration.shift == pytest.approx(0.06, abs=1e-4)
    assert calibration.cross == pytest.approx(calibration.same - 0.06, abs=1e-4)
    assert calibration.cut(Language.EN, Language.ZH) == calibration.cross and calibration.cut(Language.ZH, Language.ZH) == calibration.same
    assert Calibration.from_json(calibration.to_json()) == calibration


def test_a_book_that_cannot_be_separated_says_so_and_flags_nothing() -> None:
    calibration = calibrate(Scorer(CHINESE, table(CHINESE, in_book=0.80, off_same=0.82, off_cross=0.70)))
    assert calibration.same is None and calibration.cross is None and "overlap" in calibration.note
    verdict = assess(query("今天北京的天气怎么样？"), [hit(RESNET_CHUNK, 1, dense=0.5)], calibration)
    assert not verdict.low and "overlap" in verdict.reason


def test_a_setting_overrides_the_calibrated_cut() -> None:
    calibration = calibrate(Scorer(CHINESE, table(CHINESE, in_book=0.90, off_same=0.80, off_cross=0.74)))
    overridden = calibration.overridden(0.95)
    assert (overridden.same, overridden.cross) == (0.95, pytest.approx(0.95 - calibration.shift))


@pytest.mark.slow
def test_two_tiny_books_of_different_languages_get_their_own_cuts(tiny_book, english_book_pdf, real_data_dir: Path) -> None:
    """With the real embedded model: the Chinese and the English fixture books are both separable, each with a cut
    of its own, and each cut keeps an everyday question out and the book's own topic in."""
    from bookqa.reading.ingest import ingest_pdf

    embedder = load_embedder(Settings(data_dir=real_data_dir))
    english = ingest_pdf(english_book_pdf, "en", Settings())
    cuts = []
    for book in (tiny_book, english):
        retriever = Retriever(book.chunks, *build_indexes(book.chunks, embedder), embedder, Settings())
        calibration = calibrate(retriever)
        cuts.append(calibration)
        assert calibration.same is not None and calibration.cross is not None and calibration.shift > 0, calibration
        inside, outside = ("向量的点积是什么？", "明天上海会下雨吗？") if calibration.language == Language.ZH else (
            "What is a scalar?", "Where can I buy cheap flights to Rome?")
        for question, low in ((inside, False), (outside, True)):
            read = retriever.read(question)
            assert assess(read, retriever.search(read, mode="dense"), calibration).low is low, question
    assert [c.language for c in cuts] == [Language.ZH, Language.EN]
    assert cuts[0].same != cuts[1].same
