"""Small hand-made passages with known pages for the answer-side tests (prompts, citations, backends, chat)."""

from __future__ import annotations

from bookqa.index.query import Query
from bookqa.index.tokenizer import Tokenizer
from bookqa.types import Chunk, Hit, Page, Pages, Scores, SignalScore

DENSENET = (
    "稠密连接网络（DenseNet）在某种程度上是ResNet的逻辑扩展。"
    "ResNet将输出与输入相加，而DenseNet在通道维上连结输入与输出。"
    "稠密块由多个卷积块组成，每个卷积块使用相同数量的输出通道。\n"
    "由于每个稠密块都会带来通道数的增加，使用过多则会过于复杂化模型。"
    "过渡层可以用来控制模型复杂度。"
)
RESNET = (
    "残差网络（ResNet）的核心思想是：每个附加层都应该更容易地包含原始函数作为其元素之一。"
    "残差块使得输入可以通过跨层数据线路更快地向前传播。"
)
GRADIENT = (
    "The gradient of a multivariate function is the vector of its partial derivatives. "
    "Gradient descent moves the parameters against the gradient to reduce the loss. "
    "Automatic differentiation computes gradients for us."
)

PAGES = Pages([
    # the printed labels differ from the physical numbers, as in the real book
    Page(269, "251", "稠密连接网络（DenseNet）在某种程度上是ResNet的逻辑扩展。ResNet将输出与输入相加，而DenseNet在通道维上连结输入与输出。稠密块由多个卷积块组成，每个卷积块使用相同数量的输出通道。"),
    Page(270, "252", "由于每个稠密块都会带来通道数的增加，使用过多则会过于复杂化模型。过渡层可以用来控制模型复杂度。"),
    Page(262, "244", RESNET),
    Page(74, "56", GRADIENT),
])
TOKENIZER = Tokenizer()


def query(text: str) -> Query:
    """``text`` read as a question (with a tokenizer that knows no book's titles)."""
    return Query.read(text, TOKENIZER)


class BookText:
    """A book as the follow-up rule reads it (its tokenizer, how often it prints a phrase), made of a few passages
    in the way :class:`bookqa.index.retriever.Retriever` counts them."""

    def __init__(self, chunks: list[Chunk]) -> None:
        from bookqa.index.retriever import flat_phrase

        self.tokenizer = TOKENIZER
        self._flat = flat_phrase
        self._text = "\n".join(flat_phrase(c.text) for c in chunks)
        self._titles = "\n".join(flat_phrase(t) for t in dict.fromkeys(t for c in chunks for t in c.section_path))
        self.chunks = chunks

    def phrase_use(self, phrase: str) -> tuple[int, int]:
        key = self._flat(phrase)
        return self._text.count(key), self._titles.count(key)


def chunk(cid: str, text: str, first: int, last: int, path: tuple[str, ...], number: str | None = None, kind: str = "prose") -> Chunk:
    return Chunk(id=f"book:{cid}", book_id="book", text=text, page_start=first, page_end=last, section_path=path, section_number=number, kind=kind)


DENSENET_CHUNK = chunk("00010", DENSENET, 269, 270, ("7 现代卷积神经网络", "7.7 稠密连接网络（DenseNet）"), "7.7")
RESNET_CHUNK = chunk("00009", RESNET, 262, 262, ("7 现代卷积神经网络", "7.6 残差网络（ResNet）"), "7.6")
GRADIENT_CHUNK = chunk("00002", GRADIENT, 74, 74, ("2 Preliminaries", "2.4 Calculus"), "2.4")
DENSENET_MODEL_CHUNK = chunk(
    "00013", "DenseNet模型首先使用同ResNet一样的单卷积层和最大汇聚层。", 272, 272,
    ("7 现代卷积神经网络", "7.7 稠密连接网络（DenseNet）", "7.7.4 DenseNet模型"), "7.7.4",
)
BATCH_NORM_CHUNK = chunk(
    "00020", "Batch normalization standardizes the inputs of a layer over each minibatch.", 300, 300,
    ("8 Modern Networks", "8.5 Batch Normalization"), "8.5",
)


def hit(c: Chunk, rank: int, dense: float | None = None, keyword: float | None = None, fused: float | None = None) -> Hit:
    """A hit at ``rank``, found by the signals given a score (each at that rank)."""
    scores = Scores(
        dense=SignalScore(dense, rank) if dense is not None else None,
        keyword=SignalScore(keyword, rank) if keyword is not None else None,
        fused=fused,
    )
    return Hit(chunk=c, rank=rank, score=fused if fused is not None else 1.0 / rank, scores=scores)


def densenet_hits() -> list[Hit]:
    """The hits a question about DenseNet retrieves: DenseNet first, then ResNet."""
    return [
        hit(DENSENET_CHUNK, 1, dense=0.91, keyword=7.5, fused=0.033),
        hit(RESNET_CHUNK, 2, dense=0.86, keyword=3.1, fused=0.032),
    ]
