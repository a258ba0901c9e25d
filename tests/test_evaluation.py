import json

import pytest

from bookqa.errors import BookQAError
from bookqa.evaluation.metrics import GoldSection, Question, evaluate, load_questions, squash
from bookqa.types import Chunk, Hit


def _hit(rank, section, page, text="正文"):
    return Hit(Chunk(f"b:{rank}", "b", text, page, page, ("s",), section), rank, 1.0 / rank)


def test_load_questions_reads_gold_sections_evidence_and_history(tmp_path):
    path = tmp_path / "q.jsonl"
    rows = [
        {"id": "a", "query": "什么是 DenseNet", "gold": [{"section": "7.7", "title": "t", "pages": [269, 274]}]},
        {"id": "b", "query": "它呢", "history": [{"role": "user", "content": "什么是 DenseNet"}],
         "gold": [{"section": "7.7", "pages": [269, 274]}]},
        {"id": "c", "query": "q", "evidence": ["X = Y"], "pages": [62], "section": "2.1.5"},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", encoding="utf-8")
    a, b, c = load_questions(path)
    assert a.gold == (GoldSection("7.7", 269, 274),)
    assert b.history[0].content == "什么是 DenseNet"
    assert c.gold == (GoldSection("2.1.5", 62, 62),) and c.evidence == ("X = Y",)


def test_malformed_row_names_its_line(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "a", "query": "x"}\n{"id": "b"}\n', encoding="utf-8")
    with pytest.raises(BookQAError, match="Line 2"):
        load_questions(path)


def test_metrics_on_hand_computed_rankings():
    q1 = Question("1", "q1", gold=(GoldSection("7.7", 269, 274),))
    q2 = Question("2", "q2", gold=(GoldSection("2.4", 74, 80),))
    rankings = {
        "1": [_hit(1, "7.7.1", 270), _hit(2, "7.6", 268), _hit(3, "7.7", 269), _hit(4, "1.1", 5), _hit(5, "7.7.4", 273)],
        "2": [_hit(1, "3.1", 90), _hit(2, "3.2", 91), _hit(3, "2.4.1", 75), _hit(4, "2", 74), _hit(5, "2.5", 80)],
    }
    report = evaluate([q1, q2], lambda q: rankings[q.id], k=5)
    assert report.hit_at(1) == 0.5
    assert report.hit_at(5) == 1.0
    assert report.mrr_at_10 == pytest.approx((1 + 1 / 3) / 2)
    assert report.precision_at_k == pytest.approx((3 / 5 + 1 / 5) / 2)  # "2" is the chapter, not inside 2.4
    assert report.evidence_at_k is None


def test_page_judge_counts_shared_pages():
    q = Question("1", "q", gold=(GoldSection("7.7", 269, 274),))
    report = evaluate([q], lambda _: [_hit(1, "7.6.4", 269)], k=5, judge="pages")
    assert report.hit_at(1) == 1.0
    assert evaluate([q], lambda _: [_hit(1, "7.6.4", 269)], k=5).hit_at(1) == 0.0


def test_evidence_is_matched_after_nfkc_without_whitespace():
    q = Question("1", "q", gold=(GoldSection("4.6", 1, 9),), evidence=("mask*X/(1.0-dropout)",))
    found = evaluate([q], lambda _: [_hit(1, "4.6.4", 3, "return mask * X / (1.0 - dropout)")], k=5)
    missed = evaluate([q], lambda _: [_hit(1, "4.6.4", 3, "return X")], k=5)
    assert found.evidence_at_k == 1.0 and missed.evidence_at_k == 0.0
    assert [r.question.id for r in missed.misses] == ["1"]
    assert squash("注意⼒ 机制") == "注意力机制"
