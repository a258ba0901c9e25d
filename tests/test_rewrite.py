"""Follow-up questions: detection, the deterministic rule, and the model rewrite with its fallback."""

from __future__ import annotations

from typing import Sequence

import pytest
from answer_helpers import TOKENIZER, query

from bookqa.answering.backends.base import ChatBackend, Generation, Reply
from bookqa.answering.backends.extractive import ExtractiveBackend
from bookqa.answering.rewrite import is_follow_up, rewrite_by_rule, rewrite_query
from bookqa.errors import BackendError
from bookqa.text import estimate_tokens
from bookqa.types import Message

DENSENET = [Message("user", "什么是 DenseNet 模型"), Message("assistant", "DenseNet 在通道维上连结输入与输出。[p.251]")]
BATCH_NORM = [Message("user", "What is batch normalization?"), Message("assistant", "It normalizes activations [p.300].")]


class ScriptedModel(ChatBackend):
    """A chat backend whose replies are scripted; records the messages it was sent."""

    name = "scripted"
    model = "scripted"

    def __init__(self, reply: str | Exception) -> None:
        self.reply = reply
        self.sent: list[list[Message]] = []
        self.generation = Generation(64, 0.3, 0.8, 1.0)
        self.prompt_tokens = self.context_tokens = 4096

    def stream(self, messages: Sequence[Message], **overrides: float) -> Reply:
        self.sent.append(list(messages))
        if isinstance(self.reply, Exception):
            raise self.reply
        return Reply(iter([self.reply]))

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)


def test_the_densenet_follow_up_carries_densenet() -> None:
    assert is_follow_up(query("它与ResNet的关键区别是什么？"), DENSENET)
    assert rewrite_by_rule(query("它与ResNet的关键区别是什么？"), DENSENET, TOKENIZER) == "DenseNet 模型与ResNet的关键区别是什么？"


@pytest.mark.parametrize(
    "question, rewritten",
    [
        ("其训练方法是什么？", "DenseNet 模型的训练方法是什么？"),
        ("它的优点呢？", "DenseNet 模型的优点呢？"),
        ("这个模型怎么训练？", "DenseNet模型怎么训练？"),  # 模型 is already there: only DenseNet is carried
        ("训练呢？", "DenseNet 模型训练呢？"),
    ],
)
def test_chinese_follow_ups(question: str, rewritten: str) -> None:
    assert rewrite_by_rule(query(question), DENSENET, TOKENIZER) == rewritten


@pytest.mark.parametrize(
    "question, rewritten",
    [
        ("what about its training?", "what about batch normalization's training?"),
        ("How does it work?", "How does batch normalization work?"),
        ("Why?", "batch normalization: Why?"),
    ],
)
def test_english_follow_ups(question: str, rewritten: str) -> None:
    assert rewrite_by_rule(query(question), BATCH_NORM, TOKENIZER) == rewritten


@pytest.mark.parametrize("question", ["梯度是什么", "其他网络有哪些？", "softmax回归怎么理解", "What is dropout?"])
def test_standalone_questions_are_not_rewritten(question: str) -> None:
    assert not is_follow_up(query(question), DENSENET)
    assert rewrite_query(query(question), DENSENET, TOKENIZER, ExtractiveBackend()) is None


def test_without_history_nothing_is_rewritten() -> None:
    assert rewrite_query(query("它与ResNet的关键区别是什么？"), [], TOKENIZER, ScriptedModel("不该被调用")) is None


def test_the_subject_comes_from_the_last_standalone_question() -> None:
    history = [*DENSENET, Message("user", "它与ResNet的关键区别是什么？"), Message("assistant", "……")]
    assert rewrite_by_rule(query("它的训练呢？"), history, TOKENIZER) == "DenseNet 模型的训练呢？"


def test_a_model_rewrites_when_the_backend_has_one() -> None:
    model = ScriptedModel("改写后的问题：DenseNet与ResNet的关键区别是什么？\n（多余的解释）")
    assert rewrite_query(query("它与ResNet的关键区别是什么？"), DENSENET, TOKENIZER, model) == "DenseNet与ResNet的关键区别是什么？"
    system, user = model.sent[0]
    assert system.role == "system" and "只输出改写后的问题" in system.content
    assert "用户：什么是 DenseNet 模型" in user.content and user.content.endswith("最后一个问题：它与ResNet的关键区别是什么？")


@pytest.mark.parametrize("reply", [BackendError("server down"), "", "x" * 500, "DenseNet在通道维上连结输入与输出 [p.251]。"])
def test_a_failed_or_unusable_model_rewrite_falls_back_to_the_rule(reply: str | Exception) -> None:
    model = ScriptedModel(reply)
    assert rewrite_query(query("它与ResNet的关键区别是什么？"), DENSENET, TOKENIZER, model) == "DenseNet 模型与ResNet的关键区别是什么？"


def test_a_model_that_returns_the_question_unchanged_means_no_rewrite() -> None:
    assert rewrite_query(query("它与ResNet的关键区别是什么？"), DENSENET, TOKENIZER, ScriptedModel("它与ResNet的关键区别是什么？")) is None
