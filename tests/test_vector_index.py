"""VectorIndex: a real FAISS index on a handful of hand-made unit vectors, with exact expectations."""

import numpy as np
import pytest

from bookqa.index.vector_index import VectorIndex


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


# Similarity to the query (1, 0, 0, 0) falls row by row: 1.0, 0.8, 0.6, 0.0, -0.6, -1.0.
VECTORS = np.stack(
    [unit(1, 0, 0, 0), unit(0.8, 0.6, 0, 0), unit(0.6, 0, 0.8, 0), unit(0, 0, 0, 1), unit(-0.6, 0.8, 0, 0), unit(-1, 0, 0, 0)]
)
QUERY = unit(1, 0, 0, 0)[None, :]


@pytest.fixture(scope="module")
def index() -> VectorIndex:
    return VectorIndex.build(VECTORS)


def test_search_ranks_by_cosine_similarity(index):
    scores, ids = index.search(QUERY, 3)
    assert ids.tolist() == [[0, 1, 2]]
    np.testing.assert_allclose(scores, [[1.0, 0.8, 0.6]], atol=1e-6)
    assert (index.dim, len(index)) == (4, 6)


def test_several_queries_at_once(index):
    scores, ids = index.search(np.stack([unit(1, 0, 0, 0), unit(0, 0.6, 0, 0.8)]), 2)
    assert ids.tolist() == [[0, 1], [3, 4]]
    np.testing.assert_allclose(scores, [[1.0, 0.8], [0.8, 0.48]], atol=1e-6)


def test_filter_is_applied_inside_the_search(index):
    allowed = np.array([False, False, False, True, True, True])
    scores, ids = index.search(QUERY, 3, allowed=allowed)
    # Rows 3-5 are the three *worst* rows: an after-the-fact filter of the top 3 would return nothing.
    assert ids.tolist() == [[3, 4, 5]]
    np.testing.assert_allclose(scores, [[0.0, -0.6, -1.0]], atol=1e-6)


def test_fewer_allowed_rows_than_k_gives_only_real_hits(index):
    scores, ids = index.search(QUERY, 5, allowed=np.array([False, True, False, False, True, False]))
    assert ids.tolist() == [[1, 4]]
    assert scores.shape == (1, 2)
    scores, ids = index.search(QUERY, 5, allowed=np.zeros(6, dtype=bool))
    assert ids.shape == scores.shape == (1, 0)


def test_k_beyond_the_index_size_returns_every_row(index):
    _, ids = index.search(QUERY, 50)
    assert ids.tolist() == [[0, 1, 2, 3, 4, 5]]


def test_save_load_round_trip(index, tmp_path):
    path = index.save(tmp_path / "book")
    assert path.is_file()
    loaded = VectorIndex.load(tmp_path / "book")
    for allowed in (None, np.array([True, False, True, False, True, False])):
        before, after = index.search(QUERY, 3, allowed), loaded.search(QUERY, 3, allowed)
        np.testing.assert_array_equal(before[1], after[1])
        np.testing.assert_array_equal(before[0], after[0])


def test_arguments_are_checked(index, tmp_path):
    with pytest.raises(ValueError, match="non-empty 2-D"):
        VectorIndex.build(np.zeros((0, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"shape \(q, 4\)"):
        index.search(np.ones((1, 3), dtype=np.float32), 1)
    with pytest.raises(ValueError, match="at least 1"):
        index.search(QUERY, 0)
    with pytest.raises(ValueError, match="boolean array of shape"):
        index.search(QUERY, 1, allowed=np.ones(5, dtype=bool))
    with pytest.raises(ValueError, match="boolean array of shape"):
        index.search(QUERY, 1, allowed=np.ones(6, dtype=np.int64))
    with pytest.raises(FileNotFoundError, match="No vector index"):
        VectorIndex.load(tmp_path / "missing")
