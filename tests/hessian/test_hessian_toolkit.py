"""The Hessian toolkit against closed forms and dense oracles.

Oracles and why they are trusted: a quadratic form 0.5 theta^T A theta has Hessian A exactly; a linear
model under the MSE 0.5 mean((W x - y)^2) over n x c has Hessian I_c (x) X^T X / (n c) exactly (one
weight layer of DeepNet); on small MLPs the dense Hessian from torch.func (jacrev of grad) with LAPACK's
eigh is exact to round-off. For a symmetric H and a unit v, some eigenvalue lies within |H v - lambda v|
of lambda: the Lanczos result is judged by that bound, not by a literal tolerance.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.sparse.linalg import aslinearoperator

from theory.errors import InputError
from verify.engines.datasets import synthetic
from verify.engines.deepnet import DeepNet
from verify.hessian import (ROUTES, TorchHessian, bottom_eigenpair, dense_from_operator, full_spectrum, lanczos,
                            power_iteration, top_eigenpair, torch_dense_hessian)

EPS = np.finfo(float).eps
#: float64 autodiff of the same function by different routes: a few hundred operations per entry,
#: round-off well below 1e-12 relative to the largest entry.
ROUTE_RTOL = 1e-12


def _slack(H: np.ndarray) -> float:
    """Round-off allowance on an eigenvalue of a dense float64 H: n eps ||H||."""
    return H.shape[0] * EPS * np.linalg.norm(H, 2)


@pytest.fixture(scope="module")
def quadratic():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    A = Q @ np.diag(np.linspace(-2.0, 5.0, 30)) @ Q.T
    A = (A + A.T) / 2
    At = torch.as_tensor(A)
    return A, (lambda t: 0.5 * t @ At @ t), torch.as_tensor(rng.standard_normal(30))


def _mlp(activation: str, seed: int = 0):
    data = synthetic(40, 5, 3, seed=seed, dtype=torch.float64)
    net = DeepNet(5, 3, depth=3, width=7, activation=activation, dtype=torch.float64)
    theta = net.flatten(net.init(seed)) * 1.5          # off the initial scale: a less degenerate Hessian
    return net, data, theta


@pytest.mark.parametrize("route", ROUTES)
def test_quadratic_form_has_hessian_a_by_every_route(quadratic, route):
    A, f, theta = quadratic
    h = TorchHessian(f, theta, route=route)
    H = dense_from_operator(h)
    assert np.abs(H - A).max() < 1e3 * EPS * np.abs(A).max()
    assert h.products == 30
    assert np.allclose(h.gradient.numpy(), A @ theta.numpy(), rtol=0, atol=1e3 * EPS * np.abs(A).max())
    # negative control: a perturbation of one entry pair by 1e-6 is detected
    B = A.copy()
    B[3, 7] += 1e-6
    B[7, 3] += 1e-6
    assert np.abs(H - B).max() > 1e3 * EPS * np.abs(A).max()


def test_linear_model_hessian_is_the_closed_form():
    data = synthetic(50, 4, 3, seed=2, dtype=torch.float64)
    net = DeepNet(4, 3, depth=1, width=1, dtype=torch.float64)
    theta = net.flatten(net.init(0))
    H = dense_from_operator(TorchHessian(net.flat_loss(data), theta))
    X = data.x.numpy()
    expected = np.kron(np.eye(3), X.T @ X) / (50 * 3)
    assert np.abs(H - expected).max() < 1e2 * EPS * np.abs(expected).max()
    assert np.abs(H - np.kron(np.eye(3), X.T @ X) / 50).max() > 0.1 * np.abs(expected).max()   # mean over classes


def test_lanczos_ends_of_a_known_spectrum(quadratic):
    A, f, theta = quadratic
    h = TorchHessian(f, theta)
    top, bottom = top_eigenpair(h), bottom_eigenpair(h)
    assert top.converged and bottom.converged
    assert top.value == pytest.approx(5.0, abs=1e-9) and bottom.value == pytest.approx(-2.0, abs=1e-9)
    assert np.linalg.norm(A @ top.vector - 5.0 * top.vector) < 1e-6
    assert top.products + bottom.products == h.products      # every product is counted
    assert top_eigenpair(h, seed=0).value == top.value       # seeded start vector: reproducible


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_lanczos_matches_dense_eigh_on_small_mlps(activation):
    net, data, theta = _mlp(activation)
    loss = net.flat_loss(data)
    H = torch_dense_hessian(loss, theta)
    spec = full_spectrum(H)
    h = TorchHessian(loss, theta)
    top, bottom = top_eigenpair(h), bottom_eigenpair(h)
    slack = _slack(H)
    for pair, exact in ((top, spec.values[-1]), (bottom, spec.values[0])):
        assert pair.converged
        assert abs(pair.value - exact) <= pair.residual + slack, (pair, exact)
        assert pair.residual < 1e-6 * np.abs(spec.values).max()
    assert bottom.value < 0 < top.value                      # ReLU and GELU nets: indefinite Hessians
    assert abs(top.vector @ spec.vectors[:, -1]) > 1 - 1e-6
    # negative control: the residual bound rejects the second eigenvalue as the top one
    gap = spec.values[-1] - spec.values[-2]
    assert gap > top.residual + slack
    assert not abs(top.value - spec.values[-2]) <= top.residual + slack


def test_dense_oracle_agrees_with_products():
    """torch.func's jacrev-of-grad against n products of the default route (the other routes are compared
    product by product below)."""
    net, data, theta = _mlp("gelu", seed=1)
    loss = net.flat_loss(data)
    a = torch_dense_hessian(loss, theta, chunk_size=16)
    b = dense_from_operator(TorchHessian(loss, theta))
    assert np.abs(a - b).max() <= ROUTE_RTOL * np.abs(a).max()
    assert np.abs(a - b * (1 + 1e-9)).max() > ROUTE_RTOL * np.abs(a).max()   # negative control


def test_hvp_routes_agree_and_match_finite_differences():
    net, data, theta = _mlp("gelu", seed=2)
    loss = net.flat_loss(data)
    v = torch.randn(theta.numel(), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    products = [TorchHessian(loss, theta, route=r).hvp(v) for r in ROUTES]
    scale = products[0].abs().max()
    for p in products[1:]:
        assert (p - products[0]).abs().max() <= ROUTE_RTOL * scale
    # independent check: central differences of the gradient, error O(h^2) + O(eps / h); h = 1e-5 gives ~1e-9
    step = 1e-5
    grad = torch.func.grad(loss)
    fd = (grad(theta + step * v) - grad(theta - step * v)) / (2 * step)
    assert (fd - products[0]).abs().max() < 1e-6 * scale
    assert (fd - 1.001 * products[0]).abs().max() > 1e-6 * scale   # negative control: a 0.1 % error is seen


def test_power_iteration_against_lanczos():
    net, data, theta = _mlp("relu", seed=3)
    loss = net.flat_loss(data)
    h = TorchHessian(loss, theta)
    top = top_eigenpair(h)
    bottom = bottom_eigenpair(h)
    assert top.value > abs(bottom.value)                     # power iteration then seeks the top eigenvalue
    short = power_iteration(h, 20, seed=0)
    assert short.products == 20 and short.method == "power(20)"
    # a Rayleigh quotient lies within the spectrum
    assert bottom.value - bottom.residual <= short.value <= top.value + top.residual
    # the long run on the dense matrix of the same Hessian (cheap products) reaches the Lanczos value
    dense = aslinearoperator(torch_dense_hessian(loss, theta))
    long = power_iteration(dense, 2000, seed=0, rtol=1e-8)
    assert long.converged
    assert abs(long.value - top.value) <= long.residual + top.residual
    assert abs(short.value - top.value) >= abs(long.value - top.value)
    assert power_iteration(h, 20, seed=0).value == short.value      # fixed start vector: reproducible


def test_warm_start_needs_fewer_products():
    net, data, theta = _mlp("gelu", seed=4)
    loss = net.flat_loss(data)
    first = top_eigenpair(TorchHessian(loss, theta))
    moved = theta + 1e-3 * torch.randn(theta.numel(), generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    cold = top_eigenpair(TorchHessian(loss, moved), seed=1)
    warm = top_eigenpair(TorchHessian(loss, moved), v0=first.vector)
    assert cold.converged and warm.converged
    assert abs(cold.value - warm.value) <= cold.residual + warm.residual + 1e-12
    assert warm.products < cold.products, (warm.products, cold.products)


def test_no_convergence_returns_the_best_estimate_flagged():
    net, data, theta = _mlp("relu", seed=5)
    h = TorchHessian(net.flat_loss(data), theta)
    pair = lanczos(h, "SA", tol=1e-15, maxiter=1, ncv=4)
    assert not pair.converged
    assert np.isfinite(pair.value) and pair.residual > 0
    assert pair.vector.shape == (theta.numel(),) and np.linalg.norm(pair.vector) == pytest.approx(1.0)


def test_float32_products_convert_at_the_scipy_boundary():
    net, data, theta = _mlp("gelu", seed=6)
    net32 = DeepNet(5, 3, depth=3, width=7, activation="gelu", dtype=torch.float32)
    data32 = synthetic(40, 5, 3, seed=6)
    h32 = TorchHessian(net32.flat_loss(data32), theta.float())
    v = np.random.default_rng(0).standard_normal(theta.numel())
    assert h32.matvec(v).dtype == np.float64
    top64, top32 = top_eigenpair(TorchHessian(net.flat_loss(data), theta)), top_eigenpair(h32)
    assert top32.converged
    assert top32.value == pytest.approx(top64.value, rel=1e-4)   # float32 round-off ~1e-7 per product


def test_dense_size_limit_is_refused_with_the_memory_needed():
    net, data, theta = _mlp("relu")
    with pytest.raises(InputError, match=r"needs .* MiB") as err:
        torch_dense_hessian(net.flat_loss(data), theta, max_params=50)
    assert "\n" not in str(err.value) and str(theta.numel()) in str(err.value)
    with pytest.raises(InputError, match="limit 50"):
        dense_from_operator(TorchHessian(net.flat_loss(data), theta), max_params=50)
    with pytest.raises(InputError, match="route"):
        TorchHessian(net.flat_loss(data), theta, route="finite_differences")
    with pytest.raises(InputError, match="which"):
        lanczos(TorchHessian(net.flat_loss(data), theta), "LM")
