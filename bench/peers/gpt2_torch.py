"""GPT-2 in plain eager PyTorch (after Hugging Face's modeling_gpt2.py, eager attention), for the
benchmark peers. No transformers/safetensors packages: the .safetensors file is parsed here.

Sequences carry a soft prompt of n vectors inserted after the first K tokens of each row:
full row = ids[:K] + prompt + ids[K:], right-padded; position ids count 0..len-1 (as our engine).
The FFN neuron is act(c_fc(x)); each block's `mlp.act` is its own module so forward hooks see it.
"""
import json
import math
import os
import resource
import struct

import numpy as np
import torch
from torch import nn

DTYPES = {"F32": np.float32, "F16": np.float16}


def load_safetensors(path):
    """name -> float32 torch tensor, each read straight from the file (one copy of the weights in memory)."""
    out = {}
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        for name, info in header.items():
            if name == "__metadata__":
                continue
            a, b = info["data_offsets"]
            dtype = np.dtype(DTYPES[info["dtype"]]).newbyteorder("<")
            f.seek(8 + n + a)
            arr = np.fromfile(f, dtype=dtype, count=(b - a) // dtype.itemsize).reshape(info["shape"])
            out[name] = torch.from_numpy(arr.astype(np.float32, copy=False))
    return out


class GeluNew(nn.Module):
    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Conv1D(nn.Module):
    """HF's Conv1D: weight stored [in, out]."""

    def __init__(self, weight, bias):
        super().__init__()
        self.weight = nn.Parameter(weight, requires_grad=False)
        self.bias = nn.Parameter(bias, requires_grad=False)

    def forward(self, x):
        shape = x.shape[:-1] + (self.weight.shape[1],)
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(shape)


def layer_norm(W, prefix, d, eps):
    ln = nn.LayerNorm(d, eps=eps)
    ln.weight = nn.Parameter(W[prefix + ".weight"], requires_grad=False)
    ln.bias = nn.Parameter(W[prefix + ".bias"], requires_grad=False)
    return ln


class Mlp(nn.Module):
    def __init__(self, W, p):
        super().__init__()
        self.c_fc = Conv1D(W[p + "c_fc.weight"], W[p + "c_fc.bias"])
        self.act = GeluNew()
        self.c_proj = Conv1D(W[p + "c_proj.weight"], W[p + "c_proj.bias"])

    def forward(self, x):
        return self.c_proj(self.act(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, W, p, d, heads, eps):
        super().__init__()
        self.heads = heads
        self.ln_1 = layer_norm(W, p + "ln_1", d, eps)
        self.c_attn = Conv1D(W[p + "attn.c_attn.weight"], W[p + "attn.c_attn.bias"])
        self.c_proj = Conv1D(W[p + "attn.c_proj.weight"], W[p + "attn.c_proj.bias"])
        self.ln_2 = layer_norm(W, p + "ln_2", d, eps)
        self.mlp = Mlp(W, p + "mlp.")

    def forward(self, h, bias):
        B, T, d = h.shape
        hd = d // self.heads
        q, k, v = self.c_attn(self.ln_1(h)).split(d, dim=2)
        split = lambda x: x.view(B, T, self.heads, hd).transpose(1, 2)  # [B,H,T,hd]
        q, k, v = split(q), split(k), split(v)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd) + bias
        o = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(B, T, d)
        h = h + self.c_proj(o)
        return h + self.mlp(self.ln_2(h))


class Gpt2(nn.Module):
    def __init__(self, folder):
        super().__init__()
        with open(os.path.join(folder, "config.json")) as f:
            cfg = json.load(f)
        W = load_safetensors(os.path.join(folder, "model.safetensors"))
        W = {k[len("transformer."):] if k.startswith("transformer.") else k: v for k, v in W.items()}
        d, eps = cfg["n_embd"], cfg["layer_norm_epsilon"]
        self.d = d
        self.wte = nn.Parameter(W["wte.weight"], requires_grad=False)
        self.wpe = nn.Parameter(W["wpe.weight"], requires_grad=False)
        self.h = nn.ModuleList(Block(W, f"h.{i}.", d, cfg["n_head"], eps) for i in range(cfg["n_layer"]))
        self.ln_f = layer_norm(W, "ln_f", d, eps)
        self.head = nn.Parameter(W["lm_head.weight"], requires_grad=False) if "lm_head.weight" in W else self.wte
        self.eval()

    def hidden(self, rows, insert_at, prompt):
        """rows: list of token-id lists, insert_at: K per row, prompt [n, d].
        Returns the final-normed hidden states [B, T, d] and the real length of each row."""
        n = prompt.shape[0]
        lengths = [len(r) + n for r in rows]
        T = max(lengths)
        B = len(rows)
        embeds = []
        for r, k, length in zip(rows, insert_at, lengths):
            tok = self.wte[torch.tensor(r, dtype=torch.long)]
            parts = [tok[:k], prompt, tok[k:]]
            if length < T:
                parts.append(torch.zeros(T - length, self.d))
            embeds.append(torch.cat(parts))
        h = torch.stack(embeds) + self.wpe[:T]
        keep = torch.tril(torch.ones(T, T, dtype=torch.bool)).expand(B, T, T).clone()
        for b, length in enumerate(lengths):
            keep[b, :, length:] = False
            keep[b, length:, :] |= torch.eye(T, dtype=torch.bool)[length:]  # padding queries see themselves
        bias = torch.zeros(B, 1, T, T).masked_fill(~keep[:, None], -1e9)
        for block in self.h:
            h = block(h, bias)
        return self.ln_f(h), lengths

    def logits_at(self, h, flat_pos):
        """Logits [Q, V] at flat positions b*T + t of h [B, T, d]."""
        return torch.matmul(h.reshape(-1, self.d)[flat_pos], self.head.t())


def answer_loss(model, rows, insert_at, loss_last, prompt):
    """Mean cross-entropy of each row's last `loss_last[b]` tokens, each predicted from the position before it."""
    h, lengths = model.hidden(rows, insert_at, prompt)
    T = h.shape[1]
    pos, targets = [], []
    for b, (r, length, last) in enumerate(zip(rows, lengths, loss_last)):
        for j in range(last):
            pos.append(b * T + length - last + j - 1)
            targets.append(r[len(r) - last + j])
    logits = model.logits_at(h, torch.tensor(pos, dtype=torch.long))
    return torch.nn.functional.cross_entropy(logits, torch.tensor(targets, dtype=torch.long))


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
