"""Write a tiny, random-weight llama model in GGUF format for integration tests.

The model is deterministic for a given ``seed`` (~0.5 MB, all-F32). Its output is
gibberish, but it is a real model that ``llama.cpp`` loads and samples from, which
is all the integration tests need: a real OpenAI-compatible server on loopback.

Weights are random (sigma 0.02) except for one "bias channel": embedding dimension 0
is a large constant for every token, so after the final RMS norm it acts as a constant
input, and column 0 of ``output.weight`` becomes a per-token logit bias. It is used to

* forbid the control tokens (``<unk>``, ``<s>``, ``</s>``): the model never emits EOS,
  so generation always runs until ``max_tokens`` or a ``stop`` string;
* forbid byte tokens outside printable ASCII: llama-cpp-python keeps generating past
  ``max_tokens`` while the text ends in an incomplete UTF-8 sequence, and invalid bytes
  are dropped from the text, so only-ASCII output keeps token counts exact;
* favour the normal (letter/word) tokens, so text looks readable-ish.
"""

from __future__ import annotations

import pathlib

import gguf
import numpy as np

__all__ = ["CHAT_TEMPLATE", "write_tiny_llama"]

CONTEXT_LENGTH = 512
EMBEDDING_LENGTH = 64
BLOCK_COUNT = 2
FEED_FORWARD_LENGTH = 128
HEAD_COUNT = 4
HEAD_COUNT_KV = 4
ROPE_DIMENSION_COUNT = EMBEDDING_LENGTH // HEAD_COUNT
RMS_EPS = 1e-5
WEIGHT_STD = 0.02

# Bias channel (see module docstring). After the final norm, dimension 0 is ~7.9, so
# these weights shift logits by ~7.9x their value; the random part has sigma ~0.03.
_BIAS_CHANNEL_VALUE = 1.0
_FORBIDDEN_BIAS = -4.0
_NORMAL_BIAS = 0.3

#: ChatML-like template (rendered by llama-cpp-python with jinja2).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

_SPECIAL_TOKENS: list[tuple[str, gguf.TokenType]] = [
    ("<unk>", gguf.TokenType.UNKNOWN),
    ("<s>", gguf.TokenType.CONTROL),
    ("</s>", gguf.TokenType.CONTROL),
]
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2

# SentencePiece-style pieces ("\u2581" marks a leading space): lowercase letters and a
# few common words, so that sampled text decodes as readable-ish ASCII.
_WORDS = ["the", "a", "and", "of", "to", "in", "is", "it", "hello", "world", "cat", "dog"]
_NORMAL_TOKENS: list[str] = (
    ["\u2581"]
    + [chr(c) for c in range(ord("a"), ord("z") + 1)]
    + ["\u2581" + w for w in _WORDS]
    + [".", ",", "!", "?"]
)


def _vocab() -> tuple[list[str], list[int]]:
    tokens = [text for text, _ in _SPECIAL_TOKENS]
    types = [int(kind) for _, kind in _SPECIAL_TOKENS]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [int(gguf.TokenType.BYTE)] * 256
    tokens += _NORMAL_TOKENS
    types += [int(gguf.TokenType.NORMAL)] * len(_NORMAL_TOKENS)
    return tokens, types


def _output_bias(tokens: list[str], token_types: list[int]) -> np.ndarray:
    bias = np.zeros(len(tokens), dtype=np.float32)
    for i, (text, kind) in enumerate(zip(tokens, token_types, strict=True)):
        if kind == gguf.TokenType.BYTE:
            printable = 0x20 <= int(text[3:5], 16) <= 0x7E
            bias[i] = 0.0 if printable else _FORBIDDEN_BIAS
        elif kind == gguf.TokenType.NORMAL:
            bias[i] = _NORMAL_BIAS
        else:
            bias[i] = _FORBIDDEN_BIAS
    return bias


def write_tiny_llama(
    path: pathlib.Path, *, seed: int = 0, pooling: gguf.PoolingType | None = None
) -> pathlib.Path:
    """Write a tiny random llama GGUF model to ``path`` and return ``path``.

    The same ``seed`` always produces a byte-identical file. ``pooling`` names the pooling of
    an embedding model in the metadata (llama.cpp then pools its embeddings so).
    """
    path = pathlib.Path(path)
    rng = np.random.default_rng(seed)
    tokens, token_types = _vocab()
    vocab_size = len(tokens)

    def rand(rows: int, cols: int) -> np.ndarray:
        return (rng.standard_normal((rows, cols)) * WEIGHT_STD).astype(np.float32)

    def ones(n: int) -> np.ndarray:
        return np.ones(n, dtype=np.float32)

    writer = gguf.GGUFWriter(path, "llama")
    try:
        writer.add_name("tiny-llama")
        writer.add_context_length(CONTEXT_LENGTH)
        writer.add_embedding_length(EMBEDDING_LENGTH)
        writer.add_block_count(BLOCK_COUNT)
        writer.add_feed_forward_length(FEED_FORWARD_LENGTH)
        writer.add_head_count(HEAD_COUNT)
        writer.add_head_count_kv(HEAD_COUNT_KV)
        writer.add_rope_dimension_count(ROPE_DIMENSION_COUNT)
        writer.add_layer_norm_rms_eps(RMS_EPS)
        writer.add_file_type(int(gguf.LlamaFileType.ALL_F32))

        writer.add_tokenizer_model("llama")
        writer.add_token_list(tokens)
        writer.add_token_types(token_types)
        writer.add_token_scores([0.0] * vocab_size)
        writer.add_bos_token_id(BOS_ID)
        writer.add_eos_token_id(EOS_ID)
        writer.add_unk_token_id(UNK_ID)
        writer.add_chat_template(CHAT_TEMPLATE)
        if pooling is not None:
            writer.add_pooling_type(pooling)

        token_embd = rand(vocab_size, EMBEDDING_LENGTH)
        token_embd[:, 0] = _BIAS_CHANNEL_VALUE
        output = rand(vocab_size, EMBEDDING_LENGTH)
        output[:, 0] = _output_bias(tokens, token_types)
        writer.add_tensor("token_embd.weight", token_embd)
        writer.add_tensor("output_norm.weight", ones(EMBEDDING_LENGTH))
        writer.add_tensor("output.weight", output)
        for i in range(BLOCK_COUNT):
            blk = f"blk.{i}"
            writer.add_tensor(f"{blk}.attn_norm.weight", ones(EMBEDDING_LENGTH))
            for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
                writer.add_tensor(f"{blk}.{name}.weight", rand(EMBEDDING_LENGTH, EMBEDDING_LENGTH))
            writer.add_tensor(f"{blk}.ffn_norm.weight", ones(EMBEDDING_LENGTH))
            writer.add_tensor(f"{blk}.ffn_gate.weight", rand(FEED_FORWARD_LENGTH, EMBEDDING_LENGTH))
            writer.add_tensor(f"{blk}.ffn_up.weight", rand(FEED_FORWARD_LENGTH, EMBEDDING_LENGTH))
            writer.add_tensor(f"{blk}.ffn_down.weight", rand(EMBEDDING_LENGTH, FEED_FORWARD_LENGTH))

        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()
    return path
