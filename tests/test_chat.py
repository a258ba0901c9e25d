"""A conversation turn end to end: a real retriever (fake embedder, real FAISS and bm25s) on a tiny book."""

from __future__ import annotations

from typing import Sequence

import pytest
from answer_helpers import DENSENET_CHUNK, DENSENET_MODEL_CHUNK, GRADIENT_CHUNK, PAGES, RESNET_CHUNK, chunk
from fakes import FakeEmbedder

from bookqa.answering.backends import ExtractiveBackend
from bookqa.answering.backends.base import ChatBackend, Generation, Reply
from bookqa.answering.prompts import LOW_CONFIDENCE
from bookqa.answering.turn import ask
from bookqa.config import Settings
from bookqa.errors import BackendError
from bookqa.index.retriever import Retriever, Scope, build_indexes
from bookqa.text import estimate_tokens
from bookqa.types import Message

SOFTMAX = chunk(
    "00003",
    "softmax回归是一个多分类模型。softmax函数把未规范化的预测变换为非负数并且总和为1。交叉熵损失衡量预测与标签的差距。",
    111,
    112,
    ("3 线性神经网络", "3.4 softmax回归"),
    "3.4",
)
CHUNKS = [GRADIENT_CHUNK, SOFTMAX, RESNET_CHUNK, DENSENET_CHUNK]
PAGE_LIST = list(PAGES)


class ScriptedModel(ChatBackend):
    """A chat backend that replies with scripted pieces and records what it was sent."""

    name = "scripted"
    model = "scripted-glm"

    def __init__(self, pieces: Sequence[str] | Exception, rewrite: str = "") -> None:
        self.pieces = pieces
        self.rewrite = rewrite
        self.sent: list[list[Message]] = []
        self.generation = Generation(64, 0.3, 0.8, 1.0)
        self.prompt_tokens = self.context_tokens = 4096

    def stream(self, messages: Sequence[Message], **overrides: float) -> Reply:
        self.sent.append(list(messages))
        if "改写" in messages[0].content or "Rewrite" in messages[0].content:
            return Reply(iter([self.rewrite]))
        if isinstance(self.pieces, Exception):
            error = self.pieces

            def failing():  # type: ignore[no-untyped-def]
                yield "部分"
                raise error

            return Reply(failing())
        return Reply(iter(self.pieces), {"prompt_tokens": 100, "completion_tokens": len(self.pieces)})

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)


@pytest.fixture(scope="module")
def settings() -> Settings:
    # the fake embedder's similarities run lower than a real model's: DenseNet questions score about 0.5 on
    # the DenseNet passage, the everyday question below 0.1
    return Settings(top_k=2, candidates=10, history_turns=4, low_confidence_threshold=0.3)


@pytest.fixture(scope="module")
def retriever(settings: Settings) -> Retriever:
    embedder = FakeEmbedder(64)
    vectors, keywords = build_indexes(CHUNKS, embedder)
    return Retriever(CHUNKS, vectors, keywords, embedder, settings)


def test_an_extractive_answer_streams_after_the_hits_and_cites_retrieved_pages(retriever: Retriever, settings: Settings) -> None:
    turn = ask("什么是 DenseNet 模型", retriever=retriever, backend=ExtractiveBackend(), settings=settings, pages=PAGE_LIST)
    assert turn.hits[0].chunk.id == DENSENET_CHUNK.id  # known before the first piece
    assert turn.rewritten_query is None and not turn.low_confidence
    pieces = list(turn)
    answer = turn.result()
    assert answer.text == "".join(pieces)
    assert answer.citations and set(answer.citations) <= {p for h in answer.hits for p in range(h.chunk.page_start, h.chunk.page_end + 1)}
    assert "[p.251]" in answer.text
    assert (answer.backend, answer.model, answer.low_confidence) == ("extractive", "none", False)
    assert set(answer.timings) == {"rewrite", "retrieval", "first_token", "total"}
    assert answer.timings["total"] >= answer.timings["first_token"] > 0


def test_the_densenet_follow_up_is_rewritten_and_retrieves_densenet(settings: Settings) -> None:
    embedder = FakeEmbedder(64)
    chunks = [*CHUNKS, DENSENET_MODEL_CHUNK]  # the book prints "DenseNet模型", so the subject is that phrase
    retriever = Retriever(chunks, *build_indexes(chunks, embedder), embedder, settings)
    history = [Message("user", "什么是 DenseNet 模型"), Message("assistant", "DenseNet 在通道维上连结输入与输出。[p.251]")]
    turn = ask("它与ResNet的关键区别是什么？", retriever=retriever, backend=ExtractiveBackend(), settings=settings, history=history, pages=PAGE_LIST)
    assert turn.rewritten_query == "DenseNet 模型与ResNet的关键区别是什么？"
    assert DENSENET_CHUNK.id in [h.chunk.id for h in turn.hits]
    answer = turn.result()
    assert answer.rewritten_query == turn.rewritten_query and answer.citations


def test_a_question_the_book_does_not_cover_is_flagged_not_answered(retriever: Retriever, settings: Settings) -> None:
    model = ScriptedModel(["不该生成"])
    turn = ask("今天天气怎么样，适合去公园散步吗", retriever=retriever, backend=model, settings=settings, pages=PAGE_LIST)
    assert turn.low_confidence
    answer = turn.result()
    assert answer.text == LOW_CONFIDENCE["zh"] and answer.citations == () and answer.low_confidence
    assert model.sent == []  # the model was not asked to improvise


def test_a_model_answer_keeps_only_retrieved_citations(retriever: Retriever, settings: Settings) -> None:
    model = ScriptedModel(["DenseNet 连结通道", " [p.251]，", "而 ResNet 相加 [p.999]。"])
    answer = ask("什么是 DenseNet 模型", retriever=retriever, backend=model, settings=settings, pages=PAGE_LIST).result()
    assert answer.citations == (269,) and answer.unverified == ("999",)
    assert answer.text == "DenseNet 连结通道 [p.251]，而 ResNet 相加 [p.999?]。"
    assert (answer.backend, answer.model, answer.usage) == ("scripted", "scripted-glm", {"prompt_tokens": 100, "completion_tokens": 3})
    system, user = model.sent[-1]
    assert "【资料1】页码：p.251, p.252" in user.content


def test_history_is_bounded_and_the_model_rewrites_follow_ups(retriever: Retriever, settings: Settings) -> None:
    history = [Message("user" if i % 2 == 0 else "assistant", f"第{i}轮") for i in range(10)]
    history[-2] = Message("user", "什么是 DenseNet 模型")
    model = ScriptedModel(["回答 [p.251]"], rewrite="DenseNet与ResNet的区别")
    turn = ask("它与ResNet的区别呢？", retriever=retriever, backend=model, settings=settings, history=history, pages=PAGE_LIST)
    assert turn.rewritten_query == "DenseNet与ResNet的区别"
    turn.result()
    rewrite_prompt, answer_prompt = model.sent
    assert [m.content for m in answer_prompt[1:-1]] == [m.content for m in history[-4:]]  # history_turns=4
    assert "（结合上文，这个问题即：DenseNet与ResNet的区别）" in answer_prompt[-1].content


def test_scope_limits_the_search(retriever: Retriever, settings: Settings) -> None:
    turn = ask("softmax回归是什么", retriever=retriever, backend=ExtractiveBackend(), settings=settings, scope=Scope(section="3.4"))
    assert [h.chunk.id for h in turn.hits] == [SOFTMAX.id]
    assert turn.result().citations == (111,)  # without page labels, pages are cited by number


def test_closing_early_keeps_the_text_so_far(retriever: Retriever, settings: Settings) -> None:
    turn = ask("什么是 DenseNet 模型", retriever=retriever, backend=ScriptedModel(["一 [p.251]", "二", "三"]), settings=settings, pages=PAGE_LIST)
    assert next(iter(turn)) == "一 [p.251]"
    turn.close()
    answer = turn.result()
    assert answer.text == "一 [p.251]" and answer.citations == (269,)


def test_a_backend_failure_reaches_the_caller(retriever: Retriever, settings: Settings) -> None:
    turn = ask("什么是 DenseNet 模型", retriever=retriever, backend=ScriptedModel(BackendError("server down")), settings=settings)
    with pytest.raises(BackendError, match="server down"):
        list(turn)
    with pytest.raises(BackendError, match="server down"):
        turn.result()


def test_an_empty_question_is_refused(retriever: Retriever, settings: Settings) -> None:
    with pytest.raises(ValueError, match="empty"):
        ask("   ", retriever=retriever, backend=ExtractiveBackend(), settings=settings)
