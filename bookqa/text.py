"""Text helpers shared by every stage: normalisation, the one Han test, the one sentence splitter, the language of
a text, a cautious token count, Markdown escaping, a duration in words.

``normalize_chars`` repairs characters and keeps the lines (code, page text); ``normalize_text`` also
drops footnote marks and joins line-broken prose. Both are cheap enough to run on every query.
``escape_inline_markdown`` keeps book text literal inside a Markdown line; ``escape_markdown`` keeps a whole
text literal, line starts and line breaks included.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Iterator, Sequence

from bookqa.types import Language

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
"""The Han ideographs (CJK Unified Ideographs, Extension A, Compatibility Ideographs), as the body of a regex
character class: every test for Chinese text is built on it."""

# Full-width punctuation is the correct form in Chinese text: NFKC would turn "（，）" into "(,)".
_FULLWIDTH_PUNCTUATION = [
    *range(0xFF01, 0xFF10),
    *range(0xFF1A, 0xFF21),
    *range(0xFF3B, 0xFF41),
    *range(0xFF5B, 0xFF66),
]
_PROTECT = {code: 0xF0000 + code for code in _FULLWIDTH_PUNCTUATION}  # private use plane 15

# CJK Radicals Supplement code points that fonts use for whole characters and NFKC leaves alone
# (Kangxi radicals U+2F00-U+2FD5 are mapped by NFKC itself).
_RADICALS = dict(
    zip(
        "⺁⺜⺝⺠⺩⻁⻄⻅⻆⻇⻉⻋⻑⻓⻔⻘⻙⻚⻛⻜⻝⻢⻣⻤⻥⻦⻧⻨⻩⻪⻫⻬⻭⻮⻯⻰⻱⻲",
        "厂日月民王虎西见角角贝车長长门青韦页风飞食马骨鬼鱼鸟卤麦黄黾斉齐歯齿竜龙龜亀",
        strict=True,
    )
)
_AFTER_NFKC = str.maketrans(
    {
        **{0xF0000 + code: chr(code) for code in _FULLWIDTH_PUNCTUATION},
        **_RADICALS,
        **dict.fromkeys(range(0xE000, 0xF900)),  # private use area: pieces of large math brackets
        "\u2010": "-",  # hyphen (NFKC maps U+2011 non-breaking hyphen to it)
        "\u00ad": None,  # soft hyphen
        "\u200b": None,  # zero-width space
        "\u200c": None,
        "\u200d": None,
        "\ufeff": None,
    }
)

_HAN_CHAR = re.compile(f"[{HAN}]")
_WIDE_CHAR = re.compile(f"[\u2e80-\u33ff{HAN}\uff00-\uffef]")
"""A wide character: Han, CJK radicals, punctuation and kana, full-width forms."""
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_SENTENCE_END = re.compile(rf"[。！？；]+[”’」』）)\]]*|[.!?]+[”’\"')\]]*(?=\s|$|[{HAN}])|\n")
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|et al|etc|vs|cf|fig|figs|eq|eqs|no|dr|mr|ms|sec|ch|vol|pp|resp)|\b[A-Z])\.$", re.IGNORECASE)
_LINE_START_MARKUP = re.compile(r"^([ \t]*)([#>+\-*]|\d+[.)])(?=\s|$)", re.MULTILINE)
"""What Markdown reads as a block at a line start: a heading, a quote, a list item."""
_FOOTNOTE_LINE = re.compile(r"^[ \t]*(\d{1,3})[ \t]+(?:https?://|www\.)\S*[ \t]*(?:\n|$)", re.MULTILINE)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_INLINE_MARKUP = re.compile(r"[\\`*\[\]<>$~|]|(?<![^\W_])_|_(?![^\W_])|:(?=[A-Za-z])")
"""What Markdown (with Streamlit's extensions) reads as markup inside a line: emphasis, code, links, HTML, LaTeX,
strikethrough, tables, ``:red[...]``/``:icon:`` directives; an underscore between letters or digits is not."""


def normalize_chars(s: str) -> str:
    """Character repairs only: NFKC (keeping full-width CJK punctuation), radicals, hyphens; invisible
    marks and private-use glyphs dropped.

    Lines and spacing are kept, so this suits code and page text. Idempotent.
    """
    if s.isascii():
        return s
    s = unicodedata.normalize("NFKC", s.translate(_PROTECT))
    return s.translate(_AFTER_NFKC)


def normalize_text(s: str) -> str:
    """Normalise prose for storage and search: ``normalize_chars``, footnotes out, broken lines joined.

    Footnote URL lines ("96 https://discuss.d2l.ai/t/1877") are dropped together with their marks glued
    to a word ("Discussions96" -> "Discussions"). Lines of a paragraph are joined: a word hyphenated at
    a line end is rejoined, Chinese lines meet without a space, others with one. Blank lines separate
    paragraphs; the result has one paragraph per line and no surrounding whitespace.
    """
    s = _drop_footnotes(normalize_chars(s))
    paragraphs = (join_lines(p.split("\n"))[0] for p in _PARAGRAPH_BREAK.split(s))
    return "\n".join(p for p in paragraphs if p)


def escape_inline_markdown(text: str) -> str:
    """``text`` with a backslash before each character that Markdown would read as markup inside a line, so it
    shows as written (the asterisks of "z=u*x*y" stay, instead of an italic "x"); plain prose comes back unchanged."""
    return _INLINE_MARKUP.sub(lambda match: "\\" + match.group(), text)


def join_lines(lines: Sequence[str]) -> tuple[str, list[int]]:
    """Join the printed lines of one paragraph into a single line.

    Whitespace inside each line is collapsed. Returns the text and, for each input line, the offset in
    the text where it begins (a dropped empty line begins where the next one does).
    """
    text = ""
    starts: list[int] = []
    for line in lines:
        line = " ".join(line.split())
        if text and line:
            drop, separator = _joint(text, line)
            text = text[: len(text) - drop] + separator
        starts.append(len(text))
        text += line
    return text, starts


def escape_markdown(text: str) -> str:
    """``text`` shown as written in Markdown: :func:`escape_inline_markdown`, plus what would start a block at a
    line start (``#``, ``>``, ``-``, ``1.``), and line breaks kept as breaks."""
    inline = escape_inline_markdown(text)
    blocks = _LINE_START_MARKUP.sub(lambda m: f"{m.group(1)}{m.group(2)[:-1]}\\{m.group(2)[-1]}", inline)
    return blocks.replace("\n", "  \n")


def is_cjk(char: str) -> bool:
    """True for wide characters: CJK ideographs, radicals, kana and full-width or CJK punctuation."""
    return bool(_WIDE_CHAR.match(char))


def is_han(char: str) -> bool:
    """True for a Han ideograph."""
    return bool(_HAN_CHAR.match(char))


def has_han(text: str) -> bool:
    """Whether ``text`` holds at least one Han ideograph."""
    return _HAN_CHAR.search(text) is not None


def language_of(text: str) -> Language:
    """Chinese when ``text`` has at least as many Han characters as Latin words (so "什么是 DenseNet" is Chinese and
    "What does 卷积 mean?" is English), else English."""
    han = len(_HAN_CHAR.findall(text))
    return Language.ZH if han and han >= len(_LATIN_WORD.findall(text)) else Language.EN


def sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text``, whitespace between sentences left out.

    A sentence ends at Chinese end punctuation (。！？；), at English end punctuation followed by a space, the end or
    a Han character (not after an abbreviation such as "e.g." or an initial, nor closing a piece of three
    characters or fewer), and at a line break; closing quotes and brackets stay with their sentence.
    """
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if text[match.start()] == "." and (
            len(text[start:end].strip()) <= 3 or _ABBREVIATION.search(text[max(start, match.start() - 8) : match.start() + 1])
        ):
            continue
        if text[start:end].strip():
            head = len(text[start:end]) - len(text[start:end].lstrip())
            tail = len(text[start:end].rstrip())
            yield start + head, start + tail
        start = end
    if text[start:].strip():
        head = len(text[start:]) - len(text[start:].lstrip())
        yield start + head, start + len(text[start:].rstrip())


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` (:func:`sentence_spans`), each with its end punctuation."""
    return [text[start:end] for start, end in sentence_spans(text)]


def estimate_tokens(text: str) -> int:
    """A cautious token count for a model whose tokenizer is not at hand: one per wide character, one per three
    other non-space characters (the tokenizers of GLM-4 and its peers give fewer)."""
    wide = len(_WIDE_CHAR.findall(text))
    other = sum(1 for c in text if not c.isspace()) - wide
    return wide + math.ceil(other / 3)


def format_duration(seconds: float) -> str:
    """A duration as a person reads it: "40 s", "12 min", "2 h 5 min"."""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def _joint(left: str, right: str) -> tuple[int, str]:
    """How to join two lines: characters to drop from the end of ``left`` and the separator."""
    last, first = left[-1], right[0]
    if last == "-" and len(left) > 1 and left[-2].isalpha() and not is_cjk(left[-2]):
        return (1, "") if first.islower() else (0, "")
    if is_cjk(last) or is_cjk(first):
        return 0, ""
    return 0, " "


def _drop_footnotes(s: str) -> str:
    numbers = {m.group(1) for m in _FOOTNOTE_LINE.finditer(s)}
    if not numbers:
        return s
    s = _FOOTNOTE_LINE.sub("", s)
    marks = "|".join(sorted(numbers, key=len, reverse=True))
    return re.sub(rf"(?<=[^\W\d_]{{2}})(?:{marks})(?!\d)", "", s)
