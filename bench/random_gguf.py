"""Write a GGUF model with random weights and the exact shapes of a real small Qwen2.5 model, to time it.

How fast a local server reads a prompt and writes an answer depends on the model's architecture, size and
quantisation, not on its weights' values; so a random-weight file of the real shapes measures latency (only:
its answers are noise). The tokenizer (vocabulary, merges, chat template) is copied from a real Qwen2 GGUF
given with ``--vocab-from`` (llama.cpp's ``models/ggml-vocab-qwen2.gguf``, or any Qwen2.5 model file), so
prompts are tokenized as the real model would. The file is written in F16; quantise it with llama.cpp's own
tool, as users' files are, e.g. ``llama-quantize OUT.gguf OUT-Q4_K_M.gguf Q4_K_M``.

Needs ``pip install gguf numpy`` (not project dependencies); never run by CI or the tests. See README, *Use a
local model*, for what was measured with it (``bench/local_model_latency.py``).

    python bench/random_gguf.py qwen2.5-1.5b --vocab-from ggml-vocab-qwen2.gguf --out q15-f16.gguf
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import gguf  # type: ignore[import-not-found]
import numpy as np


@dataclass(frozen=True)
class Shape:
    """A Qwen2 architecture's hyper-parameters, as in the model's config.json."""

    layers: int
    hidden: int
    ffn: int
    heads: int
    kv_heads: int
    vocab: int
    tied: bool  # tie_word_embeddings: no separate output matrix


# From the released Qwen2.5 Instruct models' config.json.
SHAPES = {
    "qwen2.5-0.5b": Shape(layers=24, hidden=896, ffn=4864, heads=14, kv_heads=2, vocab=151936, tied=True),
    "qwen2.5-1.5b": Shape(layers=28, hidden=1536, ffn=8960, heads=12, kv_heads=2, vocab=151936, tied=True),
    "qwen2.5-3b": Shape(layers=36, hidden=2048, ffn=11008, heads=16, kv_heads=2, vocab=151936, tied=True),
    "qwen2.5-7b": Shape(layers=28, hidden=3584, ffn=18944, heads=28, kv_heads=4, vocab=152064, tied=False),
}


def _copy_tokenizer(reader: gguf.GGUFReader, writer: gguf.GGUFWriter, vocab: int) -> None:
    """Every ``tokenizer.*`` key of the vocabulary file; the token list padded to the model's vocab size."""
    for key, field in reader.fields.items():
        if not key.startswith("tokenizer."):
            continue
        value = field.contents()
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        if key == "tokenizer.ggml.tokens" and len(value) < vocab:  # the model's embedding has padding rows
            value = [*value, *(f"[PAD{i}]" for i in range(len(value), vocab))]
        if key == "tokenizer.ggml.token_type" and len(value) < vocab:
            value = [*value, *([gguf.TokenType.UNUSED] * (vocab - len(value)))]
        writer.add_key_value(key, value, kind, sub_type=sub)


def build(name: str, vocab_from: str, out: str, seed: int = 0) -> None:
    s = SHAPES[name]
    head_dim = s.hidden // s.heads
    kv = s.kv_heads * head_dim
    rng = np.random.default_rng(seed)

    # (name, numpy shape, random weight or else a norm of ones / a bias of zeros), in llama.cpp's order
    tensors: list[tuple[str, tuple[int, ...], str]] = [("token_embd.weight", (s.vocab, s.hidden), "w"),
                                                        ("output_norm.weight", (s.hidden,), "ones")]
    if not s.tied:
        tensors.append(("output.weight", (s.vocab, s.hidden), "w"))
    for i in range(s.layers):
        p = f"blk.{i}."
        tensors += [(p + "attn_norm.weight", (s.hidden,), "ones"),
                    (p + "attn_q.weight", (s.hidden, s.hidden), "w"), (p + "attn_q.bias", (s.hidden,), "zeros"),
                    (p + "attn_k.weight", (kv, s.hidden), "w"), (p + "attn_k.bias", (kv,), "zeros"),
                    (p + "attn_v.weight", (kv, s.hidden), "w"), (p + "attn_v.bias", (kv,), "zeros"),
                    (p + "attn_output.weight", (s.hidden, s.hidden), "w"),
                    (p + "ffn_norm.weight", (s.hidden,), "ones"),
                    (p + "ffn_gate.weight", (s.ffn, s.hidden), "w"), (p + "ffn_up.weight", (s.ffn, s.hidden), "w"),
                    (p + "ffn_down.weight", (s.hidden, s.ffn), "w")]

    def make(shape: tuple[int, ...], kind: str) -> np.ndarray:  # numpy order: (out features, in features)
        if kind == "w":
            return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float16)
        return (np.ones if kind == "ones" else np.zeros)(shape, dtype=np.float32)

    writer = gguf.GGUFWriter(out, "qwen2")
    writer.add_name(f"{name} random weights (latency only)")
    writer.add_context_length(32768)
    writer.add_embedding_length(s.hidden)
    writer.add_block_count(s.layers)
    writer.add_feed_forward_length(s.ffn)
    writer.add_head_count(s.heads)
    writer.add_head_count_kv(s.kv_heads)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    _copy_tokenizer(gguf.GGUFReader(vocab_from), writer, s.vocab)
    for tname, shape, kind in tensors:
        dtype = np.dtype(np.float16 if kind == "w" else np.float32)
        writer.add_tensor_info(tname, shape, dtype, int(np.prod(shape)) * dtype.itemsize)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for _tname, shape, kind in tensors:  # one tensor in memory at a time: a 7B model is 15 GB in F16
        writer.write_tensor_data(make(shape, kind))
    writer.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("shape", choices=sorted(SHAPES))
    parser.add_argument("--vocab-from", required=True, help="a Qwen2 GGUF whose tokenizer to copy")
    parser.add_argument("--out", required=True, help="the F16 GGUF to write")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    build(args.shape, args.vocab_from, args.out, args.seed)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
