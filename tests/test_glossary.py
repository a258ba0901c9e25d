"""The book's bilingual glossary: pairs collected from prose, matched by English stems."""

import jieba

from bookqa.index.glossary import Glossary, english_stems
from bookqa.types import Chunk, ChunkKind

_JIEBA = jieba.Tokenizer()


def _chunk(text, kind="prose"):
    return Chunk("b:00000", "b", text, 1, 1, ("1 引言",), "1", kind)


def _glossary(*texts, kind="prose"):
    return Glossary.from_chunks([_chunk(t, kind) for t in texts], lambda s: _JIEBA.cut(s, HMM=False))


def test_stems_match_inflections():
    assert english_stems("Deferred initialization") == english_stems("defers initialization")
    assert english_stems("multi-head attention") == ["multi", "head", "attent"]


def test_terms_are_read_back_from_the_parenthesis_to_a_boundary_word():
    glossary = _glossary(
        "这里的诀窍是框架的延后初始化（defers initialization），即直到数据第一次通过模型传递时。",
        "鞍点（saddle point）是指函数的所有梯度都消失但既不是全局最小值也不是局部最小值的任何位置。",
        "我们称之为反向传播（backpropagation）。",
    )
    assert glossary.terms_for("When does deferred initialization happen?") == ["延后初始化"]
    assert glossary.terms_for("Why are saddle points common?") == ["鞍点"]
    assert glossary.terms_for("how does backpropagation work") == ["反向传播"]
    assert glossary.terms_for("什么是鞍点") == []


def test_short_single_words_code_and_alternatives():
    glossary = _glossary("训练的模型（model）很大。", "一个批量（batch size，或者mini-batch）。")
    assert glossary.terms_for("the model") == []  # a short single word is too generic to keep
    assert glossary.terms_for("what batch size to use") == ["批量"]  # the name before the alternatives
    assert len(_glossary("x = 延后初始化（defers initialization）", kind=ChunkKind.CODE)) == 0


def test_longer_names_come_first():
    glossary = _glossary("使用多头注意力（multi-head attention）。", "使用注意力（attention mechanism）。", "自注意力（self attention）。")
    assert glossary.terms_for("compare multi-head attention and self attention") == ["多头注意力", "自注意力"]
