"""PyTorch peer of bench/run.ts: soft-prompt training (Adam on the prompt only) and extraction (forward hooks
on every block's FFN activation act(c_fc(x)), copied to numpy at the soft positions per batch).

Usage: /usr/bin/python3 bench/peers/run_peer.py SPEC.json
SPEC: {"model", "threads", "train" [{"instr" [ids], "answer" [ids]}], "val" [...], "prompt" (f32 [n, d], initial),
       "lr", "warmupSteps", "steps", "extractPrompt" (f32 [n, d]), "extractBatch", "tapsOut" (f32 file)}
Training takes every train row in each step (one full batch), so the trajectory does not depend on an order.
Extraction scores each row teacher-forced (loss, gold-answer probability, confidence, argmax, correct) and
writes the first batch's activations [L, b, n, F] to tapsOut.
Prints one JSON line: {"trainSeconds", "losses" [per step], "extractSeconds", "extractRows", "peakRssMb"}
"""
import json
import sys
import time

import numpy as np
import torch

from gpt2_torch import Gpt2, answer_loss, peak_rss_mb


def train(model, rows, init, lr, steps):
    """Adam on a copy of `init`; returns the loss of each step (before its update)."""
    prompt = init.clone().requires_grad_(True)
    opt = torch.optim.Adam([prompt], lr=lr)
    ids = [r["instr"] + r["answer"] for r in rows]
    insert_at = [len(r["instr"]) for r in rows]
    loss_last = [len(r["answer"]) for r in rows]
    losses = []
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = answer_loss(model, ids, insert_at, loss_last, prompt)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


class Taps:
    """Forward hooks on every block's mlp.act; keeps each layer's output [B, T, F] of the last forward."""

    def __init__(self, model):
        self.out = [None] * len(model.h)
        for i, block in enumerate(model.h):
            block.mlp.act.register_forward_hook(self.hook(i))

    def hook(self, i):
        def fn(_module, _inputs, output):
            self.out[i] = output
        return fn


def extract_batch(model, taps, rows, prompt):
    """One batch: per-sample scores and the soft-position activations as numpy [L, b, n, F]."""
    n = prompt.shape[0]
    ids = [r["instr"] + r["answer"] for r in rows]
    insert_at = [len(r["instr"]) for r in rows]
    with torch.no_grad():
        h, lengths = model.hidden(ids, insert_at, prompt)
        T = h.shape[1]
        soft = torch.tensor([[b * T + k + i for i in range(n)] for b, k in enumerate(insert_at)], dtype=torch.long)
        acts = np.stack([t.reshape(-1, t.shape[-1])[soft.reshape(-1)].reshape(len(rows), n, -1).numpy().copy() for t in taps.out])
        pos, gold = [], []
        for b, (r, length) in enumerate(zip(rows, lengths)):
            a = len(r["answer"])
            pos += [b * T + length - a + j - 1 for j in range(a)]
            gold += r["answer"]
        logp = torch.log_softmax(model.logits_at(h, torch.tensor(pos, dtype=torch.long)), dim=-1)
        gold_lp = logp[torch.arange(len(gold)), torch.tensor(gold, dtype=torch.long)]
        argmax = logp.argmax(dim=-1)
        scores, q = [], 0
        for r in rows:
            a = len(r["answer"])
            lp = gold_lp[q:q + a]
            scores.append({
                "loss": -lp.mean().item(), "goldProb": lp.sum().exp().item(), "confidence": logp[q].exp().max().item(),
                "correct": argmax[q:q + a].tolist() == r["answer"],
            })
            q += a
    return scores, acts


def main():
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(spec["threads"])
    model = Gpt2(spec["model"])
    d = model.d
    load = lambda f: torch.from_numpy(np.fromfile(f, dtype="<f4").reshape(-1, d).copy())

    init = load(spec["prompt"])
    train(model, spec["train"], init, spec["lr"], spec["warmupSteps"])
    t = time.perf_counter()
    losses = train(model, spec["train"], init, spec["lr"], spec["steps"])
    train_seconds = time.perf_counter() - t

    taps = Taps(model)
    prompt = load(spec["extractPrompt"])
    val, bs = spec["val"], spec["extractBatch"]
    extract_batch(model, taps, val[:bs], prompt)
    t = time.perf_counter()
    kept = []  # per batch, as a consumer of the activations would hold them
    for start in range(0, len(val), bs):
        kept.append(extract_batch(model, taps, val[start:start + bs], prompt))
    extract_seconds = time.perf_counter() - t
    kept[0][1].astype("<f4").tofile(spec["tapsOut"])
    print(json.dumps({
        "trainSeconds": train_seconds, "losses": losses, "extractSeconds": extract_seconds, "extractRows": len(val),
        "peakRssMb": peak_rss_mb(),
    }))


if __name__ == "__main__":
    main()
