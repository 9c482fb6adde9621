"""Generate ``sgd_loss.csv`` (a recorded SGD loss curve) and ``sgd_loss_reference.csv`` (the same network trained
by noise-free full-batch gradient descent) for ``tests/test_stages.py``.

Plain PyTorch, seeded, CPU, float64; run from the repository root::

    python tests/data/make_sgd_curve.py

Network: ``f(x) = sum_j a_j tanh(w_j . x)``, width ``M = 200``, small initialisation (every parameter drawn from
``N(0, m^(-2 alpha))`` with ``alpha = 1``). Data: ``N_TRAIN = 2048`` standard Gaussian inputs in ``d = 3`` and the
target ``y = tanh(2 x0) + 0.5 x1^2 + 0.4 x2 - 0.3`` (a linear part ``E[y x] = (0.82, 0, 0.4)``; the even part
``0.5 x1^2 - 0.3`` cannot be fitted by an odd network and sets the floor). Loss: half the
mean squared error. SGD: mini-batches of 256 drawn with replacement from the training set, learning rate ``LR``,
``STEPS`` steps; the mini-batch loss (what a training log records) is written every ``EVERY`` steps, against the
step number. The reference run starts from the same parameters and takes full-batch steps of the same size; its
training loss is written at the same steps.
"""
from __future__ import annotations

import csv
from pathlib import Path

import torch

SEED = 20240611
M, D, ALPHA = 200, 3, 1.0
N_TRAIN, BATCH = 2048, 256
LR, STEPS, EVERY = 0.01, 8_000, 2
HERE = Path(__file__).resolve().parent


def target(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(2 * x[:, 0]) + 0.5 * x[:, 1] ** 2 + 0.4 * x[:, 2] - 0.3


def loss_of(a, w, x, y) -> torch.Tensor:
    return 0.5 * ((torch.tanh(x @ w.T) @ a - y) ** 2).mean()


def train(batch: int | None, gen: torch.Generator, x, y, a0, w0) -> list[tuple[int, float]]:
    a, w = a0.clone().requires_grad_(True), w0.clone().requires_grad_(True)
    opt = torch.optim.SGD([a, w], lr=LR)
    rows = []
    for step in range(STEPS + 1):
        if batch is None:
            xb, yb = x, y
        else:
            idx = torch.randint(0, N_TRAIN, (batch,), generator=gen)
            xb, yb = x[idx], y[idx]
        loss = loss_of(a, w, xb, yb)
        if step % EVERY == 0:
            rows.append((step, loss.item()))
        if step == STEPS:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    return rows


def write(path: Path, rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["t", "loss"])
        out.writerows((step, f"{value:.6g}") for step, value in rows)


def main() -> None:
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    gen = torch.Generator().manual_seed(SEED)
    x = torch.randn(N_TRAIN, D, generator=gen)
    y = target(x)
    scale = M ** (-ALPHA)
    a0 = scale * torch.randn(M, generator=gen)
    w0 = scale * torch.randn(M, D, generator=gen)
    write(HERE / "sgd_loss.csv", train(BATCH, gen, x, y, a0, w0))
    write(HERE / "sgd_loss_reference.csv", train(None, gen, x, y, a0, w0))


if __name__ == "__main__":
    main()
