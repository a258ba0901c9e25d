"""Adding a PDF from bytes (size check, storage by content hash) and the sample book BookQA ships."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pymupdf
import pytest
from fakes import FakeEmbedder

from bookqa.config import Settings
from bookqa.errors import InvalidPDFError
from bookqa.library.sample import TITLE, add_sample, build_sample_pdf, write_sample_pdf
from bookqa.library.store import Library
from bookqa.library.uploads import UPLOADS, add_pdf_bytes, check_size
from bookqa.reading.ingest import ingest_pdf


def test_the_sample_pdf_is_reproducible_and_well_formed(tmp_path: Path) -> None:
    assert hashlib.sha256(build_sample_pdf()).digest() == hashlib.sha256(build_sample_pdf()).digest()
    path = write_sample_pdf(tmp_path / "sample.pdf")
    with pymupdf.open(path) as doc:
        assert doc.page_count == 8
        assert [doc[i].get_label() for i in range(doc.page_count)] == ["i", "ii", "1", "2", "3", "4", "5", "6"]
        assert [entry[1] for entry in doc.get_toc() if entry[0] == 2][:2] == ["线性回归", "softmax回归"]


def test_the_sample_book_ingests_with_its_outline_code_and_left_out_pages(tmp_path: Path) -> None:
    ingested = ingest_pdf(write_sample_pdf(tmp_path / "sample.pdf"), "s", Settings(data_dir=tmp_path))
    assert ingested.title == TITLE
    assert set(ingested.left_out) == {1, 2, 8}  # title page, contents, bibliography
    assert [s.number for s in ingested.outline if s.level == 2] == ["1.1", "1.2", "2.1", "2.2", "2.3", "3.1", "3.2"]
    assert any(c.kind == "code" and "def train_linear" in c.text for c in ingested.chunks)
    assert any("DenseNet" in c.text and c.section_number == "2.3" for c in ingested.chunks)


def test_check_size_names_the_limit_and_the_setting() -> None:
    check_size(5 * 2**20, max_upload_mb=5)
    with pytest.raises(InvalidPDFError) as caught:
        check_size(5 * 2**20 + 1, max_upload_mb=5)
    assert "5 MB" in caught.value.message and "BOOKQA_MAX_UPLOAD_MB" in caught.value.hint


def test_an_upload_is_stored_by_hash_indexed_and_removed(tmp_path: Path) -> None:
    library = Library(Settings(data_dir=tmp_path))
    seen: list[str] = []
    manifest = add_sample(library, embedder=FakeEmbedder(), progress=lambda stage, done, total: seen.append(stage))
    assert manifest.title == TITLE and manifest.source_name == "bookqa-sample.pdf"
    assert {"parse", "embed"} <= set(seen)
    assert [m.book_id for m in library.manifests()] == [manifest.book_id]
    assert not list((tmp_path / UPLOADS).iterdir())
    again = add_sample(library, embedder=FakeEmbedder())
    assert again == manifest  # the same bytes are the same book


def test_a_bad_upload_leaves_the_library_and_the_uploads_folder_as_they_were(tmp_path: Path) -> None:
    library = Library(Settings(data_dir=tmp_path, max_upload_mb=1))
    with pytest.raises(InvalidPDFError, match="not a PDF") as caught:
        add_pdf_bytes(library, b"just some notes", "../../etc/notes.pdf", embedder=FakeEmbedder())
    assert caught.value.message.startswith("notes.pdf is not a PDF")  # the upload's own name, not where it was kept
    assert UPLOADS not in caught.value.message
    with pytest.raises(InvalidPDFError, match="largest book"):
        add_pdf_bytes(library, b"%PDF-" + bytes(2**20), "big.pdf", embedder=FakeEmbedder())
    assert library.manifests() == []
    assert not list((tmp_path / UPLOADS).iterdir())


def test_an_upload_without_a_title_in_its_metadata_is_named_after_its_title_page(tmp_path: Path, tiny_book_pdf: Path) -> None:
    with pymupdf.open(tiny_book_pdf) as doc:
        doc.set_metadata({"title": "Microsoft Word - 笔记.doc"})
        data = doc.tobytes()
    manifest = add_pdf_bytes(Library(Settings(data_dir=tmp_path)), data, "我的笔记.pdf", embedder=FakeEmbedder())
    assert manifest.title == "小小深度学习" and manifest.source_name == "我的笔记.pdf"  # the title page's largest text
