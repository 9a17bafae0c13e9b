"""PyTorch peer of bench/engine.ts for Llama / Qwen2 checkpoints (F32/F16/BF16 safetensors, sharded or
not), eager, weights held as float32 as Hugging Face transformers does on CPU (written from
modeling_llama.py / modeling_qwen2.py: RMSNorm, RoPE, GQA, SwiGLU; the head applied only to the loss
positions). Same spec and output as engine_peer.py, plus the measured matmul GFLOP/s.

Usage: /usr/bin/python3 bench/peers/llama_engine_peer.py SPEC.json
"""
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch

from blas_check import matmul_gflops
from engine_peer import report
from gpt2_torch import peak_rss_mb


def read_weights(folder):
    """name -> float32 tensor, each read from its file on its own (peak = the f32 weights + one tensor)."""
    W = {}
    for f in sorted(x for x in os.listdir(folder) if x.endswith(".safetensors")):
        path = os.path.join(folder, f)
        with open(path, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        for name, t in header.items():
            if name == "__metadata__":
                continue
            a, b = t["data_offsets"]
            stored = {"BF16": "<u2", "F16": "<f2", "F32": "<f4"}[t["dtype"]]
            count = (b - a) // np.dtype(stored).itemsize
            raw = np.fromfile(path, dtype=stored, count=count, offset=8 + n + a)
            arr = (raw.astype(np.uint32) << 16).view(np.float32) if t["dtype"] == "BF16" else raw.astype(np.float32, copy=False)
            W[name] = torch.from_numpy(arr.reshape(t["shape"]))
    return W


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def answer_loss(cfg, W, rows, insert_at, loss_last, prompt):
    """Mean cross-entropy of each row's last loss_last tokens, prompt inserted after insert_at tokens
    (rows of equal length, as the bench makes them)."""
    ids = torch.tensor(rows)
    B, T0 = ids.shape
    d = cfg["hidden_size"]
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim", d // H)
    eps = cfg["rms_norm_eps"]
    E = W["model.embed_tokens.weight"]
    tok = E[ids]
    x = torch.cat([tok[:, :insert_at], prompt.expand(B, -1, -1), tok[:, insert_at:]], dim=1)
    T = x.shape[1]
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    fr = torch.arange(T, dtype=torch.float32)[:, None] * inv[None, :]
    emb = torch.cat((fr, fr), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.triu(torch.full((T, T), float("-inf")), diagonal=1)
    h = x
    for i in range(cfg["num_hidden_layers"]):
        L = f"model.layers.{i}."
        a = rms_norm(h, W[L + "input_layernorm.weight"], eps)

        def proj(name, heads):
            y = a @ W[L + f"self_attn.{name}.weight"].T
            if L + f"self_attn.{name}.bias" in W:
                y = y + W[L + f"self_attn.{name}.bias"]
            return y.view(B, T, heads, hd).transpose(1, 2)

        q, k, v = proj("q_proj", H), proj("k_proj", KV), proj("v_proj", KV)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KV, dim=1)
        v = v.repeat_interleave(H // KV, dim=1)
        s = q @ k.transpose(-1, -2) / math.sqrt(hd) + mask
        o = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, H * hd)
        h = h + o @ W[L + "self_attn.o_proj.weight"].T
        m = rms_norm(h, W[L + "post_attention_layernorm.weight"], eps)
        h = h + (torch.nn.functional.silu(m @ W[L + "mlp.gate_proj.weight"].T) * (m @ W[L + "mlp.up_proj.weight"].T)) @ W[L + "mlp.down_proj.weight"].T
    h = rms_norm(h, W["model.norm.weight"], eps)
    head = W.get("lm_head.weight", E)
    pred = h[:, T - loss_last - 1:T - 1]  # only the loss positions go through the head
    logits = pred.reshape(-1, d) @ head.T
    return torch.nn.functional.cross_entropy(logits, ids[:, T0 - loss_last:].reshape(-1))


def main():
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(spec["threads"])
    gflops = matmul_gflops()
    t = time.perf_counter()
    cfg = json.load(open(os.path.join(spec["model"], "config.json")))
    W = read_weights(spec["model"])
    load_seconds = time.perf_counter() - t
    rss_after_load = peak_rss_mb()
    rows, insert_at, loss_last = spec["rows"], spec["insertAt"][0], spec["lossLast"][0]
    assert all(k == insert_at for k in spec["insertAt"]) and all(n == loss_last for n in spec["lossLast"])
    prompt = torch.from_numpy(np.fromfile(spec["prompt"], dtype="<f4").reshape(-1, cfg["hidden_size"]).copy()).requires_grad_(True)
    report(spec, lambda: answer_loss(cfg, W, rows, insert_at, loss_last, prompt), prompt, load_seconds, rss_after_load, gflops)


if __name__ == "__main__":
    main()
