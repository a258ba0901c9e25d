"""A conversation as the app keeps it: history for follow-ups, cited pages, a source's text, Markdown export."""

from __future__ import annotations

from bookqa.answering.conversation import Exchange, cited_pages, history, to_markdown
from bookqa.types import Answer, Chunk, Hit, Message

DENSENET = Chunk("b:00007", "b", "DenseNet 把相加换成了连结。", 5, 6, ("2 卷积神经网络", "2.3 稠密连接网络"), "2.3")
RESNET = Chunk("b:00006", "b", "残差块学习 F(x) = H(x) - x。", 5, 5, ("2 卷积神经网络", "2.2 残差网络"), "2.2")


def exchanges() -> list[Exchange]:
    answer = Answer("DenseNet 把相加换成了连结 [p.3]。", (Hit(DENSENET, 1, 0.03), Hit(RESNET, 2, 0.02)), (5,))
    follow_up = Answer("更省参数 [p.4]。", (Hit(DENSENET, 1, 0.03),), (6,), rewritten_query="DenseNet 和 ResNet 的区别")
    return [
        Exchange("什么是DenseNet？", answer, scope="2 卷积神经网络"),
        Exchange("它和ResNet有什么不同？", follow_up),
        Exchange("还有呢？", error="Cannot connect to the answer server."),
    ]


def test_history_holds_the_answered_turns_only() -> None:
    assert history(exchanges()) == [
        Message("user", "什么是DenseNet？"), Message("assistant", "DenseNet 把相加换成了连结 [p.3]。"),
        Message("user", "它和ResNet有什么不同？"), Message("assistant", "更省参数 [p.4]。"),
    ]


def test_cited_pages_are_the_citations_and_the_sources_first_pages() -> None:
    assert cited_pages(exchanges()) == {5, 6}


def test_markdown_export_has_questions_answers_errors_and_sources() -> None:
    text = to_markdown("深度学习", exchanges(), label=lambda n: str(n - 2))
    assert text.startswith("# 深度学习\n")
    assert "## 什么是DenseNet？" in text and "*Searched in: 2 卷积神经网络*" in text
    assert "- p.3 · 2 卷积神经网络 > 2.3 稠密连接网络 (score 0.030)" in text
    assert "*Searched for: DenseNet 和 ResNet 的区别*" in text
    assert "> Cannot connect to the answer server." in text
