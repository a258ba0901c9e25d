"""The extractive backend: no language model, an answer made of the book's own sentences.

Sentences of the retrieved passages (cut by :func:`bookqa.text.split_sentences`, the chunker's own splitter) are
scored by what answers the question: mostly by their closeness in meaning to it (the book's embedder, scaled over
the candidates), partly by the question's key terms they contain (each weighted by how rare it is among the
candidates, so "DenseNet" outweighs "模型"), plus a bonus for a sentence of the kind the question asks for (a
reason for "why", a number for "how many", a naming for "what is it called"); then times a bonus for the
passage's rank and a discount for very short sentences. A passage that joins several chunks is read chunk by
chunk, each as what it is. Left out: headings, the exercises that end a section, and in a Chinese passage the
sentences a formula cuts off. Code (listings, and lines without Chinese in a Chinese passage) is quoted line by
line, as inline code, only where the question names a word the code prints (spelt like an identifier, or any
Latin-letter word of a question written in Chinese).
The sentences are taken by score, at most a few per passage, shown grouped by section, best section first, in
reading order within it, each followed by its page citation ``[p.LABEL]``, under a note that no language model was
used. The answer is Markdown; the book's text in it is escaped, so it shows as printed.
When no sentence shares a term with the question (and there is no embedder), the opening sentences of the best
passages are shown."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from bookqa.answering.backends.base import Backend, Reply
from bookqa.config import BackendName
from bookqa.index.embedders import QUERY, Embedder
from bookqa.index.query import Query
from bookqa.text import escape_inline_markdown, has_han, language_of, split_sentences
from bookqa.types import Chunk, ChunkKind, Hit, Language, Message, Pages

ZH, EN = Language.ZH, Language.EN

NOTE = {
    ZH: "> 未使用语言模型：以下是书中与问题最相关的原文句子，每句后注明页码。",
    EN: "> No language model was used: these are the book's sentences most relevant to the question, each with its page.",
}
MIN_SENTENCE_CHARS = 6
MAX_SENTENCE_CHARS = 300
"""Sentences shorter than this are skipped (headings, fragments); longer ones are cut with "…"."""
FOCUS_WEIGHT = 2.0
"""How much more a follow-up's own terms weigh than those its rewrite carried in from earlier turns."""
MEANING_SHARE = 0.7
"""How much of a sentence's score its closeness in meaning to the question makes (the rest: the question's terms)."""
MEANING_HITS = 2
"""Only the sentences of the best few passages are weighed by meaning (each answer embeds its candidates; the rest,
where the evidence is rarely found, go by terms)."""
TYPE_BONUS = 0.25
"""What a sentence of the kind a question asks for adds to its score (see :data:`QUESTION_TYPES`)."""


@dataclass(frozen=True)
class QuestionType:
    """A kind of question and the sentences that answer it: a "why" question is answered by a reason."""

    asks: re.Pattern[str]
    answers: re.Pattern[str]


QUESTION_TYPES = (
    QuestionType(  # why: a reason or a purpose
        re.compile(r"\bwhy\b|为什么|为何|为啥|何以|原因", re.IGNORECASE),
        re.compile(
            r"\b(?:because|since|so that|in order to|therefore|thus|hence|otherwise|the reason|this means|which means|due to)\b"
            r"|因为|由于|所以|因此|为了|以便|以免|否则|导致|原因|从而|使得",
            re.IGNORECASE,
        ),
    ),
    QuestionType(  # how many, what value: a number
        re.compile(r"\bhow (?:many|much|long|big|large|fast|often)\b|\bwhat (?:value|number|percentage)\b|多少|几个|几种|多大|多长|多快|几倍",
                   re.IGNORECASE),
        re.compile(r"\d"),
    ),
    QuestionType(  # what is it called: a naming
        re.compile(r"\bcalled\b|\bwhat is the (?:name|term)\b|叫什么|叫做什么|称为什么|什么名字|术语", re.IGNORECASE),
        re.compile(r"\b(?:is|are|was|were) (?:called|known as|named|termed)\b|称为|称作|叫做|叫作|被称为|又称|简称", re.IGNORECASE),
    ),
)
"""Kinds of questions whose answering sentence has a form of its own; a question may be of several kinds."""
FULL_SENTENCE_CHARS = 30
"""Sentences shorter than this score in proportion to their length: a short one that names the topic ("我们来构造
DenseNet模型。") mostly leads into what follows rather than saying something about it."""

_SPACE = re.compile(r"\s+")
_CODE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_IDENTIFIER = re.compile(r"_|\.")
"""What marks a word as an identifier (besides a call's parenthesis): an underscore or a dotted name."""
_HEADING = re.compile(r"^\d+(\.\d+)*\s+\S[^。！？.!?]{0,40}$")
"""A numbered heading line ("4.8.1 梯度消失和梯度爆炸"): not a sentence worth quoting."""
EXERCISES = frozenset({"练习", "习题", "Exercises"})
"""Headings of the exercises at the end of a section: what follows asks questions, it does not answer them."""
_SENTENCE_ENDS = tuple("。！？；.!?;”」）)")


@dataclass(frozen=True)
class Quote:
    """A sentence quoted from ``hit``: its ``position`` among the hit's sentences, its ``text``, the physical
    ``page`` it is printed on, and its relevance ``score`` (0 when it shares no term with the question); ``code``:
    a line of a listing (or of code printed among a Chinese passage's sentences)."""

    hit: Hit
    position: int
    text: str
    page: int
    score: float = 0.0
    code: bool = False


class ExtractiveBackend(Backend):
    """Answers with the most relevant sentences of the hits, cited by page; no model, no GPU.

    ``max_sentences``: most sentences in an answer. ``max_chars``: most characters of quoted text.
    ``per_hit``: most sentences taken from one passage.
    """

    name = BackendName.EXTRACTIVE
    model = "none"
    generative = False

    def __init__(self, max_sentences: int = 6, max_chars: int = 900, per_hit: int = 3) -> None:
        if max_sentences < 1 or max_chars < MAX_SENTENCE_CHARS or per_hit < 1:
            raise ValueError(
                f"ExtractiveBackend needs max_sentences >= 1, max_chars >= {MAX_SENTENCE_CHARS} and per_hit >= 1; "
                f"got {max_sentences}, {max_chars}, {per_hit}."
            )
        self.max_sentences = max_sentences
        self.max_chars = max_chars
        self.per_hit = per_hit

    def answer(
        self,
        question: Query,
        hits: Sequence[Hit],
        history: Sequence[Message] = (),
        pages: Pages | None = None,
        standalone: Query | None = None,
        embedder: Embedder | None = None,
        **overrides: float,
    ) -> Reply:
        """See :meth:`Backend.answer`; ``history`` and ``overrides`` do not apply here, and ``standalone``
        (when given) is what the sentences are scored against, the question's own terms counting double."""
        focus = question if standalone else None
        pages = pages if pages is not None else Pages(())
        return Reply(self._lines(standalone or question, hits, pages, question.language, focus, embedder))

    def select(
        self,
        query: Query,
        hits: Sequence[Hit],
        pages: Pages | None = None,
        focus: Query | None = None,
        embedder: Embedder | None = None,
    ) -> list[Quote]:
        """The sentences chosen for ``query`` from ``hits`` (best first), in the order they are shown.

        ``pages``: the book's pages, to find the page each sentence is printed on. ``focus``: the follow-up
        question that ``query`` was rewritten from; its own terms weigh ``FOCUS_WEIGHT`` times as much as those
        carried from earlier turns ("过渡层" over "DenseNet" in "它的过渡层是做什么的？"). ``embedder``: the book's,
        to weigh each sentence by its meaning's closeness to the question (without it, by terms alone).
        """
        pages = pages if pages is not None else Pages(())
        spanned = {n for hit in hits for n in range(hit.chunk.page_start, hit.chunk.page_end + 1)}
        flat = {n: _SPACE.sub("", page.text) for n in spanned if (page := pages.get(n)) is not None}
        named = _code_names(focus or query)
        candidates = [c for hit in hits for c in self._sentences(hit, flat, named)]
        if not candidates:
            return []
        scores = self._scores(query, focus, candidates, embedder)
        scored = [dataclasses.replace(c, score=score) for c, score in zip(candidates, scores)]
        matched = [c for c in scored if c.score > 0]
        if matched:  # by score: the best passage may give several sentences before a weaker one gives any
            ranked = sorted(matched, key=lambda c: (-c.score, c.hit.rank, c.position))
        else:  # nothing shares a term: the opening sentences of the best passages
            ranked = sorted(scored, key=lambda c: (c.hit.rank, c.position))
        chosen: list[Quote] = []
        used_chars = 0
        per_hit: dict[str, int] = {}
        for c in ranked:
            if len(chosen) == self.max_sentences:
                break
            repeated = any(c.text == other.text for other in chosen)  # chunk overlaps repeat sentences
            if repeated or used_chars + len(c.text) > self.max_chars or per_hit.get(c.hit.chunk.id, 0) == self.per_hit:
                continue
            per_hit[c.hit.chunk.id] = per_hit.get(c.hit.chunk.id, 0) + 1
            chosen.append(c)
            used_chars += len(c.text)
        best_of_section: dict[tuple[str, ...], int] = {}
        for c in chosen:
            section = c.hit.chunk.section_path
            best_of_section[section] = min(best_of_section.get(section, c.hit.rank), c.hit.rank)
        return sorted(
            chosen, key=lambda c: (best_of_section[c.hit.chunk.section_path], c.page, c.hit.rank, c.position)
        )

    def _scores(self, query: Query, focus: Query | None, candidates: Sequence[Quote], embedder: Embedder | None) -> list[float]:
        """Each candidate's relevance (see the module docstring), times the passage's rank bonus and the
        short-sentence discount. By terms: the weights of the query's terms it holds (rarer terms weigh more, the
        ``focus`` question's own ones ``FOCUS_WEIGHT`` times more), scaled by the best candidate's; 0 for a sentence
        that holds none when there is no embedder."""
        lowered = [c.text.lower() for c in candidates]
        found_in = {term: sum(term in text for text in lowered) for term in query.terms}
        own = set(focus.terms) if focus else set()
        weight = {
            term: math.log(1 + len(candidates) / n) * (FOCUS_WEIGHT if term in own else 1.0)
            for term, n in found_in.items()
            if n
        }
        by_terms = np.array([sum(w for term, w in weight.items() if term in text) for text in lowered])
        relevance = by_terms / by_terms.max() if by_terms.max() > 0 else by_terms
        weighed = [i for i, c in enumerate(candidates) if c.hit.rank <= MEANING_HITS]
        if embedder is not None and weighed:
            closeness = np.zeros(len(candidates))
            closeness[weighed] = _closeness(query, focus, [candidates[i] for i in weighed], embedder)
            relevance = (1 - MEANING_SHARE) * relevance + MEANING_SHARE * closeness
        asked = query.text + (f"\n{focus.text}" if focus is not None else "")
        for kind in QUESTION_TYPES:
            if kind.asks.search(asked):
                relevance = relevance + TYPE_BONUS * np.array([bool(kind.answers.search(c.text)) for c in candidates]) * (relevance > 0)
        return [
            float(score) * (1 + 1 / (c.hit.rank + 1)) * min(1.0, len(c.text) / FULL_SENTENCE_CHARS)
            for c, score in zip(candidates, relevance)
        ]

    def _lines(
        self, query: Query, hits: Sequence[Hit], pages: Pages, language: Language, focus: Query | None, embedder: Embedder | None
    ) -> Iterator[str]:
        yield NOTE[language] + "\n"
        gap = "" if language == ZH else " "  # Chinese puts no space before a citation
        section: tuple[str, ...] | None = None
        for c in self.select(query, hits, pages, focus, embedder):
            if c.hit.chunk.section_path != section:
                section = c.hit.chunk.section_path
                title = section[-1] if section else ("（未分节）" if language == ZH else "(no section)")
                yield f"\n**{escape_inline_markdown(title)}**\n"
            yield f"- {_code_span(c.text) if c.code else escape_inline_markdown(c.text)}{gap}[p.{pages.label(c.page)}]\n"

    def _sentences(self, hit: Hit, flat_pages: dict[int, str], named: frozenset[str]) -> list[Quote]:
        """The usable sentences of a hit, each with the physical page it is printed on, read chunk by chunk
        (:attr:`Hit.pieces`: a passage that joins a listing and prose reads each as what it is). A listing, and the
        code lines among a Chinese passage's sentences, count only where the question ``named`` a word they print."""
        out: list[Quote] = []
        start = 0  # the position of the chunk's first sentence or line in the passage
        for chunk in hit.pieces:
            if chunk.kind == ChunkKind.CODE:
                found, read, ended = self._code_lines(hit, chunk, flat_pages, named, start)
            elif chunk.kind == ChunkKind.PROSE:
                found, read, ended = self._prose(hit, chunk, flat_pages, named, start)
            else:  # formulas are never quoted
                found, read, ended = [], 0, False
            out += found
            start += read
            if ended:
                break
        return out

    def _code_lines(
        self, hit: Hit, chunk: Chunk, flat_pages: dict[int, str], named: frozenset[str], start: int
    ) -> tuple[list[Quote], int, bool]:
        """The lines of a listing, numbered from ``start`` (none unless the question names a word it prints), the
        number of lines it holds, and False (a listing never starts the exercises)."""
        lines = [line.strip() for line in chunk.text.splitlines()]
        if not named & set(_NAME.findall(chunk.text.lower())):
            return [], len(lines), False
        quotes = [
            Quote(hit, start + i, line, _page_of(line, hit, flat_pages), code=True)
            for i, line in enumerate(lines)
            if len(line) >= MIN_SENTENCE_CHARS and not line.startswith("#")
        ]
        return quotes, len(lines), False

    def _prose(
        self, hit: Hit, chunk: Chunk, flat_pages: dict[int, str], named: frozenset[str], start: int
    ) -> tuple[list[Quote], int, bool]:
        """The usable sentences of a prose chunk, numbered from ``start``, the number of sentences it holds, and
        whether the section's exercises began in it (nothing after them is quoted)."""
        about_code = bool(named & set(_NAME.findall(chunk.text.lower())))
        out = []
        sentences = split_sentences(chunk.text)
        chinese = language_of(chunk.text) == ZH
        for index, sentence in enumerate(sentences):
            position = start + index
            if sentence in EXERCISES:
                return out, len(sentences), True
            code = chinese and about_code and not has_han(sentence)
            if (
                len(sentence) < MIN_SENTENCE_CHARS
                or _HEADING.match(sentence)
                or sentence in chunk.section_path
                or (chinese and not code and _is_cut_off(sentence, sentences[index + 1 : index + 2]))
            ):
                continue
            sentence = sentence.lstrip("•·‧ ")  # a summary's bullet: the answer makes its own list
            text = sentence if len(sentence) <= MAX_SENTENCE_CHARS else sentence[:MAX_SENTENCE_CHARS] + "…"
            out.append(Quote(hit, position, text, _page_of(sentence, hit, flat_pages), code=code))
        return out, len(sentences), False


def _code_names(query: Query) -> frozenset[str]:
    """The words of ``query`` spelt like identifiers (``y_hat``, ``X.mean``, ``len()``), and in a
    question written in Chinese every Latin-letter word (``forward函数``: a name the book prints), lower case and split
    at their dots: a question that names one asks about the code that prints it."""
    chinese = query.language == ZH
    words = [w for w in _CODE_WORD.findall(query.text) if chinese or _IDENTIFIER.search(w) or f"{w}(" in query.text]
    return frozenset(part for w in words for part in w.lower().split(".") if len(part) > 1)


def _closeness(query: Query, focus: Query | None, candidates: Sequence[Quote], embedder: Embedder) -> np.ndarray:
    """Each candidate's cosine similarity to the question (to the follow-up itself as much as to its rewrite),
    scaled to [0, 1] over the candidates. Sentences are embedded as queries too: e5's form for comparing texts of
    one kind, and the query encoder is the one a chat has loaded (ONNX Runtime, no torch)."""
    questions = [query.text] + ([focus.text] if focus is not None else [])
    asked = embedder.embed(questions, kind=QUERY).mean(axis=0)
    similarity = embedder.embed([c.text for c in candidates], kind=QUERY) @ asked
    low, high = float(similarity.min()), float(similarity.max())
    return (similarity - low) / (high - low) if high > low else np.ones(len(candidates))


def _code_span(line: str) -> str:
    """``line`` as Markdown inline code (fenced with more backticks than it holds in a row)."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", line)), default=0) + 1)
    return f"{fence} {line} {fence}" if "`" in line else f"{fence}{line}{fence}"


def _is_cut_off(sentence: str, following: Sequence[str]) -> bool:
    """In a Chinese passage: ``sentence`` has no Chinese at all (code merged into the passage, a formula, a
    reference), or it stops without end punctuation where such a line follows ("同样，ResNet将函数展开为" before
    "f(x) = x + g(x)."); neither reads as a sentence on its own."""
    if not has_han(sentence):
        return True
    return not sentence.endswith(_SENTENCE_ENDS) and bool(following) and not has_han(following[0])


def _page_of(sentence: str, hit: Hit, flat_pages: dict[int, str]) -> int:
    """The page of ``hit`` whose text (spaces removed, in ``flat_pages``) holds the start of ``sentence``;
    else the hit's first page."""
    chunk = hit.chunk
    if chunk.page_start == chunk.page_end:
        return chunk.page_start
    probe = _SPACE.sub("", sentence)[:16]
    for number in range(chunk.page_start, chunk.page_end + 1):
        if probe in flat_pages.get(number, ""):
            return number
    return chunk.page_start
