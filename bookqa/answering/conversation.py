"""A conversation about one book as the app keeps it: questions, answers or errors, and its Markdown export."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from bookqa.types import Answer, Message


@dataclass(frozen=True)
class Exchange:
    """One question and what came of it: an ``answer``, or an ``error`` (message and hint, as shown).

    ``scope``: how the search was limited, as shown to the user ("" for the whole book).
    """

    question: str
    answer: Answer | None = None
    error: str | None = None
    scope: str = ""


def history(exchanges: Sequence[Exchange]) -> list[Message]:
    """The answered exchanges as user/assistant messages, oldest first (what a follow-up is read against)."""
    messages: list[Message] = []
    for exchange in exchanges:
        if exchange.answer is not None:
            messages += [Message("user", exchange.question), Message("assistant", exchange.answer.text)]
    return messages


def cited_pages(exchanges: Sequence[Exchange]) -> set[int]:
    """Physical pages the conversation points to: pages the answers cite and the first page of each source."""
    pages: set[int] = set()
    for exchange in exchanges:
        if exchange.answer is not None:
            pages.update(exchange.answer.citations)
            pages.update(hit.chunk.page_start for hit in exchange.answer.hits)
    return pages


def to_markdown(title: str, exchanges: Sequence[Exchange], label: Callable[[int], str]) -> str:
    """The conversation as a Markdown document: each question, its answer (or error) and its sources.

    ``label``: physical page number -> printed page label.
    """
    lines = [f"# {title}", ""]
    for exchange in exchanges:
        lines += [f"## {exchange.question}", ""]
        if exchange.scope:
            lines += [f"*Searched in: {exchange.scope}*", ""]
        if exchange.answer is None:
            lines += [f"> {exchange.error or 'No answer.'}", ""]
            continue
        answer = exchange.answer
        if answer.rewritten_query:
            lines += [f"*Searched for: {answer.rewritten_query}*", ""]
        lines += [answer.text.strip(), ""]
        if answer.hits:
            lines += ["Sources:", ""]
            lines += [
                f"- p.{label(hit.chunk.page_start)} · {' > '.join(hit.chunk.section_path) or '-'} (score {hit.score:.3f})"
                for hit in answer.hits
            ]
            lines.append("")
    return "\n".join(lines)
