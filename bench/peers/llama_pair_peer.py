"""PyTorch peer for a Llama / Qwen2 checkpoint (F32/BF16 safetensors, sharded or not): the forward
(loss) + forward-and-backward (d loss / d soft prompt) pair on one batch, eager, weights held as f32
as HF transformers does on CPU. Prints one JSON line with the loss, the prompt gradient's first values,
the seconds of each call and the peak RSS.

Usage: /usr/bin/python3 bench/peers/llama_pair_peer.py MODEL_DIR THREADS
Inputs (as .exp-style benches use): 4 rows of 84 ids (i * 7919 + b * 13) % 150000, a 20 x d prompt
sin(i) * 0.02 inserted after token 60, loss on the last 4 tokens.
"""
import json
import math
import os
import resource
import struct
import sys
import time

import numpy as np
import torch


def read_weights(folder):
    files = sorted(f for f in os.listdir(folder) if f.endswith(".safetensors"))
    W = {}
    for f in files:
        raw = open(os.path.join(folder, f), "rb").read()
        (n,) = struct.unpack("<Q", raw[:8])
        header = json.loads(raw[8:8 + n])
        base = 8 + n
        for name, t in header.items():
            if name == "__metadata__":
                continue
            a, b = t["data_offsets"]
            buf = np.frombuffer(raw, dtype="<u2" if t["dtype"] == "BF16" else "<f4", count=(b - a) // (2 if t["dtype"] == "BF16" else 4), offset=base + a)
            arr = (buf.astype(np.uint32) << 16).view(np.float32) if t["dtype"] == "BF16" else buf.copy()
            W[name] = torch.from_numpy(arr.reshape(t["shape"]))
        del raw
    return W


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def loss_of(cfg, W, ids, prompt, insert_at, loss_last):
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
    folder, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    cfg = json.load(open(os.path.join(folder, "config.json")))
    W = read_weights(folder)
    d = cfg["hidden_size"]
    ids = torch.tensor([[(i * 7919 + b * 13) % 150000 for i in range(84)] for b in range(4)])
    prompt = torch.tensor([math.sin(i) * 0.02 for i in range(20 * d)], dtype=torch.float32).view(20, d)
    out = {"blas": torch.__config__.show().count("openblas") > 0}
    for r in range(2):
        t = time.perf_counter()
        with torch.no_grad():
            loss = loss_of(cfg, W, ids, prompt, 60, 4)
        out[f"forwardSeconds{r}"] = time.perf_counter() - t
        p = prompt.clone().requires_grad_(True)
        t = time.perf_counter()
        l2 = loss_of(cfg, W, ids, p, 60, 4)
        l2.backward()
        out[f"stepSeconds{r}"] = time.perf_counter() - t
    out.update(loss=float(loss), grad=p.grad.view(-1)[:3].tolist(),
               peakRssMb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
