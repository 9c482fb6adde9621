"""The compiled fused tanh kernel against the NumPy path and a direct reference.

The fused kernel (verify/engines/twolayer/_fused.c) is built by ``pip install -e .`` on
x86-64 Linux with glibc.  Where it is not built these tests are skipped, unless
VERIFY_REQUIRE_FUSED is set (CI sets it, so a failed build fails CI).
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.activation import activation_from_spec
from verify.engines.twolayer import NumpyKernel, pack
from verify.engines.twolayer import kernels as kernels_module
from verify.engines.twolayer.kernels import fused_status

TANH = activation_from_spec("tanh")
AVAILABLE, WHY = fused_status(TANH)
if os.environ.get("VERIFY_REQUIRE_FUSED") and not AVAILABLE:
    raise RuntimeError(f"VERIFY_REQUIRE_FUSED is set but the fused kernel is unavailable: {WHY}")
needs_fused = pytest.mark.skipif(not AVAILABLE, reason=WHY)

#: Both paths add the same float64 terms in another order: a few ulps of the
#: largest term of each sum, relative to the largest entry of the field.
PATH_RTOL = 1e-12


def reference(X, p, y, theta, m):
    """Loss and -grad R written out directly from D1, with np.tanh."""
    a, W = theta[:m], theta[m:].reshape(m, -1)
    s = np.tanh(X @ W.T)
    e = s @ a - y
    loss = 0.5 * np.sum(p * e * e)
    da = -(p * e) @ s
    dW = -a[:, None] * (((p * e)[:, None] * (1 - s * s)).T @ X)
    return loss, np.concatenate([da, dW.ravel()])


def problem(seed, n, m, d, scale):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    p = rng.random(n) + 0.1
    p /= p.sum()
    y = rng.standard_normal(n)
    theta = scale * rng.standard_normal(m * (d + 1))
    return X, p, y, theta


def close(u, v, rtol=PATH_RTOL):
    return np.max(np.abs(u - v)) <= rtol * max(np.max(np.abs(v)), 1e-300)


@needs_fused
@settings(deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40), m=st.integers(1, 40), d=st.integers(1, 8),
       scale=st.sampled_from([1e-4, 0.3, 3.0, 40.0]), threads=st.sampled_from([1, 2]))
def test_fused_field_matches_the_reference_and_the_numpy_path(seed, n, m, d, scale, threads):
    X, p, y, theta = problem(seed, n, m, d, scale)
    fused = NumpyKernel(TANH, X, p, y, m, threads=threads)
    plain = NumpyKernel(TANH, X, p, y, m, fused=False)
    assert (fused.variant, plain.variant) == ("fused", "numpy")
    loss, field = fused.loss_and_field(theta)
    ref_loss, ref_field = reference(X, p, y, theta, m)
    plain_loss, plain_field = plain.loss_and_field(theta)
    assert abs(loss - ref_loss) <= PATH_RTOL * ref_loss + 1e-300
    assert close(field, ref_field) and close(field, plain_field)
    assert fused.loss(theta) == pytest.approx(ref_loss, rel=PATH_RTOL, abs=1e-300)


@needs_fused
def test_the_comparison_detects_a_wrong_derivative():
    """Negative control: sigma' = 1 - sigma instead of 1 - sigma^2 is caught by the same tolerance."""
    X, p, y, theta = problem(3, 30, 20, 3, 0.5)
    m = 20
    _, field = NumpyKernel(TANH, X, p, y, m).loss_and_field(theta)
    a, W = theta[:m], theta[m:].reshape(m, -1)
    s = np.tanh(X @ W.T)
    e = s @ a - y
    wrong = np.concatenate([-(p * e) @ s, (-a[:, None] * (((p * e)[:, None] * (1 - s)).T @ X)).ravel()])
    assert not close(field, wrong)


@needs_fused
def test_mini_batches_and_non_contiguous_parameters_use_the_fused_kernel_correctly():
    X, p, y, theta = problem(5, 97, 33, 3, 0.8)
    m = 33
    idx = np.array([3, 7, 7, 50, 96, 0, 12, 13, 14])
    fused = NumpyKernel(TANH, X, p, y, m).on_rows(idx)
    plain = NumpyKernel(TANH, X, p, y, m, fused=False).on_rows(idx)
    assert fused.variant == "fused"
    wide = np.repeat(theta, 2)[::2]                   # a strided view, not contiguous
    assert not wide.flags["C_CONTIGUOUS"]
    assert close(fused.field(wide), plain.field(theta))


def test_dimensions_beyond_the_compiled_ones_and_other_activations_use_the_numpy_path(monkeypatch):
    X, p, y, theta = problem(1, 20, 5, 9, 0.5)
    assert NumpyKernel(TANH, X, p, y, 5).variant == "numpy"
    sin = activation_from_spec("sin")
    X3 = X[:, :3]
    assert NumpyKernel(sin, X3, p, y, 5).variant == "numpy"
    with pytest.raises(ValueError, match="fused kernel requested but unavailable: " +
                       ("the compiled kernel is for tanh, not sin" if AVAILABLE else "")):
        NumpyKernel(sin, X3, p, y, 5, fused=True)
    monkeypatch.setenv("VERIFY_NO_FUSED", "1")
    assert NumpyKernel(TANH, X3, p, y, 5).variant == "numpy"
    assert fused_status(TANH)[0] is False
    if AVAILABLE:
        assert fused_status(TANH)[1] == "VERIFY_NO_FUSED is set"


@needs_fused
def test_bad_arguments_raise_instead_of_reading_out_of_bounds():
    fused = kernels_module._fused
    X, p, y, theta = problem(2, 10, 4, 3, 0.5)
    work = np.empty(fused.work_items(4, 3))
    out = np.empty(16)
    assert np.isfinite(fused.field_rows(X, p, y, theta, 0, 10, out, work))
    bad = [
        ((X, p, y, theta, 0, 11, out, work), ValueError, "row range"),
        ((X, p, y, theta, 5, 4, out, work), ValueError, "row range"),
        ((X, p, y[:9], theta, 0, 10, out, work), ValueError, "y has 9 items"),
        ((X, p, y, theta[:15], 0, 10, out, work), ValueError, "theta"),
        ((X, p, y, theta, 0, 10, out[:15], work), ValueError, "out has 15 items"),
        ((X, p, y, theta, 0, 10, out, work[:-1]), ValueError, "work has"),
        ((X, p, y, theta.astype(np.float32), 0, 10, out, work), TypeError, "float64"),
        ((np.ones((10, 9)), p, y, np.ones(40), 0, 10, None, work), ValueError, "d <="),
        ((X, p, y, theta, 0, 10, out), TypeError, "8 arguments"),
    ]
    for args, error, text in bad:
        with pytest.raises(error, match=text):
            fused.field_rows(*args)


@needs_fused
def test_a_flow_run_is_the_same_with_either_path():
    """Integrated trajectories from the two paths agree to round-off amplified by the flow."""
    from verify.engines import FlowOptions, integrate_flow
    from verify.multistage._initialisation import initial_parameters

    X, p, y, _ = problem(9, 120, 60, 3, 1.0)
    a0, W0 = initial_parameters(60, 3, 1.0, 4)
    theta0 = pack(a0, W0)
    runs = [integrate_flow(NumpyKernel(TANH, X, p, y, 60, fused=f), theta0, 15.0, scale=60 ** -1.0,
                           options=FlowOptions(solver="RK45", rtol=1e-9, grid=16)) for f in (True, False)]
    assert runs[0].info["kernel"] == "fused" and runs[1].info["kernel"] == "numpy"
    assert np.array_equal(runs[0].t, runs[1].t)
    assert np.max(np.abs(runs[0].theta - runs[1].theta)) <= 1e-10 * np.max(np.abs(runs[1].theta))
