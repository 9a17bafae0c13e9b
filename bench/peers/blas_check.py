"""The peer's own matmul throughput, so a bench can tell a crippled PyTorch (Debian's python3-torch on
the reference BLAS: ~6 GFLOP/s here; with libopenblas0-pthread: ~100) from a fair one."""
import time

import torch


def matmul_gflops(n=2048, repeats=3):
    """Best of `repeats` float32 n x n matmuls on torch's current thread setting, in GFLOP/s."""
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    a @ b  # warm-up: thread pool and BLAS buffers
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9
