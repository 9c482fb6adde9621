"""The constant-folded dense Hessian route and power iteration with deflation.

Oracles and why they are trusted: ``jacrev`` of ``grad`` and ``n`` products of the default
double-backward route are independent autodiff computations of the same Hessian (exact to round-off);
a quadratic form 0.5 theta^T A theta has Hessian A exactly; a symmetric matrix built as Q diag(d) Q^T
from an orthogonal Q has the eigenpairs (d_i, Q e_i) to round-off.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.sparse.linalg import aslinearoperator

from theory.errors import InputError
from verify.engines.datasets import synthetic
from verify.engines.deepnet import DeepNet
from verify.hessian import DENSE_ROUTES, TorchHessian, dense_from_operator, folded_hvp, power_iteration, \
    torch_dense_hessian

EPS = np.finfo(float).eps
#: float64 autodiff of the same function by different routes: a few hundred operations per entry,
#: round-off well below 1e-12 relative to the largest entry.
ROUTE_RTOL = 1e-12


def _mlp(activation: str, loss: str, seed: int):
    data = synthetic(40, 5, 3, seed=seed, dtype=torch.float64)
    net = DeepNet(5, 3, depth=3, width=7, activation=activation, dtype=torch.float64)
    theta = net.flatten(net.init(seed)) * 1.5
    return net.flat_loss(data, loss), theta


def test_folded_route_matches_jacrev_and_products():
    loss_fn, theta = _mlp("gelu", "cross_entropy", seed=11)
    folded = torch_dense_hessian(loss_fn, theta, chunk_size=7, route="folded")
    jacrev = torch_dense_hessian(loss_fn, theta, route="jacrev")
    products = dense_from_operator(TorchHessian(loss_fn, theta))
    scale = np.abs(products).max()
    assert np.abs(folded - jacrev).max() <= ROUTE_RTOL * scale
    assert np.abs(folded - products).max() <= ROUTE_RTOL * scale
    # all columns in one vmapped batch give the same matrix
    assert np.abs(torch_dense_hessian(loss_fn, theta, chunk_size=None, route="folded") - folded).max() <= ROUTE_RTOL * scale
    # negative control: one entry pair off by 1e-9 of the scale is seen
    wrong = folded.copy()
    wrong[2, 5] += 1e-9 * scale
    wrong[5, 2] += 1e-9 * scale
    assert np.abs(wrong - products).max() > ROUTE_RTOL * scale


def test_folded_route_with_relu_and_mse():
    """ReLU's derivative kernel (threshold_backward) and the MSE are folded too."""
    loss_fn, theta = _mlp("relu", "mse", seed=14)
    folded = torch_dense_hessian(loss_fn, theta, chunk_size=32, route="folded")
    products = dense_from_operator(TorchHessian(loss_fn, theta))
    scale = np.abs(products).max()
    assert np.abs(folded - products).max() <= ROUTE_RTOL * scale
    assert np.abs(folded - 1.000001 * products).max() > ROUTE_RTOL * scale      # negative control


def test_folded_product_is_one_hessian_vector_product():
    loss_fn, theta = _mlp("gelu", "cross_entropy", seed=12)
    v = torch.randn(theta.numel(), generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    product = folded_hvp(loss_fn, theta)
    expected = TorchHessian(loss_fn, theta).hvp(v)
    scale = expected.abs().max()
    assert (product(v) - expected).abs().max() <= ROUTE_RTOL * scale
    assert (product(2 * v) - 2 * expected).abs().max() <= ROUTE_RTOL * scale      # linear in v
    assert (product(v + theta) - expected).abs().max() > 1e-3 * scale            # negative control


def test_folded_route_on_closed_forms():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((12, 12))
    A = (A + A.T) / 2
    At = torch.as_tensor(A)
    theta = torch.as_tensor(rng.standard_normal(12))
    for route in DENSE_ROUTES:
        H = torch_dense_hessian(lambda t: 0.5 * t @ At @ t, theta, chunk_size=5, route=route)
        assert np.abs(H - A).max() < 1e3 * EPS * np.abs(A).max()
    b = torch.as_tensor(rng.standard_normal(12))
    for route in DENSE_ROUTES:
        assert np.abs(torch_dense_hessian(lambda t: b @ t, theta, route=route)).max() == 0   # affine: H = 0


def test_dense_route_options_are_checked():
    loss_fn, theta = _mlp("relu", "mse", seed=13)
    with pytest.raises(InputError, match="route") as err:
        torch_dense_hessian(loss_fn, theta, route="vhp")
    assert all(r in str(err.value) for r in DENSE_ROUTES) and "\n" not in str(err.value)
    with pytest.raises(InputError, match="chunk_size"):
        torch_dense_hessian(loss_fn, theta, chunk_size=0)


@pytest.fixture(scope="module")
def known_spectrum():
    """A 40 x 40 symmetric matrix with eigenvalues 10, 8, 6, 4, 2 over a bulk in [-0.5, 0.5]."""
    rng = np.random.default_rng(5)
    Q, _ = np.linalg.qr(rng.standard_normal((40, 40)))
    d = np.concatenate([[10.0, 8.0, 6.0, 4.0, 2.0], np.linspace(-0.5, 0.5, 35)])
    return Q @ np.diag(d) @ Q.T, d, Q


def test_deflation_finds_the_next_eigenpairs(known_spectrum):
    A, d, Q = known_spectrum
    op = aslinearoperator(A)
    found = []
    for i in range(4):
        pair = power_iteration(op, 400, seed=i, rtol=1e-10, deflate=found or None)
        assert pair.converged and pair.products == 400
        assert abs(pair.value - d[i]) <= 1e3 * EPS * d[0]
        assert abs(pair.vector @ Q[:, i]) > 1 - 1e-10
        found.append(pair.vector)
    assert pair.method == "power(400, deflated 3)"
    # the exact eigenvectors as an n x k array, or as a list of rows, deflate alike
    fourth = power_iteration(op, 400, seed=0, deflate=Q[:, :3])
    assert fourth.value == pytest.approx(d[3], rel=1e-12)
    assert power_iteration(op, 400, seed=0, deflate=list(Q[:, :3].T)).value == pytest.approx(fourth.value, rel=1e-14)
    # negative control: without the deflation the same run returns the top eigenvalue, not the fourth
    assert abs(power_iteration(op, 400, seed=0).value - d[3]) > 1.0


def test_change_tolerance_stops_early(known_spectrum):
    A, d, _ = known_spectrum
    op = aslinearoperator(A)
    loose = power_iteration(op, 1000, seed=0, change_tol=1e-3)
    tight = power_iteration(op, 1000, seed=0, change_tol=1e-12)
    assert loose.products < tight.products < 1000
    assert abs(tight.value - d[0]) < abs(loose.value - d[0])
    # ratio 8/10: the Rayleigh quotient's error falls as 0.64^k, so a change below 1e-3 leaves an error of
    # about that order; it is not yet within 1e-9
    assert abs(loose.value - d[0]) > 1e-9 * d[0]
    assert abs(tight.value - d[0]) <= 1e-10 * d[0]


def test_deflation_input_is_checked(known_spectrum):
    A, _, Q = known_spectrum
    op = aslinearoperator(A)
    with pytest.raises(InputError, match="deflate"):
        power_iteration(op, 10, deflate=np.ones(7))
    with pytest.raises(InputError, match="linearly dependent"):
        power_iteration(op, 10, deflate=[Q[:, 0], 2 * Q[:, 0]])
    with pytest.raises(InputError, match="outside the deflated"):
        power_iteration(op, 10, v0=Q[:, 0], deflate=[Q[:, 0]])
    with pytest.raises(InputError, match="change_tol"):
        power_iteration(op, 10, change_tol=0)
