"""The terms a section defines, each with its defining sentence and the page it is printed on.

A term is found where the book marks it as one:
- a bilingual pair, ``稠密块（dense block）`` (read as the retriever's glossary reads it);
- a naming phrase: ``称为/叫做/被称为 X``, ``X is called / known as / referred to as Y``, ``we call this Y``;
- a bold run in the running text (most English textbooks set a term in bold where they define it); a run that
  labels a list entry ("Write self-checks: …") only when the book uses it again;
- an entry ``term: definition`` of a glossary (a part headed Glossary / 术语表), unless the definition uses the term.
Only the section's body and glossary count (not its summary, exercises, headings or captions); a term keeps the first
sentence that defines it. A term has a shape check (two to twelve Han characters, or one to five Latin words that are
not a textbook label such as "Exercise" or "Note"), and a kind: Chinese, words, or code.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Collection, Iterable, Iterator, Mapping, Sequence

from bookqa.index.glossary import bilingual_pairs
from bookqa.index.tokenizer import STOPWORDS
from bookqa.study.emphasis import BoldRun
from bookqa.study.keys import fold, squeeze
from bookqa.study.material import Material, Part, Sentence
from bookqa.text import HAN, has_han
from bookqa.types import Choice

Segment = Callable[[str], Iterable[str]]
"""Cuts a run of Han characters into words (the book tokenizer's ``words``)."""


class Vocabulary:
    """What a book says, for reading its terms: how often a string occurs in its ``text`` (its pages; compared
    without whitespace, so a word broken over two lines counts), and the terms its titles name (``titles``, lower
    case)."""

    def __init__(self, text: str, titles: Collection[str] = ()) -> None:
        self.text = squeeze(text)
        self.titles = frozenset(titles)
        self._counts: dict[str, int] = {}

    def count(self, piece: str) -> int:
        """How many times ``piece`` occurs in the book's text."""
        if piece not in self._counts:
            self._counts[piece] = self.text.count(squeeze(piece))
        return self._counts[piece]


class Source(Choice):
    """How the book marks a term."""

    PAIR = "pair"
    NAMED = "named"
    BOLD = "bold"
    GLOSSARY = "glossary"


class TermKind(Choice):
    """What a term looks like, so that a multiple-choice item's options are alike: Chinese, words, or code."""

    HAN = "han"
    WORDS = "words"
    CODE = "code"


@dataclass(frozen=True)
class Term:
    """A term a section defines.

    ``term``: as printed. ``sentence``: the sentence that defines it. ``page``: the physical page where the term is
    printed in that sentence. ``span``: (start, end) in the sentence text of what a cloze item blanks (the term, and
    the English name a pair gives it). ``english``: that English name, or "". ``source``: how the book marks it.
    """

    term: str
    sentence: Sentence
    page: int
    span: tuple[int, int]
    source: Source
    english: str = ""

    @property
    def kind(self) -> TermKind:
        return term_kind(self.term)

    @property
    def key(self) -> str:
        """The term folded for comparison (NFKC, case folded, spaces collapsed)."""
        return fold(self.term)


MAX_HAN = 12
MAX_WORDS = 5
LABELS = frozenset(
    "exercise exercises figure fig table note notes hint hints example examples warning warnings tip tips chapter"
    " section solution solutions answer answers definition theorem proof lemma corollary remark step caution"
    " important summary glossary".split()
)
"""Words textbooks set in bold as labels of a paragraph, not as terms."""

_LATIN_TERM = re.compile(r"[A-Za-z_][\w'’\-.()]*(?: [A-Za-z0-9_][\w'’\-.()]*){0,4}")
_HAN_TERM = re.compile(rf"[{HAN}A-Za-z0-9\-]+")
_CODE = re.compile(r"_|\(\)|\.\w|^[a-z]+[A-Z]")
_GLOSSARY_ENTRY = re.compile(r"^(?P<term>[^:：]{1,48}?)\s*[:：]\s*\S")
_WORD = re.compile(r"[A-Za-z][\w'’\-]*")
_NAMED_EN = (
    re.compile(
        r"\b(?:is|are|was|were|be|been|being)\s+(?:also\s+|often\s+|usually\s+|sometimes\s+|commonly\s+)?"
        r"(?:called|known\s+as|referred\s+to\s+as|termed|named)\s+(?P<article>(?:an?|the)\s+)?(?P<term>[A-Za-z][^,.;:!?()]*)"
    ),
    re.compile(r"\b[Ww]e\s+call\s+(?:this|it|these|them|that|such\s+\w+)\s+(?P<article>(?:an?|the)\s+)?(?P<term>[A-Za-z][^,.;:!?()]*)"),
)
_NAMED_ZH = re.compile(
    rf"(?:也被称为|被称为|称之为|也称为|又称为|也叫做|称为|又称|叫做|叫作|简称)(?P<term>[{HAN}A-Za-z0-9\-]{{2,}})"
)
_HAN_SPLIT = re.compile("[或和与及]")
_HAN_NOT_TERM = re.compile("[的了是在我它他这那]|^[一该此其每各]")
_ADVERB = re.compile(r"ly$")
_SENTENCE_END = re.compile(r"(?<=[.!?;。！？；])")
_HYPHENATED = re.compile(rf"[{HAN}]{{1,4}}[-－]$")
HAN_PER_WORD = 3
"""A pair's Chinese term may be up to this many characters per word of its English name (at least the glossary's six)."""
_LEADING_TAGS = frozenset("pcrmq")
_RARE_LEADING_TAGS = frozenset("df")
"""Adverbs and place words lead a term the book uses again ("互相关运算", "前向传播"), not one it uses just once
("先|介绍…")."""
_INNER_TAGS = frozenset("pu")
CLAUSE_WORDS = frozenset("because since while but unless until although though whereas whose after before".split())
"""English words that open a clause: a name given by "is called X" ends before them ("a filter because it…")."""
CONNECTORS = frozenset("比如 例如 譬如 即 就是 所谓 尽管 且 并 而 及 以及 或者 还有".split())
"""Connectors jieba does not tag as such ("比如|文本标注（text tagging）"): never part of the term after them."""
INTRODUCERS = frozenset(
    "名为 表示 介绍 引入 定义 代替 包含 使用 采用 利用 通过 有 是 为 需要 可以 能 能够 应该 应当 必须 可能 会 要 让 使".split()
)
"""Verbs that introduce a name ("一种名为梯度下降（gradient descent）的方法") and modal verbs: not part of a term that
the book does not use again."""


def term_kind(term: str) -> TermKind:
    """Chinese when the term has a Han character, code when it looks like an identifier or a call, else words."""
    if has_han(term):
        return TermKind.HAN
    return TermKind.CODE if _CODE.search(term) else TermKind.WORDS


def term_shape(term: str) -> bool:
    """Whether ``term`` looks like a term: 2-12 Han characters (letters and digits may join them), or 1-5 Latin
    words with at least three letters in all (or a two-letter acronym), not starting with a label or a stop word nor
    ending with a stop word; never a number or a symbol."""
    if has_han(term):
        return _HAN_TERM.fullmatch(term) is not None and 2 <= len(term) <= MAX_HAN and not term.isdigit()
    if not _LATIN_TERM.fullmatch(term):
        return False
    words = term.lower().split()
    letters = sum(char.isalpha() for char in term)
    if letters < 3 and not (letters == 2 and term.isupper()):
        return False  # a symbol set in bold ("x", "Xw"), not a term
    return len(words) <= MAX_WORDS and words[0] not in LABELS and words[0] not in STOPWORDS and (
        words[-1] not in STOPWORDS
    )


def find_terms(
    material: Material, segment: Segment, bold: Mapping[int, Sequence[BoldRun]] = {}, book: Vocabulary | None = None
) -> list[Term]:
    """The terms ``material`` defines, in reading order, each once (by :func:`fold`), with the first sentence that
    defines it.

    ``segment``: cuts Han runs into words (for pairs). ``bold``: per physical page, the bold runs of its running
    text (:func:`bookqa.study.emphasis.bold_runs`); none for a book without them. ``book``: the book's words, for
    reading pairs (without it, the section's own). A term that is the English name a
    pair gives another term ("DenseNet" of 稠密连接网络) is that term; an English name the section pairs with several
    Chinese terms keeps the one it is paired with most often (a stray pairing is a slip of the book).
    """
    sentences = [s for s in material.sentences if s.part in (Part.BODY, Part.GLOSSARY)]
    book = book or Vocabulary("".join(page.text for page in material.text.pages))
    found: list[tuple[int, int, Term]] = []
    for position, sentence in enumerate(sentences):
        for start, term in _marked(sentence, segment, book):
            found.append((position, start, term))
    for position, start, term in _bold_terms(sentences, bold):
        if not _run_in_label(term) or book.count(term.term) > 1:
            found.append((position, start, term))
    pairings = Counter((fold(term.english), term.key) for _, _, term in found if term.source == Source.PAIR)
    usual = {name: count for (name, _), count in sorted(pairings.items(), key=lambda entry: entry[1])}
    found = [entry for entry in found if entry[2].source != Source.PAIR or pairings[(fold(entry[2].english), entry[2].key)] == usual[fold(entry[2].english)]]
    seen: set[str] = set()
    english = {fold(term.english) for _, _, term in found if term.english}
    terms = []
    for _, _, term in sorted(found, key=lambda entry: (entry[0], entry[1])):
        if term.key in seen or not term_shape(term.term) or (not term.english and term.key in english):
            continue
        seen.add(term.key)
        terms.append(_placed(term, material))
    return terms


def _run_in_label(term: Term) -> bool:
    """Whether a bold term opens its sentence before a colon ("Write self-checks: Sometimes you can…"): a run-in
    label of a list, which is a term only when the book uses it again (a tip is said once, a term recurs)."""
    return term.span[0] == 0 and term.sentence.text[term.span[1] :].lstrip().startswith((":", "："))


def _placed(term: Term, material: Material) -> Term:
    page = material.page_of(term.term, term.sentence)
    return term if page == term.page else Term(term.term, term.sentence, page, term.span, term.source, term.english)


def _marked(sentence: Sentence, segment: Segment, book: Vocabulary) -> Iterator[tuple[int, Term]]:
    """The terms marked in the text of ``sentence``: a glossary entry's term, pairs, naming phrases."""
    text = sentence.text
    if sentence.part == Part.GLOSSARY:
        entry = _GLOSSARY_ENTRY.match(text)
        term = entry.group("term").strip() if entry else ""
        if term and fold(term) not in fold(text[entry.end("term") :]):  # "vorpal: … something that is vorpal" is circular
            yield 0, Term(term, sentence, sentence.page, (0, len(term)), Source.GLOSSARY)
        return
    for pair in bilingual_pairs(text, segment, chars_per_word=HAN_PER_WORD):
        if sum(char.isalpha() for char in pair.english) < 2:
            continue  # a variable in parentheses, "（L）"
        term = _trim_han(pair.term, pair.english, segment, book)
        start = pair.start + len(pair.term) - len(term)
        joined = _HYPHENATED.search(text[:start])  # "键－|值存储（key-value store）": the term goes on before a hyphen
        if joined and start == pair.start and len(term) + len(joined.group()) <= MAX_HAN:
            term, start = joined.group() + term, joined.start()
        yield start, Term(term, sentence, sentence.page, (start, _balanced(text, pair.start, pair.end)), Source.PAIR, pair.english)
    for match in _NAMED_ZH.finditer(text):
        term = _HAN_SPLIT.split(match.group("term"))[0]
        if 2 <= len(term) <= MAX_HAN and not _HAN_NOT_TERM.search(term):
            start = match.start("term")
            yield start, Term(term, sentence, sentence.page, (start, start + len(term)), Source.NAMED)
    for pattern in _NAMED_EN:
        for match in pattern.finditer(text):
            term = _english_term(match.group("term"), article=bool(match.group("article")), rest=text[match.end() :])
            if term:
                start = match.start("term")
                yield start, Term(term, sentence, sentence.page, (start, start + len(term)), Source.NAMED)


def _trim_han(term: str, english: str, segment: Segment, book: Vocabulary) -> str:
    """``term`` without the words a pair's backward reading took from the sentence before it.

    Always: what precedes a preposition or particle inside it ("分布于|特征图（fmap）"), and leading prepositions,
    conjunctions, pronouns, numerals and measure words (jieba's part-of-speech tags) and set phrases of four
    characters or more ("值得一提的是"), and the connectors :data:`CONNECTORS`. A leading verb when the book's titles
    name the rest and the term has more words than its English name has content words (a one-character word joins
    the word before it: "验证数据集（validation dataset）" has two; "生成|锚框（anchors）"). Then, unless the book names the whole in a title or uses it again (a term
    recurs; "拉伸参数（scale）" stays whole): leading adverbs, place words, verbs that introduce a name and modal
    verbs (:data:`INTRODUCERS`: "名为|梯度下降", "先介绍|候选记忆元"), and, when the term has more words than its English name has content words,
    what precedes the last verb inside it when it has two words too many ("核回归具有|一致性（consistency）"), else a leading verb whose
    rest recurs ("相当于|比特（bit）"). At least two characters are left."""
    import jieba.posseg

    def tags(text: str) -> list[tuple[str, str]]:
        return [(w.word, w.flag) for w in jieba.posseg.lcut(text, HMM=False)]

    tagged = tags(term)
    inner = [
        i for i, (word, flag) in enumerate(tagged)
        if flag[:1] in _INNER_TAGS and len("".join(w for w, _ in tagged[:i])) >= 2 and len(term) - len("".join(w for w, _ in tagged[: i + 1])) >= 2
    ]  # "分布于|特征图", not "前向传播" (前|向 is no phrase before a preposition)
    if inner:
        term = term[len("".join(word for word, _ in tagged[: inner[-1] + 1])) :]
        tagged = tagged[inner[-1] + 1 :]
    while len(tagged) > 1 and _leads(*tagged[0]) and len(term) - len(tagged[0][0]) >= 2:
        term = term[len(tagged[0][0]) :]
        tagged = tagged[1:]
    words = max(1, len([w for w in re.split(r"[\s\-]+", english.lower()) if w and w not in STOPWORDS]))
    units = _units(term, segment)
    verbs = [i for i, unit in enumerate(units[:-1]) if len(unit) >= 2 and tags(unit)[0][1] == "v" and len("".join(units[i + 1 :])) >= 2]
    rest = "".join(units[1:])
    if verbs and verbs[0] == 0 and len(units) > words and rest.lower() in book.titles and term.lower() not in book.titles:
        return rest  # "生成|锚框（anchors）": the book's titles name the rest
    if term.lower() in book.titles or book.count(term) > 1:
        return term
    while len(tagged) > 1 and (tagged[0][0] in INTRODUCERS or tagged[0][1][:1] in _RARE_LEADING_TAGS) and len(term) - len(tagged[0][0]) >= 2:
        term = term[len(tagged[0][0]) :]
        tagged = tagged[1:]
    units = _units(term, segment)
    verbs = [i for i, unit in enumerate(units[:-1]) if len(unit) >= 2 and tags(unit)[0][1] == "v" and len("".join(units[i + 1 :])) >= 2]
    if verbs and len(units) > words + 1:
        return "".join(units[verbs[-1] + 1 :])
    rest = "".join(units[1:])
    if verbs and verbs[0] == 0 and len(units) > words and book.count(rest) > 1:
        return rest
    return term


def _balanced(text: str, start: int, end: int) -> int:
    """``end`` moved past the closing parentheses that ``text[start:end]`` still lacks: the English name of
    "训练数据集（training dataset，或称为训练集（training set））" ends after both."""
    while end < len(text) and text[end] in "）)" and text.count("（", start, end) + text.count("(", start, end) > (
        text.count("）", start, end) + text.count(")", start, end)
    ):
        end += 1
    return end


def _units(term: str, segment: Segment) -> list[str]:
    """The words of ``term`` as the book's tokenizer cuts it, a one-character word joined to the word before it."""
    units: list[str] = []
    for word in segment(term):
        if len(word) == 1 and units:
            units[-1] += word
        else:
            units.append(word)
    return units


def _leads(word: str, tag: str) -> bool:
    """Whether a word at the start of a pair's Chinese term always belongs to the sentence before it."""
    if tag[:1] == "q" and len(word) > 1:
        return False  # a measure word after a numeral has one character ("个", "种"); "平方|误差" is a modifier
    return tag[:1] in _LEADING_TAGS or word in CONNECTORS or (tag[:1] in "li" and len(word) >= 4)


def _english_term(phrase: str, article: bool, rest: str) -> str:
    """The term a naming phrase gives: its words up to the first stop word, at most MAX_WORDS. Without an article
    ("is called debugging."), one that ends the clause and is not an adverb ("is called twice")."""
    words = []
    for word in _WORD.findall(phrase)[:MAX_WORDS]:
        if word.lower() in STOPWORDS or word.lower() in CLAUSE_WORDS:
            break
        words.append(word)
    if not words:
        return ""
    term = " ".join(words)
    if not phrase.startswith(term):
        return ""
    if not article:
        ends_clause = phrase.strip() == term and (not rest or rest[0] in ".,;:!?)")
        if not ends_clause or _ADVERB.search(words[-1]):
            return ""
    return term


def _bold_terms(sentences: Sequence[Sentence], bold: Mapping[int, Sequence[BoldRun]]) -> Iterator[tuple[int, int, Term]]:
    """Each bold run of a page with the sentence it is printed in: of the sentences on that page (or begun on the
    page before) that hold it as a whole word (a plural ending may follow), the first that also holds the words
    printed next to it on its line; none when no sentence holds them (the run is printed in another section that
    shares the page), the first when its line gives no neighbours."""
    for page, runs in bold.items():
        near = [(position, s) for position, s in enumerate(sentences) if s.page in (page, page - 1)]
        for run in runs:
            if has_han(run.text):
                pattern = re.compile(re.escape(run.text))
            else:
                pattern = re.compile(rf"(?<![\w-]){re.escape(run.text)}(?=(?:e?s)?(?![\w-]))", re.IGNORECASE)
            holding = [(position, s, match) for position, s in near if (match := pattern.search(s.text))]
            if not holding:
                continue
            context = _neighbours(run)
            printed_here = [h for h in holding if context and context in squeeze(h[1].text)]
            if context and not printed_here:
                continue  # the run is printed in a line of another section on a shared page (its glossary's "value")
            position, sentence, match = (printed_here or holding)[0]
            yield position, match.start(), Term(match.group(), sentence, sentence.page, (match.start(), match.end()), Source.BOLD)


def _neighbours(run: BoldRun) -> str:
    """The run with what is printed right after it on its line (or right before, at a line end), within its
    sentence, squeezed."""
    line, key = squeeze(run.line), squeeze(run.text)
    at = line.lower().find(key.lower())
    if at < 0:
        return ""
    after = _SENTENCE_END.split(line[at + len(key) : at + len(key) + 10])[0]
    before = _SENTENCE_END.split(line[max(0, at - 10) : at])[-1]
    return key + after if len(after) >= 4 else before + key
