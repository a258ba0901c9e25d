"""Grounded prompts: language, numbered blocks with page labels and sections, budget trimming."""

from __future__ import annotations

import pytest
from answer_helpers import GRADIENT_CHUNK, PAGES, densenet_hits, hit, query

from bookqa.answering.prompts import NOT_COVERED, build_prompt, context_block
from bookqa.text import estimate_tokens
from bookqa.types import Language, Message, Pages


def test_a_chinese_question_gets_a_chinese_prompt_with_numbered_labelled_blocks() -> None:
    prompt = build_prompt(query("什么是 DenseNet 模型"), densenet_hits(), pages=PAGES, budget=4000)
    assert prompt.language == "zh"
    system, user = prompt.messages
    assert system.role == "system" and "[p.291]" in system.content and NOT_COVERED["zh"] in system.content
    assert user.role == "user"
    assert "【资料1】页码：p.251, p.252｜章节：7 现代卷积神经网络 › 7.7 稠密连接网络（DenseNet）\n稠密连接网络" in user.content
    assert "【资料2】页码：p.244｜章节：7 现代卷积神经网络 › 7.6 残差网络（ResNet）" in user.content
    assert user.content.index("【资料1】") < user.content.index("【资料2】") < user.content.index("问题：什么是 DenseNet 模型")
    assert prompt.hits == tuple(densenet_hits())


def test_an_english_question_gets_an_english_prompt() -> None:
    prompt = build_prompt(query("What is the gradient?"), [hit(GRADIENT_CHUNK, 1)], pages=PAGES, budget=4000)
    assert prompt.language == "en"
    assert NOT_COVERED["en"] in prompt.messages[0].content
    assert "[Excerpt 1] pages: p.56 | section: 2 Preliminaries › 2.4 Calculus" in prompt.messages[-1].content
    assert prompt.messages[-1].content.endswith("Question: What is the gradient?")


def test_pages_without_a_label_are_cited_by_number() -> None:
    assert PAGES.label(74) == "56" and PAGES.label(75) == "75" and Pages(()).label(3) == "3"
    assert context_block(1, hit(GRADIENT_CHUNK, 1), Pages(()), Language.EN).startswith("[Excerpt 1] pages: p.74 |")


def test_history_goes_between_system_and_question_and_the_standalone_query_is_shown() -> None:
    history = [Message("user", "什么是 DenseNet 模型"), Message("assistant", "DenseNet 连结特征。[p.251]"), Message("system", "ignored")]
    prompt = build_prompt(
        query("它与ResNet的关键区别是什么？"), densenet_hits(), history, pages=PAGES, standalone=query("DenseNet 模型与ResNet的关键区别是什么？"), budget=4000
    )
    assert [m.role for m in prompt.messages] == ["system", "user", "assistant", "user"]
    assert prompt.messages[-1].content.endswith("问题：它与ResNet的关键区别是什么？\n（结合上文，这个问题即：DenseNet 模型与ResNet的关键区别是什么？）")


def test_a_small_budget_keeps_blocks_before_history_and_drops_lower_blocks_first() -> None:
    history = [Message("user", "旧问题" * 50), Message("assistant", "旧回答" * 50), Message("user", "近的问题"), Message("assistant", "近的回答")]
    hits = densenet_hits()
    full = build_prompt(query("什么是 DenseNet 模型"), hits, history, pages=PAGES, budget=10_000)
    assert len(full.hits) == 2 and [m.content for m in full.messages[1:-1]] == [m.content for m in history]
    size = sum(estimate_tokens(m.content) + 8 for m in full.messages)
    block_2 = estimate_tokens(context_block(2, hits[1], PAGES, Language.ZH)) + 2
    history_size = sum(estimate_tokens(m.content) + 8 for m in history)
    for budget, blocks, turns in [
        (size - 20, 2, 3),  # the oldest turn goes first
        (size - history_size + 5, 2, 0),  # (+5: room for the separators the builder counts, less than a turn)
        (size - history_size - block_2 + 5, 1, 0),  # then the lower-ranked block
    ]:
        prompt = build_prompt(query("什么是 DenseNet 模型"), hits, history, pages=PAGES, budget=budget)
        assert (len(prompt.hits), len(prompt.messages) - 2) == (blocks, turns)
        assert prompt.hits[0] == hits[0]
        assert [m.content for m in prompt.messages[1:-1]] == [m.content for m in history[len(history) - turns :]]
        assert sum(estimate_tokens(m.content) + 8 for m in prompt.messages) <= budget


def test_a_first_block_too_long_for_the_budget_is_cut_not_dropped() -> None:
    prompt = build_prompt(query("什么是 DenseNet 模型"), densenet_hits(), pages=PAGES, budget=320)
    assert [h.rank for h in prompt.hits] == [1]
    assert "【资料1】页码：p.251, p.252" in prompt.messages[-1].content and "稠密连接网络" in prompt.messages[-1].content
    assert "…\n\n问题：" in prompt.messages[-1].content
    assert sum(estimate_tokens(m.content) + 8 for m in prompt.messages) <= 320


def test_no_hits_still_gives_a_prompt_that_says_so() -> None:
    prompt = build_prompt(query("What is a GPU?"), [], budget=1000)
    assert "(no excerpts were found)" in prompt.messages[-1].content and prompt.hits == ()


def test_the_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="budget"):
        build_prompt(query("q"), [], budget=0)
