"""Answer-side benchmark on a real book with the extractive backend (no model): do the answers cite a gold
page, does the follow-up pair retrieve its section after rewriting, are questions the book does not cover
flagged (and the ones it covers not), and what does the answer path cost around the model.

    .venv/bin/python -m bench.bench_answers [--pdf ../shared/books/d2l-zh.pdf] [--questions FILE ...] [--repeat 5]

The book is opened from the library (indexed first when it is not there). For questions with evidence strings,
``quotes_evidence`` counts the answers whose own text holds the evidence (stricter than citing its page).
Overhead is measured per question over ``--repeat`` runs after a warm-up: retrieval itself, the rest of the
answer path (rewrite, confidence, extractive answer, citation check), the extractive answer alone, and what a
language model's answer adds around the model (building the grounded prompt, checking the citations of a
model-like reply). The verdict of the low-confidence rule on every question, and on more questions in the book
and off it, is listed to calibrate ``BOOKQA_LOW_CONFIDENCE_THRESHOLD``. Figures are printed and written to
bench/results/answers.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any, Sequence

from bookqa.answering.backends import ExtractiveBackend
from bookqa.answering.citations import check_citations
from bookqa.answering.prompts import build_prompt
from bookqa.answering.turn import ask
from bookqa.config import Settings
from bookqa.evaluation.metrics import Question, load_questions, squash
from bookqa.library.store import Library
from bookqa.text import estimate_tokens
from bookqa.types import Hit

SHARED = Path(__file__).resolve().parents[2] / "shared"
DEFAULT_PDF = SHARED / "books" / "d2l-zh.pdf"
DEFAULT_QUESTIONS = [SHARED / "eval" / "dev_questions.jsonl", SHARED / "eval" / "dev_evidence.jsonl"]
RESULTS = Path(__file__).resolve().parent / "results"

OFF_BOOK = [
    "今天北京的天气怎么样？",
    "红烧肉怎么做才好吃？",
    "怎样申请美国大学的研究生？",
    "如何用 Excel 画图？",
    "什么是区块链？",
    "XGBoost 的原理是什么？",
    "扩散模型是如何生成图像的？",
    "强化学习中的 PPO 算法怎么理解？",
    "LoRA 微调大模型的原理是什么？",
    "如何训练一个 GAN 生成对抗网络？",
    "什么是支持向量机 SVM？",
    "K-means 聚类怎么做？",
    "贝叶斯网络是什么？",
    "决策树如何剪枝？",
    "What is the capital of France?",
    "What is a random forest?",
    "支持向量机的核技巧是什么",
    "随机森林和梯度提升树有什么区别",
    "K均值聚类算法的步骤",
    "什么是主成分分析PCA",
    "隐马尔可夫模型的维特比算法怎么算",
    "条件随机场CRF在序列标注里怎么用",
    "图神经网络是怎么做消息传递的",
    "变分自编码器的重参数化技巧是什么",
    "联邦学习如何保护用户隐私",
    "知识蒸馏中的温度参数有什么作用",
    "强化学习里的Q学习和策略梯度有什么区别",
    "大语言模型的RLHF是怎么训练的",
    "提示工程有哪些技巧",
    "怎么做番茄炒蛋",
    "明天上海会下雨吗",
    "如何办理护照",
    "推荐几部好看的电影",
    "怎样提高睡眠质量",
    "股票市场为什么会下跌",
    "How do I fix a flat bicycle tire?",
    "What is the best way to learn French?",
    "How does a support vector machine use the kernel trick?",
    "What is the Viterbi algorithm in hidden Markov models?",
]
"""Questions d2l-zh does not cover: everyday topics and machine-learning topics the book never treats."""

IN_BOOK = [
    "什么是卷积神经网络",
    "批量规范化的作用是什么",
    "为什么需要激活函数",
    "暂退法（dropout）是什么",
    "什么是循环神经网络",
    "Adam优化算法",
    "编码器-解码器架构",
    "什么是注意力汇聚",
    "过拟合怎么办",
    "BERT 和 GPT 有什么区别？",
]
"""More questions the book answers (no gold pages), for calibrating the low-confidence rule beside OFF_BOOK."""

REPLY = "DenseNet 在通道维上连结输入与输出 [p.251]，而 ResNet 将它们相加 [p.244]；过渡层控制模型复杂度 [p.252]。" * 4
"""A model-like reply (about 200 characters, 12 citations) for timing the citation check."""


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def quotes_evidence(text: str, question: Question) -> bool | None:
    """For a question with evidence strings: whether the answer's text holds one (compared as evaluation does,
    the answer's Markdown escapes and inline-code marks removed); None without evidence."""
    if not question.evidence:
        return None
    flat = squash(text.replace("\\", "").replace("`", ""))
    return any(squash(e) in flat for e in question.evidence)


def gold_pages(question: Question) -> set[int]:
    """Every physical page of the question's gold sections."""
    return {p for g in question.gold for p in range(g.first_page, g.last_page + 1)}


def pages_of(hits: Sequence[Hit]) -> set[int]:
    return {p for h in hits for p in range(h.chunk.page_start, h.chunk.page_end + 1)}


def run(pdf: Path, question_files: Sequence[Path], repeat: int) -> dict[str, Any]:
    settings = Settings.from_env()
    book = Library(settings).open(pdf)
    backend = ExtractiveBackend()
    questions = [q for path in question_files for q in load_questions(path)]

    def turn(query: str, history: Sequence[Any] = ()) -> Any:
        return ask(query, retriever=book.retriever, backend=backend, settings=settings, history=history, pages=book.pages,
                   calibration=book.calibration)

    turn(questions[0].query).result()  # warm-up: models, jieba, caches
    rows, retrieval_ms, around_ms, extractive_ms, prompt_ms = [], [], [], [], []
    for question in questions:
        for _ in range(repeat):
            t = turn(question.query, question.history)
            answer = t.result()
            timings = answer.timings
            retrieval_ms.append(1000 * timings["retrieval"])
            around_ms.append(1000 * (timings["total"] - timings["retrieval"]))
            extractive_ms.append(1000 * (timings["total"] - timings["retrieval"] - timings["rewrite"]))
            started = time.perf_counter()
            prompt = build_prompt(t.query, t.hits, question.history, pages=book.pages, budget=settings.context_tokens, count_tokens=estimate_tokens)
            check_citations(REPLY, t.hits, book.pages)
            prompt_ms.append(1000 * (time.perf_counter() - started))
        gold = gold_pages(question)
        rows.append(
            {
                "id": question.id,
                "query": question.query,
                "rewritten_query": answer.rewritten_query,
                "cites_gold": bool(gold & set(answer.citations)),
                "quotes_evidence": quotes_evidence(answer.text, question),
                "retrieves_gold": bool(gold & pages_of(answer.hits)),
                "citations": list(answer.citations),
                "low_confidence": answer.low_confidence,
                "top_dense": t.confidence.top_dense,
                "coverage": t.confidence.coverage,
                "prompt_blocks": len(prompt.hits),
            }
        )
    calibration = []
    for query, in_book in [(q, True) for q in IN_BOOK] + [(q, False) for q in OFF_BOOK]:
        t = turn(query)
        verdict = t.confidence
        calibration.append({"query": query, "in_book": in_book, "low_confidence": verdict.low, "top_dense": verdict.top_dense, "reason": verdict.reason})
        t.close()
    off = [c for c in calibration if not c["in_book"]]

    follow_ups = [r for r, q in zip(rows, questions) if q.history]
    summary = {
        "book": pdf.name,
        "questions": len(rows),
        "cites_gold_share": round(statistics.mean(r["cites_gold"] for r in rows), 3),
        "retrieves_gold_share": round(statistics.mean(r["retrieves_gold"] for r in rows), 3),
        "quotes_evidence": f"{sum(bool(r['quotes_evidence']) for r in rows)}/{sum(r['quotes_evidence'] is not None for r in rows)}",
        "follow_ups": [{k: r[k] for k in ("id", "query", "rewritten_query", "retrieves_gold", "cites_gold")} for r in follow_ups],
        "flagged_in_book": f"{sum(r['low_confidence'] for r in rows) + sum(c['low_confidence'] for c in calibration if c['in_book'])}"
        f"/{len(rows) + len(IN_BOOK)}",
        "flagged_off_book": f"{sum(o['low_confidence'] for o in off)}/{len(off)}",
        "book_calibration": book.manifest.calibration,
        "overhead_ms": {
            name: {"p50": round(statistics.median(values), 1), "p95": round(percentile(values, 0.95), 1)}
            for name, values in (
                ("retrieval", retrieval_ms),
                ("answer_path_around_retrieval", around_ms),
                ("extractive_answer", extractive_ms),
                ("prompt_and_citation_check", prompt_ms),
            )
        },
        "repeat": repeat,
        "rows": rows,
        "calibration": calibration,
    }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pdf", type=Path, default=DEFAULT_PDF)
    parser.add_argument("--questions", type=Path, nargs="+", default=DEFAULT_QUESTIONS)
    parser.add_argument("--repeat", type=int, default=5, help="runs per question for the overhead figures (default: %(default)s)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    summary = run(args.pdf, args.questions, args.repeat)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "answers.json"
    out.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    short = {k: v for k, v in summary.items() if k not in ("rows", "calibration")}
    print(json.dumps(short, indent=2, ensure_ascii=False))
    print("\nid    gold? dense  cover low  citations / rewritten query")
    for r in summary["rows"]:
        dense = "-" if r["top_dense"] is None else f"{r['top_dense']:.3f}"
        cover = "-" if r["coverage"] is None else f"{r['coverage']:.2f}"
        print(f"{r['id']:<5} {'yes' if r['cites_gold'] else 'NO ':<5} {dense:<6} {cover:<5} {'LOW' if r['low_confidence'] else 'ok ':<4} {r['citations']} {r['rewritten_query'] or ''}")
    print("\nmore questions, in the book and not:")
    for c in summary["calibration"]:
        print(f"  {'IN ' if c['in_book'] else 'OFF'} {'LOW' if c['low_confidence'] else 'ok '}  {c['query']}  ({c['reason']})")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
