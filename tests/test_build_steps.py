"""The build in two steps, the vector cache, one build per book, and a book searched before its vectors are done:
real PyMuPDF, FAISS and bm25s on the tiny book, the fake embedder, real child processes killed with SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from fakes import FAKE_ENVIRONMENT, FakeEmbedder

from bookqa.config import Settings
from bookqa.files import FileLock
from bookqa.index.vector_cache import GROUP_BATCHES, VectorCache, cache_name, encode_cached, text_key
from bookqa.library.builds import VectorBuilds
from bookqa.library.store import Library
from bookqa.types import RetrievalMode

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


@pytest.fixture
def settings(tmp_path):
    # batch size 4: a shard per 4 passages (GROUP_BATCHES batches), so the tiny book's 8 passages take two shards
    return Settings(data_dir=tmp_path / "data", embedding_model="fake-256", embedding_factory="fakes:fake_embedder",
                    embedding_batch_size=4 // GROUP_BATCHES)


def shards(settings, embedder=None):
    return sorted((settings.vector_cache_dir / cache_name(embedder or FakeEmbedder())).glob("*.npy"))


# --- the vector cache


def test_the_cache_returns_what_was_written_and_keeps_models_and_backends_apart(tmp_path):
    fake = FakeEmbedder(16)
    cache = VectorCache.of(tmp_path, fake)
    vectors = fake.embed(["a", "b"])
    cache.add([text_key("a"), text_key("b")], vectors)
    again, found = VectorCache.of(tmp_path, fake).lookup([text_key("b"), text_key("c"), text_key("a")])
    assert found.tolist() == [True, False, True]
    np.testing.assert_array_equal(again[[0, 2]], vectors[[1, 0]])
    other = FakeEmbedder(16)
    other.backend = "onnx-int8"
    assert cache_name(other) != cache_name(fake) and not VectorCache.of(tmp_path, other).lookup([text_key("a")])[1].any()
    assert text_key("a") != text_key("a", "query")


def test_a_damaged_shard_is_skipped(tmp_path, caplog):
    fake = FakeEmbedder(16)
    cache = VectorCache.of(tmp_path, fake)
    cache.add([text_key("a")], fake.embed(["a"]))
    (cache.folder / "0-broken.npy").write_bytes(b"not numpy")
    _, found = VectorCache.of(tmp_path, fake).lookup([text_key("a")])
    assert found.all() and "skipping the vector cache shard" in caplog.text


def test_encode_cached_encodes_only_what_is_missing_longest_first_one_shard_per_group(tmp_path):
    fake = FakeEmbedder(16)
    cache = VectorCache.of(tmp_path, fake)
    texts = ["x" * n for n in (3, 9, 1, 7, 5)]
    seen = []

    class Recording(FakeEmbedder):
        def embed(self, batch, kind="passage", progress=None):
            seen.append(list(batch))
            return super().embed(batch, kind, progress)

    recording = Recording(16)
    vectors, done = encode_cached(texts, recording, cache, group=2)
    assert seen == [["x" * 9, "x" * 7], ["x" * 5, "x" * 3], ["x"]] and len(list(cache.folder.glob("*.npy"))) == 3
    np.testing.assert_allclose(vectors, fake.embed(texts), atol=1e-6)
    assert (done.cached, done.encoded) == (0, 5)
    seen.clear()
    progress = []
    again, done = encode_cached([*texts, "new"], recording, VectorCache.of(tmp_path, fake), group=2, progress=lambda *a: progress.append(a))
    assert seen == [["new"]] and (done.cached, done.encoded) == (5, 1)
    assert progress[0] == (5, 6) and progress[-1] == (6, 6)
    np.testing.assert_array_equal(again[:5], vectors)


# --- the two steps


def test_a_book_is_searched_by_keywords_before_its_vectors_and_by_both_after(settings, tiny_book_pdf):
    library = Library(settings)
    manifest, built = library.add(tiny_book_pdf, vectors=False)
    assert built and not manifest.vectors_ready and manifest.embedding_dim == 0
    assert not (library.root / manifest.book_id / "vectors").exists()
    assert library.state(manifest) == f"keyword search only, vectors 0% (interrupted: python -m bookqa index {manifest.book_id} finishes them)"
    book = library.open(manifest.book_id)  # no embedder needed: none is loaded
    assert book.retriever.embedder is None and not book.retriever.dense
    assert book.retriever.mode_for("hybrid") == RetrievalMode.KEYWORD
    hits = book.retriever.search("向量的点积", k=3)
    assert hits and all(h.scores.dense is None and h.scores.keyword is not None for h in hits)
    assert len(library.open(manifest.book_id, searchable=False).outline) == manifest.sections

    fake = FakeEmbedder()
    ready = library.add_vectors(manifest.book_id, embedder=fake)
    assert ready.vectors_ready and ready.vectors_done == ready.chunks and ready.embedding_dim == 256
    assert ready.embedding_backend == "fake" and library.state(ready) == "ready"
    book = library.open(manifest.book_id, embedder=fake)
    assert book.retriever.dense and book.retriever.mode_for("hybrid") == RetrievalMode.HYBRID
    assert all(h.scores.dense is not None for h in book.retriever.search("向量的点积", k=3, mode="dense"))
    assert library.add_vectors(manifest.book_id, embedder=fake) == ready  # nothing left to do


def test_a_vector_step_that_fails_half_way_resumes_without_encoding_finished_passages(settings, tiny_book_pdf):
    class Failing(FakeEmbedder):
        def embed(self, texts, kind="passage", progress=None):
            if self.calls["passage"]:
                raise RuntimeError("killed")
            return super().embed(texts, kind, progress)

    library = Library(settings)
    with pytest.raises(RuntimeError):
        library.add(tiny_book_pdf, embedder=Failing())
    (manifest,) = library.manifests()
    assert not manifest.vectors_ready and manifest.vectors_done == 4 and len(shards(settings)) == 1
    assert library.open(manifest.book_id).retriever.search("标量")  # keyword search meanwhile
    fake = FakeEmbedder()
    resumed, built = library.add(tiny_book_pdf, embedder=fake)
    assert built and resumed.vectors_ready and fake.calls["passage"] == manifest.chunks - 4
    assert resumed.encoded == {"cached": 4, "encoded": manifest.chunks - 4, "tokens": 0}


def test_a_rebuild_with_another_overlap_encodes_only_the_changed_passages(settings, tiny_book_pdf):
    Library(settings).add(tiny_book_pdf, embedder=FakeEmbedder())
    fake = FakeEmbedder()
    other, built = Library(settings.replace(chunk_overlap=20)).add(tiny_book_pdf, embedder=fake)
    assert built and other.chunk_overlap == 20 and other.vectors_ready
    assert other.encoded["cached"] > 0 and fake.calls["passage"] == other.encoded["encoded"] < other.chunks


def index_process(data: Path, pdf: Path, factory: str = "fakes:slow_fake_embedder", stderr=subprocess.PIPE) -> subprocess.Popen:
    env = {**os.environ, **FAKE_ENVIRONMENT, "BOOKQA_DATA_DIR": str(data), "BOOKQA_EMBEDDING_FACTORY": factory,
           "BOOKQA_EMBEDDING_BATCH_SIZE": str(4 // GROUP_BATCHES), "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT)])}
    return subprocess.Popen([sys.executable, "-m", "bookqa", "index", str(pdf)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=stderr, text=True)


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def manifest_in(data: Path) -> dict | None:
    found = list((data / "books").glob("*/manifest.json"))
    return json.loads(found[0].read_text(encoding="utf-8")) if found else None


@pytest.mark.parametrize("kill_when_done", [0, 4], ids=["between-the-steps", "mid-vectors"])
def test_a_killed_build_resumes_without_encoding_finished_passages(settings, tiny_book_pdf, kill_when_done):
    process = index_process(settings.data_dir, tiny_book_pdf)
    try:
        wait_for(lambda: (manifest_in(settings.data_dir) or {}).get("vectors_done", -1) >= kill_when_done)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        process.kill()
    (manifest,) = Library(settings).manifests()
    assert not manifest.vectors_ready and manifest.vectors_done == kill_when_done
    assert not Library(settings).building(manifest)  # the lock died with the process
    fake = FakeEmbedder()
    resumed = Library(settings).add_vectors(manifest.book_id, embedder=fake)
    assert resumed.vectors_ready and fake.calls["passage"] == manifest.chunks - kill_when_done


def test_two_processes_indexing_the_same_book_build_it_once(settings, tiny_book_pdf, tmp_path):
    gated = "fakes:file_gated_fake_embedder"  # the first build's vectors wait for <data_dir>/open
    first = index_process(settings.data_dir, tiny_book_pdf, gated)
    wait_for(lambda: manifest_in(settings.data_dir) is not None)
    log = tmp_path / "second.err"
    with open(log, "w") as err:
        second = index_process(settings.data_dir, tiny_book_pdf, gated, stderr=err)
        wait_for(lambda: "another process is building this book" in log.read_text())
        (settings.data_dir / "open").touch()
        out_first, _ = first.communicate(timeout=60)
        out_second, _ = second.communicate(timeout=60)
    assert first.returncode == second.returncode == 0
    assert "built by another process meanwhile" in out_second
    assert "built by another process" not in out_first
    assert len({p.name.split("-")[1] for p in shards(settings)}) == 1  # every shard written by one process
    (manifest,) = Library(settings).manifests()
    assert manifest.vectors_ready and manifest.encoded["cached"] == 0


def test_a_book_being_built_cannot_be_removed(settings, tiny_book_pdf):
    library = Library(settings)
    manifest, _ = library.add(tiny_book_pdf, vectors=False)
    lock = FileLock(settings.data_dir / "locks" / f"{manifest.sha256[:16]}.lock")
    assert lock.acquire(blocking=False)
    try:
        assert library.building(manifest) and "(building)" in library.state(manifest)
        with pytest.raises(Exception, match="being indexed"):
            library.remove(manifest.book_id)
    finally:
        lock.release()
    library.remove(manifest.book_id)
    assert library.manifests() == []


# --- background builds (the app's)


def test_background_builds_start_one_thread_per_book_however_often_asked(settings, tiny_book_pdf):
    library = Library(settings)
    manifest, _ = library.add(tiny_book_pdf, vectors=False)
    gate = threading.Event()
    made = []

    class Gated(FakeEmbedder):
        def embed(self, texts, kind="passage", progress=None):
            gate.wait(10)
            return super().embed(texts, kind, progress)

    def embedder():
        made.append(Gated())
        return made[-1]

    builds = VectorBuilds(library, embedder)
    assert builds.start(manifest) and not builds.start(manifest) and not builds.start(library.find(manifest.book_id))
    wait_for(lambda: library.building(manifest))
    gate.set()
    assert builds.wait(manifest.book_id, 30)
    assert builds.started == 1 and len(made) == 1 and made[0].calls["passage"] == manifest.chunks
    assert library.find(manifest.book_id).vectors_ready and builds.error(manifest.book_id) is None
    assert not builds.start(library.find(manifest.book_id))


def test_a_failed_background_build_keeps_its_error_until_retried(settings, tiny_book_pdf):
    library = Library(settings)
    manifest, _ = library.add(tiny_book_pdf, vectors=False)

    class Broken(FakeEmbedder):
        def embed(self, texts, kind="passage", progress=None):
            raise RuntimeError("out of memory")

    builds = VectorBuilds(library, Broken)
    builds.start(manifest)
    builds.wait(manifest.book_id, 30)
    assert "out of memory" in str(builds.error(manifest.book_id)) and not builds.start(manifest)
    builds._embedder = FakeEmbedder
    assert builds.retry(manifest) and builds.wait(manifest.book_id, 30)
    assert library.find(manifest.book_id).vectors_ready
