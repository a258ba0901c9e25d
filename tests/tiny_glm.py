"""A tiny randomly initialised GLM chat checkpoint, built on the spot and saved like a real one.

The tokenizer is a byte-level BPE trained with the ``tokenizers`` library on a few hundred lines of
Chinese and English, with GLM-4's special tokens and a GLM-4-style chat template; the model is a
``GlmForCausalLM`` (model type ``glm``, as THUDM/glm-4-9b-chat-hf) or ``Glm4ForCausalLM`` (``glm4``, as
THUDM/GLM-4-9B-0414) with hidden size 64 and 2 layers. Both are written with ``save_pretrained`` so a test
loads them through the same code path as a downloaded checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import Glm4Config, Glm4ForCausalLM, GlmConfig, GlmForCausalLM, PreTrainedTokenizerFast

SPECIAL_TOKENS = [
    "<|endoftext|>",  # id 0: end of text, also the padding token
    "[MASK]",
    "[gMASK]",
    "[sMASK]",
    "<sop>",
    "<eop>",
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
    "<|observation|>",
]
CHAT_TEMPLATE = (
    "[gMASK]<sop>{% for item in messages %}"
    "{% if item['role'] == 'system' %}<|system|>\n{{ item['content'] }}"
    "{% elif item['role'] == 'user' %}<|user|>\n{{ item['content'] }}"
    "{% elif item['role'] == 'assistant' %}<|assistant|>\n{{ item['content'] }}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
WINDOW = 512
"""The tiny model's context window (max_position_embeddings)."""

_TOPICS = ["稠密连接网络", "残差网络", "卷积神经网络", "注意力机制", "梯度下降", "批量规范化", "循环神经网络", "词嵌入",
           "DenseNet", "ResNet", "Transformer", "softmax", "dropout", "LSTM", "gradient descent", "batch normalization"]
_TEMPLATES = [
    "什么是{t}？{t}是深度学习中的一个重要概念。",
    "{t}的关键思想是通过层与层之间的连接来提高模型的表达能力。",
    "本节介绍{t}的原理、实现和训练方法 [p.{n}]。",
    "What is {t}? {t} is an important idea in deep learning.",
    "The key idea of {t} is explained on page {n} of the book.",
    "我们使用{t}来训练模型，并在验证集上评估它的效果。",
]


def corpus() -> list[str]:
    """A few hundred lines of Chinese and English text about the book's topics."""
    return [template.format(t=topic, n=100 + i) for i, topic in enumerate(_TOPICS) for template in _TEMPLATES] * 3


def build_tokenizer(vocab_size: int = 800) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on :func:`corpus`, with GLM-4's special tokens and chat template."""
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(corpus(), trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIAL_TOKENS[1:],
        chat_template=CHAT_TEMPLATE,
    )


def build_checkpoint(folder: Path, model_type: str = "glm", silent: bool = False, seed: int = 0) -> Path:
    """Save a tiny chat checkpoint of ``model_type`` (``glm`` or ``glm4``) to ``folder`` and return it.

    ``silent``: zero the output layer, so every logit ties and greedy decoding picks token 0, the
    end-of-text token: the model ends every reply at once (for testing the stop on end of sequence).
    ``seed``: seeds the random weights.
    """
    tokenizer = build_tokenizer()
    stops = [tokenizer.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|user|>", "<|observation|>")]
    shape = dict(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=WINDOW,
        pad_token_id=stops[0],
        eos_token_id=stops,
    )
    torch.manual_seed(seed)
    if model_type == "glm":
        model = GlmForCausalLM(GlmConfig(**shape))
    elif model_type == "glm4":
        model = Glm4ForCausalLM(Glm4Config(**shape))
    else:
        raise ValueError(f"model_type must be 'glm' or 'glm4', got {model_type!r}.")
    if silent:
        with torch.no_grad():
            model.lm_head.weight.zero_()
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(folder)
    model.save_pretrained(folder)
    return folder
