"""decide_top: the Ritz value is a lower bound, the overlap bound an upper bound of lambda_max under its premise."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from scipy.sparse.linalg import aslinearoperator

from theory.errors import InputError
from verify.hessian import TorchHessian, decide_top, torch_dense_hessian
from verify.hessian.certify import DEFAULT_OVERLAP


def _matrix(seed: int, n: int, gap: float):
    """A symmetric n x n matrix with a top eigenvalue 1 + gap over a spectrum in [-0.3, 1], and its eigenvectors."""
    rng = np.random.default_rng(seed)
    values = np.concatenate([[1.0 + gap], rng.uniform(-0.3, 1.0, n - 1)])
    vecs, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (vecs * values) @ vecs.T, values, vecs


def _start(vecs, overlap: float, seed: int):
    """A unit start vector whose overlap with the top eigenvector (column 0) is exactly ``overlap``."""
    rng = np.random.default_rng(seed + 1)
    rest = vecs[:, 1:] @ rng.standard_normal(vecs.shape[1] - 1)
    rest /= np.linalg.norm(rest)
    return overlap * vecs[:, 0] + np.sqrt(1 - overlap ** 2) * rest


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), gap=st.floats(0.0, 0.5), overlap=st.floats(DEFAULT_OVERLAP, 1.0),
       steps=st.integers(1, 25))
def test_the_ritz_value_and_the_upper_bound_bracket_lambda_max_when_the_premise_holds(seed, gap, overlap, steps):
    """With a start vector of overlap >= delta with the top eigenvector, theta_1 <= lambda_max <= upper after any
    number of steps (the formula of verify.hessian.certify, float64 products)."""
    A, values, vecs = _matrix(seed, 60, gap)
    got = decide_top(aslinearoperator(A), lambda *_: None, v0=_start(vecs, overlap, seed), max_steps=steps)
    top = values.max()
    assert got.value <= top + 1e-12 and top <= got.upper + 1e-12
    assert got.products == got.steps == min(steps, 60)
    # the residual bound is a residual: |A y - theta y| <= residual (up to float64 round-off)
    assert np.linalg.norm(A @ got.vector - got.value * got.vector) <= got.residual + 1e-10


def test_the_upper_bound_needs_its_premise():
    """Control: a start vector orthogonal to the top eigenvector hides it, and the bound (which assumes an overlap
    of at least 1e-3) then lies below lambda_max: the premise is stated because it is needed."""
    A, values, vecs = _matrix(3, 60, 0.5)
    got = decide_top(aslinearoperator(A), lambda *_: None, v0=_start(vecs, 0.0, 3), max_steps=8)
    assert got.upper < values.max()


def test_decisions_stop_early_and_a_clear_case_is_decided_in_a_few_products():
    A, values, vecs = _matrix(5, 200, 0.3)
    top = values.max()

    def rule(level):
        return lambda theta, r, upper: "above" if theta > level else "below" if upper < level else None

    above = decide_top(aslinearoperator(A), rule(0.5 * top), v0=_start(vecs, 0.5, 5), max_steps=30)
    below = decide_top(aslinearoperator(A), rule(2.0 * top), v0=_start(vecs, 0.5, 5), max_steps=30)
    assert above.decision == "above" and above.products <= 3
    assert below.decision == "below" and below.products < 30 and below.upper < 2.0 * top


def test_bad_arguments_are_input_errors():
    A = aslinearoperator(np.eye(3))
    for kw in ({"delta": 0.0}, {"max_steps": 0}, {"v0": np.zeros(3)}):
        with pytest.raises(InputError):
            decide_top(A, lambda *_: None, **kw)


def test_float32_decisions_on_a_tiny_net_agree_with_the_dense_hessian():
    """Oracle on a network: a bias-free ReLU net of depth 3, width 12 (1032 parameters) on 64 digits, at its
    initial weights and at weights moved along the gradient; float32 products (as the c_sharp runs use), levels
    0.6, 0.9, 0.98, 1.02, 1.1 and 1.5 times the dense float64 top eigenvalue; every decision reached agrees with
    eigh, and the clear levels (0.6 and 1.5) are decided."""
    from verify.engines.datasets import digits
    from verify.engines.deepnet import DeepNet

    data = digits(dtype=torch.float64)
    x, y = data.x[:64], data.y_onehot[:64]
    net = DeepNet(data.dim, 10, 3, 12, dtype=torch.float64, notify=None)
    theta = net.flatten(net.init(7))

    net32 = DeepNet(data.dim, 10, 3, 12, dtype=torch.float32, notify=None)

    def loss(t):
        return 0.5 * ((net.forward(net.unflatten(t), x) - y) ** 2).mean()

    def loss32(t):
        return 0.5 * ((net32.forward(net32.unflatten(t), x.float()) - y.float()) ** 2).mean()

    grad = torch.func.grad(loss)(theta)
    decided = 0
    for point in (theta, theta - 2.0 * grad / grad.norm()):
        top = float(np.linalg.eigvalsh(torch_dense_hessian(loss, point))[-1])
        h32 = TorchHessian(loss32, point.float())
        for f in (0.6, 0.9, 0.98, 1.02, 1.1, 1.5):
            level = f * top
            got = decide_top(h32, lambda theta, r, upper: ("above" if theta > level else
                                                            "below" if upper < level else None),
                             seed=11, max_steps=30)
            if got.decision is not None:
                decided += 1
                assert (got.decision == "above") == (top > level), (f, got)
            if f in (0.6, 1.5):
                assert got.decision is not None
    assert decided >= 4
