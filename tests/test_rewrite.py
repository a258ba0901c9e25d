"""Follow-up questions: detection, the deterministic rule, and the model rewrite with its fallback."""

from __future__ import annotations

from typing import Sequence

import pytest
from answer_helpers import BATCH_NORM_CHUNK, DENSENET_CHUNK, DENSENET_MODEL_CHUNK, GRADIENT_CHUNK, RESNET_CHUNK, BookText, query

from bookqa.answering.backends.base import ChatBackend, Generation, Reply
from bookqa.answering.backends.extractive import ExtractiveBackend
from bookqa.answering.rewrite import is_follow_up, rewrite_by_rule, rewrite_query
from bookqa.errors import BackendError
from bookqa.text import estimate_tokens
from bookqa.types import Message

BOOK = BookText([GRADIENT_CHUNK, RESNET_CHUNK, DENSENET_CHUNK, DENSENET_MODEL_CHUNK, BATCH_NORM_CHUNK])
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
    assert rewrite_by_rule(query("它与ResNet的关键区别是什么？"), DENSENET, BOOK) == "DenseNet 模型与ResNet的关键区别是什么？"


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
    assert rewrite_by_rule(query(question), DENSENET, BOOK) == rewritten


@pytest.mark.parametrize(
    "question, rewritten",
    [
        ("what about its training?", "what about batch normalization's training?"),
        ("How does it work?", "How does batch normalization work?"),
        ("Why?", "batch normalization: Why?"),
    ],
)
def test_english_follow_ups(question: str, rewritten: str) -> None:
    assert rewrite_by_rule(query(question), BATCH_NORM, BOOK) == rewritten


@pytest.mark.parametrize("question", ["梯度是什么", "其他网络有哪些？", "softmax回归怎么理解", "What is dropout?"])
def test_standalone_questions_are_not_rewritten(question: str) -> None:
    assert not is_follow_up(query(question), DENSENET)
    assert rewrite_query(query(question), DENSENET, BOOK, ExtractiveBackend()) is None


def test_without_history_nothing_is_rewritten() -> None:
    assert rewrite_query(query("它与ResNet的关键区别是什么？"), [], BOOK, ScriptedModel("不该被调用")) is None


def test_the_subject_comes_from_the_last_standalone_question() -> None:
    history = [*DENSENET, Message("user", "它与ResNet的关键区别是什么？"), Message("assistant", "……")]
    assert rewrite_by_rule(query("它的训练呢？"), history, BOOK) == "DenseNet 模型的训练呢？"


def test_a_model_rewrites_when_the_backend_has_one() -> None:
    model = ScriptedModel("改写后的问题：DenseNet与ResNet的关键区别是什么？\n（多余的解释）")
    assert rewrite_query(query("它与ResNet的关键区别是什么？"), DENSENET, BOOK, model) == "DenseNet与ResNet的关键区别是什么？"
    system, user = model.sent[0]
    assert system.role == "system" and "只输出改写后的问题" in system.content
    assert "用户：什么是 DenseNet 模型" in user.content and user.content.endswith("最后一个问题：它与ResNet的关键区别是什么？")


@pytest.mark.parametrize("reply", [BackendError("server down"), "", "x" * 500, "DenseNet在通道维上连结输入与输出 [p.251]。"])
def test_a_failed_or_unusable_model_rewrite_falls_back_to_the_rule(reply: str | Exception) -> None:
    model = ScriptedModel(reply)
    assert rewrite_query(query("它与ResNet的关键区别是什么？"), DENSENET, BOOK, model) == "DenseNet 模型与ResNet的关键区别是什么？"


def test_a_model_that_returns_the_question_unchanged_means_no_rewrite() -> None:
    assert rewrite_query(query("它与ResNet的关键区别是什么？"), DENSENET, BOOK, ScriptedModel("它与ResNet的关键区别是什么？")) is None


@pytest.mark.parametrize(
    "earlier, question, rewritten",
    [
        ("What is batch normalization?", "and how do I make one?", "and how do I make batch normalization?"),
        ("What is batch normalization?", "Why does that work?", "Why does batch normalization work?"),
        ("What is batch normalization?", "Is there an example of that?", "Is there an example of batch normalization?"),
        ("What is batch normalization?", "What do these minibatches hold?", "batch normalization: What do these minibatches hold?"),
        ("What is batch normalization?", "Then what is the other one called?", "batch normalization: What is the other one called?"),
        ("What is batch normalization?", "What if it's too small?", "What if batch normalization is too small?"),
        ("What is batch normalization?", "What if the minibatch holds one example?",
         "batch normalization: What if the minibatch holds one example?"),
        ("What is batch normalization?", "Is it possible to use it at test time?", "Is it possible to use batch normalization at test time?"),
        ("What is batch normalization?", "And what is it called when the minibatch is normalized per example?",
         "batch normalization: What is it called when the minibatch is normalized per example?"),
        ("How do I normalize a minibatch of inputs?", "Why does it help?", "Why does minibatch help?"),
    ],
)
def test_english_follow_ups_lean_with_one_that_these_and_then(earlier: str, question: str, rewritten: str) -> None:
    """The earlier question's subject is the phrase the book prints, in place of the pronoun or, where the question
    leans without one ("these minibatches", "the other one"), in front; after "How do I" the verb is passed over, and
    an "it" that stands for a later clause ("is it possible to", "what is it called when") is no reference."""
    history = [Message("user", earlier)]
    assert is_follow_up(query(question), history)
    assert rewrite_by_rule(query(question), history, BOOK) == rewritten


def test_that_as_a_relative_pronoun_is_no_follow_up() -> None:
    assert not is_follow_up(query("What is the layer that normalizes each minibatch?"), BATCH_NORM)
