"""PyTorch peer of bench/engine.ts: forward (loss) and forward+backward (soft-prompt gradient) timings.

Usage: /usr/bin/python3 bench/peers/engine_peer.py SPEC.json
SPEC: {"model", "threads", "rows" [[ids]], "insertAt" [K], "lossLast" [N], "prompt" (f32 file, [n, d]),
       "warmup" (forward warm-up runs; the checked backward warms the gradient path), "iters",
       "gradOut" (f32 file to write d loss / d prompt)}
Prints one JSON line: {"loadSeconds", "loss", "forwardSeconds" [..], "stepSeconds" [..],
                       "rssAfterLoadMb", "peakRssMb", "matmulGflops" (blas_check.py, measured first)}
"""
import json
import sys
import time

import numpy as np
import torch

from blas_check import matmul_gflops
from gpt2_torch import Gpt2, answer_loss, peak_rss_mb


def timed(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def report(spec, loss_of, prompt, load_seconds, rss_after_load, gflops):
    """The part every engine peer shares: one checked backward (d loss / d prompt written to
    spec["gradOut"]), then forward and forward+backward timed, then the JSON line. loss_of() computes
    the loss from `prompt` (a leaf with requires_grad)."""
    loss = loss_of()
    loss.backward()
    prompt.grad.numpy().astype("<f4").tofile(spec["gradOut"])

    def forward():
        with torch.no_grad():
            loss_of()

    def step():
        prompt.grad = None
        loss_of().backward()

    fwd = timed(forward, spec["warmup"], spec["iters"])
    steps = timed(step, 0, spec["iters"])  # the checked backward above warmed this path
    print(json.dumps({
        "loadSeconds": load_seconds, "loss": loss.item(), "forwardSeconds": fwd, "stepSeconds": steps,
        "rssAfterLoadMb": rss_after_load, "peakRssMb": peak_rss_mb(), "matmulGflops": gflops,
    }))


def main():
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(spec["threads"])
    gflops = matmul_gflops()
    t = time.perf_counter()
    model = Gpt2(spec["model"])
    load_seconds = time.perf_counter() - t
    rss_after_load = peak_rss_mb()
    rows, insert_at, loss_last = spec["rows"], spec["insertAt"], spec["lossLast"]
    d = model.d
    prompt = torch.from_numpy(np.fromfile(spec["prompt"], dtype="<f4").reshape(-1, d).copy()).requires_grad_(True)
    report(spec, lambda: answer_loss(model, rows, insert_at, loss_last, prompt), prompt, load_seconds, rss_after_load, gflops)


if __name__ == "__main__":
    main()
