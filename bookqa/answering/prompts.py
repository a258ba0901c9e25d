"""Grounded prompts: numbered context blocks labelled with printed pages and section paths, in the
question's language, asking for an answer from the context only with citations in the form ``[p.291]``.

The prompt is fitted to a token budget: the system message and the question always; then context blocks
best first (the best one cut to fit when it is too long whole); then earlier turns, newest first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Sequence

from bookqa.index.query import Query
from bookqa.text import estimate_tokens
from bookqa.types import Hit, Language, Message, Pages

log = logging.getLogger(__name__)

MESSAGE_OVERHEAD = 8
"""Tokens a chat template adds around one message (role markers, separators), counted generously."""

ZH, EN = Language.ZH, Language.EN

NOT_COVERED = {ZH: "本书没有涉及这个问题。", EN: "The book does not cover this."}
"""What the model is told to answer when the context does not support an answer."""

LOW_CONFIDENCE = {
    ZH: "本书似乎没有涉及这个问题：检索到的段落与问题关系不大，所以这里不作回答，以免编造。"
    "可以换个说法再问，或看看下面列出的最接近的段落。",
    EN: "The book does not seem to cover this: the passages found are only loosely related to the question, "
    "so no answer is given rather than a made-up one. Try rephrasing, or look at the closest passages listed below.",
}
"""What the user is told instead of an answer when retrieval found nothing that supports one."""

_SYSTEM = {
    ZH: (
        "你是一名耐心的学习助手，帮助学生读懂一本教科书。只根据用户消息中给出的书中资料回答问题：\n"
        "1. 只使用资料里的内容，不要编造，也不要补充资料以外的知识。\n"
        "2. 每个要点后面用 [p.页码] 注明出处，页码写资料标注的页码，例如 [p.291]；"
        "出处有多页时写成 [p.291][p.292]。不要使用其他引用格式。\n"
        f"3. 如果资料不足以回答问题，就回答“{NOT_COVERED[ZH]}”，不要猜测。\n"
        "4. 用中文回答：先直接回答，再分点解释。"
    ),
    EN: (
        "You are a patient study assistant helping a student understand a textbook. Answer only from the "
        "book excerpts given in the user's message:\n"
        "1. Use only what the excerpts say; do not invent anything or add knowledge from outside them.\n"
        "2. After each point, cite its source as [p.PAGE] with a page label shown on the excerpt, for example "
        "[p.291]; for several pages write [p.291][p.292]. Use no other citation format.\n"
        f'3. If the excerpts do not support an answer, reply "{NOT_COVERED[EN]}" and do not guess.\n'
        "4. Answer in English: a direct answer first, then the explanation point by point."
    ),
}
_CONTEXT_HEADER = {ZH: "书中资料：", EN: "Book excerpts:"}
_NO_CONTEXT = {ZH: "（没有检索到资料）", EN: "(no excerpts were found)"}
_BLOCK_HEADER = {ZH: "【资料{n}】页码：{pages}｜章节：{section}", EN: "[Excerpt {n}] pages: {pages} | section: {section}"}
_QUESTION = {ZH: "问题：{question}", EN: "Question: {question}"}
_STANDALONE = {ZH: "（结合上文，这个问题即：{standalone}）", EN: "(In the context of the conversation: {standalone})"}


@dataclass(frozen=True)
class Prompt:
    """A grounded prompt: ``messages`` for a chat model (system, earlier turns, the context and question),
    ``hits`` whose text it holds (best first), and the ``language`` it asks the answer in."""

    messages: tuple[Message, ...]
    hits: tuple[Hit, ...]
    language: Language


def context_block(n: int, hit: Hit, pages: Pages, language: Language, text: str | None = None) -> str:
    """Context block number ``n`` for ``hit``: a header with its page labels and section path, then ``text``
    (default: the hit's text)."""
    chunk = hit.chunk
    labels = ", ".join(f"p.{pages.label(p)}" for p in range(chunk.page_start, chunk.page_end + 1))
    section = " › ".join(chunk.section_path) or "—"
    header = _BLOCK_HEADER[language].format(n=n, pages=labels, section=section)
    return f"{header}\n{chunk.text if text is None else text}"


def build_prompt(
    question: Query,
    hits: Sequence[Hit],
    history: Sequence[Message] = (),
    *,
    pages: Pages | None = None,
    standalone: Query | None = None,
    budget: int,
    count_tokens: Callable[[str], int] = estimate_tokens,
) -> Prompt:
    """The grounded prompt for ``question``, fitted to ``budget`` tokens as counted by ``count_tokens``.

    ``hits``: retrieved passages, best first. ``history``: earlier user/assistant turns, oldest first (other
    roles are ignored). ``pages``: the book's pages, for printed labels (without them, pages show their physical
    numbers). ``standalone``: the question rewritten to
    stand alone, shown beside it. The language is the question's.
    """
    if budget < 1:
        raise ValueError(f"The prompt budget must be at least 1 token, got {budget}.")
    pages = pages if pages is not None else Pages(())
    language = question.language
    system = _SYSTEM[language]
    tail = _QUESTION[language].format(question=question.text)
    if standalone:
        tail += "\n" + _STANDALONE[language].format(standalone=standalone.text)

    def cost(text: str) -> int:
        return count_tokens(text) + MESSAGE_OVERHEAD

    frame = cost(system) + cost(f"{_CONTEXT_HEADER[language]}\n\n{tail}") + count_tokens(_NO_CONTEXT[language])
    if frame > budget:
        tail = _cut(tail, budget // 4, count_tokens)
        log.warning("The question alone exceeds the prompt budget of %d tokens; it was shortened.", budget)
    remaining = budget - cost(system) - cost(f"{_CONTEXT_HEADER[language]}\n\n{tail}")

    blocks: list[str] = []
    used: list[Hit] = []
    for position, hit in enumerate(hits):
        block = context_block(len(blocks) + 1, hit, pages, language)
        need = count_tokens(block) + 2
        if need > remaining and position == 0:  # the best passage is cut to fit rather than left out
            room = remaining - count_tokens(context_block(1, hit, pages, language, text="")) - 2
            text = _cut(hit.chunk.text, room, count_tokens)
            block = context_block(1, hit, pages, language, text)
            need = count_tokens(block) + 2 if text else remaining + 1
        if need <= remaining:
            blocks.append(block)
            used.append(hit)
            remaining -= need
    if not blocks:
        remaining -= count_tokens(_NO_CONTEXT[language])
    if len(used) < len(hits):
        log.info("Prompt budget %d tokens: %d of %d context blocks kept.", budget, len(used), len(hits))

    turns: list[Message] = []
    for message in reversed([m for m in history if m.role in ("user", "assistant")]):
        need = cost(message.content)
        if need > remaining:
            break
        turns.insert(0, message)
        remaining -= need

    context = "\n\n".join(blocks) if blocks else _NO_CONTEXT[language]
    user = f"{_CONTEXT_HEADER[language]}\n\n{context}\n\n{tail}"
    messages = (Message("system", system), *turns, Message("user", user))
    return Prompt(messages=messages, hits=tuple(used), language=language)


def _cut(text: str, tokens: int, count_tokens: Callable[[str], int]) -> str:
    """The longest head of ``text`` (by halving steps, then proportionally) that fits ``tokens``, with "…"."""
    if tokens <= 0:
        return ""
    if count_tokens(text) <= tokens:
        return text
    size = len(text)
    while size > 0:
        size = int(size * min(0.9, tokens / max(1, count_tokens(text[:size] + "…"))))
        if count_tokens(text[:size] + "…") <= tokens:
            return text[:size] + "…"
    return ""
