"""Open self-test questions written by a language model, whose answer keys must cite the pages they come from.

The model gets passages of the section (retrieved within it for its title and key points, labelled with their
printed pages as chat context is) and writes one JSON object per line: ``question``, ``answer``, ``page`` (a
citation ``[p.LABEL]``). The citation is checked as a chat answer's is (:func:`bookqa.answering.citations.check_citations`):
an item is kept only when it cites at least one retrieved page and no page that was not retrieved. Its evidence is
the sentence printed on the cited page, of the passages there, closest to the answer key by the embedder; without
one, the item is dropped, never repaired.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Sequence

import numpy as np

from bookqa.answering.citations import check_citations
from bookqa.answering.prompts import context_block
from bookqa.study.keys import fold, on_page
from bookqa.study.quiz import Item, ItemType, item_id
from bookqa.text import split_sentences
from bookqa.types import Hit, Language, Message, Page, Pages, Section

if TYPE_CHECKING:
    from bookqa.answering.backends.base import ChatBackend
    from bookqa.index.embedders import Embedder

log = logging.getLogger(__name__)

_SYSTEM = {
    Language.ZH: (
        "你为学生出自测题。只根据给出的书中资料出题，不要使用资料以外的知识。每道题输出一行 JSON："
        '{{"question": "问题", "answer": "简短的参考答案", "page": "[p.页码]"}}，页码写资料标注的、答案所在的页码。'
        "一共出 {n} 道题，题目彼此不同，只输出 JSON 行。"
    ),
    Language.EN: (
        "You write self-test questions for a student. Use only the book excerpts given, no outside knowledge. "
        'Write each question as one line of JSON: {{"question": "...", "answer": "a short answer key", "page": '
        '"[p.PAGE]"}}, with the page label shown on the excerpt where the answer is. Write {n} different questions '
        "and nothing but the JSON lines."
    ),
}
_OBJECT = re.compile(r"\{[^{}]*\}")


def prompt(hits: Sequence[Hit], pages: Pages, language: Language, n: int) -> list[Message]:
    """The messages asking for ``n`` open questions on the passages ``hits``."""
    blocks = "\n\n".join(context_block(i, hit, pages, language) for i, hit in enumerate(hits, start=1))
    return [Message("system", _SYSTEM[language].format(n=n)), Message("user", blocks)]


def parse(reply: str) -> list[dict[str, str]]:
    """The question objects of a model's reply (one JSON object per line; other text ignored)."""
    rows = []
    for match in _OBJECT.finditer(reply):
        try:
            row = json.loads(match.group())
        except ValueError:
            continue
        if isinstance(row, dict) and all(isinstance(row.get(k), str) and row[k].strip() for k in ("question", "answer", "page")):
            rows.append({k: row[k].strip() for k in ("question", "answer", "page")})
    return rows


def open_items(
    book_id: str,
    section: Section,
    hits: Sequence[Hit],
    pages: Pages,
    backend: ChatBackend,
    embedder: Embedder,
    language: Language,
    n: int,
    taken: Sequence[Item] = (),
) -> list[Item]:
    """Up to ``n`` open items on ``section`` written by ``backend`` from the passages ``hits``, checked (see the
    module docstring); none shares an answer or evidence with another or with the items ``taken``."""
    if not hits or n < 1:
        return []
    reply = backend.stream(prompt(hits, pages, language, n)).text()
    answers = {fold(item.answer) for item in taken}
    evidence = {item.evidence for item in taken}
    items: list[Item] = []
    for row in parse(reply):
        checked = check_citations(row["page"], hits, pages)
        if not checked.pages or checked.unverified:
            log.info("Dropped an open question citing %r: not a retrieved page.", row["page"])
            continue
        page = checked.pages[0]
        book_page = pages.get(page)
        found = _evidence(row["answer"], book_page, hits, embedder) if book_page is not None else None
        if found is None:
            log.info("Dropped an open question: no sentence of p.%s supports its answer.", pages.label(page))
            continue
        if fold(row["answer"]) in answers or found in evidence:
            continue
        answers.add(fold(row["answer"]))
        evidence.add(found)
        holder = next(hit for hit in hits if found in hit.chunk.text and hit.chunk.page_start <= page <= hit.chunk.page_end)
        items.append(Item(
            item_id(book_id, ItemType.OPEN, row["answer"], found), ItemType.OPEN, row["question"], row["answer"], found,
            page, holder.chunk.section_path[-1] if holder.chunk.section_path else section.display_title,
            holder.chunk.section_number, found,
        ))
        if len(items) == n:
            break
    return items


def _evidence(answer: str, page: Page, hits: Sequence[Hit], embedder: Embedder) -> str | None:
    """The sentence printed on ``page``, of the passages there, closest to ``answer``."""
    sentences = [
        sentence
        for hit in hits
        if hit.chunk.page_start <= page.number <= hit.chunk.page_end
        for sentence in split_sentences(hit.chunk.text)
        if len(sentence) > 8 and on_page(sentence, page)
    ]
    if not sentences:
        return None
    vectors = embedder.embed([answer, *sentences])
    return sentences[int(np.argmax(vectors[1:] @ vectors[0]))]
