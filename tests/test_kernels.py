"""The compiled fused kernel (tanh, sin, erf) against the NumPy path and a direct reference.

The fused kernel (verify/multistage/engine/_fused.c) is built by ``pip install -e .`` on
x86-64 Linux with glibc.  Where it is not built these tests are skipped, unless
VERIFY_REQUIRE_FUSED is set (CI sets it, so a failed build fails CI).
"""
from __future__ import annotations

import os

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.multistage.activation import S, activation_from_spec
from theory.bridge import numeric
from verify.multistage.engine import NumpyKernel, pack
from verify.multistage.engine import kernels as kernels_module
from verify.multistage.engine.kernels import fused_form, fused_status

TANH = activation_from_spec("tanh")
SIN = activation_from_spec("sin")
ERF = activation_from_spec("erf")                  # erf(sqrt(pi) s / 2): the kernel's scale c is not 1
#: The activations with a compiled kernel, and a scaled sin and an unscaled erf for the scale argument.
FUSED_ACTIVATIONS = {"tanh": TANH, "sin": SIN, "erf": ERF, "sin(2*s)": activation_from_spec("sin(2*s)"),
                     "erf(s)": activation_from_spec("erf(s)")}
AVAILABLE, WHY = fused_status(TANH)
if os.environ.get("VERIFY_REQUIRE_FUSED") and not AVAILABLE:
    raise RuntimeError(f"VERIFY_REQUIRE_FUSED is set but the fused kernel is unavailable: {WHY}")
needs_fused = pytest.mark.skipif(not AVAILABLE, reason=WHY)

#: Both paths add the same float64 terms in another order: a few ulps of the
#: largest term of each sum, relative to the largest entry of the field.
PATH_RTOL = 1e-12


def reference(X, p, y, theta, m, activation, dsigma=None):
    """Loss and -grad R written out directly from D1, with sigma and sigma' evaluated from the SymPy
    expressions of ``activation`` (``dsigma`` replaces sigma' for the negative controls)."""
    sigma = numeric(activation.expr, (S,))
    dsigma = dsigma or numeric(activation.derivative(1), (S,))
    a, W = theta[:m], theta[m:].reshape(m, -1)
    z = X @ W.T
    s = np.broadcast_to(sigma(z), z.shape)
    e = s @ a - y
    loss = 0.5 * np.sum(p * e * e)
    da = -(p * e) @ s
    dW = -a[:, None] * (((p * e)[:, None] * np.broadcast_to(dsigma(z), z.shape)).T @ X)
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
@settings(deadline=None, max_examples=150)
@given(name=st.sampled_from(sorted(FUSED_ACTIVATIONS)), seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40),
       m=st.integers(1, 40), d=st.integers(1, 8), scale=st.sampled_from([1e-4, 0.3, 3.0, 40.0]),
       threads=st.sampled_from([1, 2]))
def test_fused_field_matches_the_reference_and_the_numpy_path(name, seed, n, m, d, scale, threads):
    activation = FUSED_ACTIVATIONS[name]
    X, p, y, theta = problem(seed, n, m, d, scale)
    fused = NumpyKernel(activation, X, p, y, m, threads=threads)
    plain = NumpyKernel(activation, X, p, y, m, fused=False)
    assert (fused.variant, plain.variant) == ("fused", "numpy")
    loss, field = fused.loss_and_field(theta)
    ref_loss, ref_field = reference(X, p, y, theta, m, activation)
    plain_loss, plain_field = plain.loss_and_field(theta)
    assert abs(loss - ref_loss) <= PATH_RTOL * ref_loss + 1e-300
    assert abs(plain_loss - ref_loss) <= PATH_RTOL * ref_loss + 1e-300
    assert close(field, ref_field) and close(field, plain_field)
    assert fused.loss(theta) == pytest.approx(ref_loss, rel=PATH_RTOL, abs=1e-300)


#: Plausible wrong derivatives: tanh' as 1 - sigma, a sign slip for sin, and erf'(c s) without the chain
#: factor c of the built-in erf(sqrt(pi) s / 2).
WRONG_DERIVATIVES = {
    "tanh": 1 - sp.tanh(S),
    "sin": -sp.cos(S),
    "erf": 2 / sp.sqrt(sp.pi) * sp.exp(-(sp.sqrt(sp.pi) * S / 2) ** 2),
}


@needs_fused
@pytest.mark.parametrize("name", sorted(WRONG_DERIVATIVES))
def test_the_comparison_detects_a_wrong_derivative(name):
    """Negative control: the reference built from a wrong sigma' fails the same comparison that the
    reference built from the derived sigma' passes."""
    activation = FUSED_ACTIVATIONS[name]
    X, p, y, theta = problem(3, 30, 20, 3, 0.5)
    m = 20
    kernel = NumpyKernel(activation, X, p, y, m)
    assert kernel.variant == "fused"
    _, field = kernel.loss_and_field(theta)
    assert close(field, reference(X, p, y, theta, m, activation)[1])
    wrong = reference(X, p, y, theta, m, activation, dsigma=numeric(WRONG_DERIVATIVES[name], (S,)))[1]
    assert not close(field, wrong)


@needs_fused
@pytest.mark.parametrize("name", ["tanh", "sin", "erf"])
def test_mini_batches_and_non_contiguous_parameters_use_the_fused_kernel_correctly(name):
    activation = FUSED_ACTIVATIONS[name]
    X, p, y, theta = problem(5, 97, 33, 3, 0.8)
    m = 33
    idx = np.array([3, 7, 7, 50, 96, 0, 12, 13, 14])
    fused = NumpyKernel(activation, X, p, y, m).on_rows(idx)
    plain = NumpyKernel(activation, X, p, y, m, fused=False).on_rows(idx)
    assert fused.variant == "fused"
    wide = np.repeat(theta, 2)[::2]                   # a strided view, not contiguous
    assert not wide.flags["C_CONTIGUOUS"]
    assert close(fused.field(wide), plain.field(theta))


def test_the_fused_forms_are_read_from_the_sympy_expression():
    assert fused_form(TANH) == ("tanh", 1.0) and fused_form(SIN) == ("sin", 1.0)
    assert fused_form(ERF) == ("erf", pytest.approx(np.sqrt(np.pi) / 2, rel=1e-15))
    assert fused_form(activation_from_spec("tanh(3*s/2)")) == ("tanh", 1.5)
    for spec in ("s + s**3/3", "atan(s)", "tanh(s) + s**3", "sin(s)**2 + s", "sin(s + 1) - sin(1)",
                 "erf(s**3) + s", "tanh(s)/2 + sin(s)/2"):
        assert fused_form(activation_from_spec(spec)) is None, spec


@pytest.mark.parametrize("spec", ["atan(s)", "s - s**3/3", "tanh(s) + s**3"])
def test_other_activations_and_dimensions_beyond_the_compiled_ones_use_the_numpy_path(spec, monkeypatch):
    X, p, y, theta = problem(1, 20, 5, 9, 0.5)
    assert NumpyKernel(TANH, X, p, y, 5).variant == "numpy"          # d = 9 > MAX_D
    if AVAILABLE:
        assert fused_status(TANH, 9) == (False, "the compiled kernel takes input dimensions 1..8, not 9")
    other = activation_from_spec(spec)
    X3 = X[:, :3]
    kernel = NumpyKernel(other, X3, p, y, 5)
    assert kernel.variant == "numpy"
    usable, why = fused_status(other, 3)
    assert not usable
    if AVAILABLE:
        assert why == ("the compiled kernel is for tanh(c*s), sin(c*s) and erf(c*s) with a real constant c, "
                       f"not {other.expr}")
    with pytest.raises(ValueError, match="fused kernel requested but unavailable: " + ("the compiled kernel is for"
                                                                                        if AVAILABLE else "")):
        NumpyKernel(other, X3, p, y, 5, fused=True)
    # the NumPy path of another activation still computes the field of D1
    loss, field = kernel.loss_and_field(theta[:20])
    ref_loss, ref_field = reference(X3, p, y, theta[:20], 5, other)
    assert loss == pytest.approx(ref_loss, rel=PATH_RTOL) and close(field, ref_field)
    monkeypatch.setenv("VERIFY_NO_FUSED", "1")
    for activation in (TANH, SIN, ERF):
        assert NumpyKernel(activation, X3, p, y, 5).variant == "numpy"
        assert fused_status(activation)[0] is False
        if AVAILABLE:
            assert fused_status(activation)[1] == "VERIFY_NO_FUSED is set"


def test_a_stale_build_is_detected(monkeypatch):
    class Stale:
        VERSION = kernels_module._FUSED_VERSION - 1

    monkeypatch.setattr(kernels_module, "_fused", Stale)
    usable, why = fused_status(SIN, 3)
    assert not usable and "stale build" in why
    X, p, y, _ = problem(1, 10, 4, 3, 0.5)
    assert NumpyKernel(SIN, X, p, y, 4).variant == "numpy"


@needs_fused
def test_bad_arguments_raise_instead_of_reading_out_of_bounds():
    fused = kernels_module._fused
    X, p, y, theta = problem(2, 10, 4, 3, 0.5)
    work = np.empty(fused.work_items(4, 3))
    out = np.empty(16)
    assert fused.ACTIVATIONS == ("tanh", "sin", "erf")
    for code in range(3):
        for precision in (0, 1):
            assert np.isfinite(fused.field_rows(X, p, y, theta, 0, 10, out, work, code, 1.0, precision))
    bad = [
        ((X, p, y, theta, 0, 11, out, work, 0, 1.0, 0), ValueError, "row range"),
        ((X, p, y, theta, 5, 4, out, work, 0, 1.0, 0), ValueError, "row range"),
        ((X, p, y[:9], theta, 0, 10, out, work, 0, 1.0, 0), ValueError, "y has 9 items"),
        ((X, p, y, theta[:15], 0, 10, out, work, 0, 1.0, 0), ValueError, "theta"),
        ((X, p, y, theta, 0, 10, out[:15], work, 0, 1.0, 0), ValueError, "out has 15 items"),
        ((X, p, y, theta, 0, 10, out, work[:-1], 1, 1.0, 0), ValueError, "work has"),
        ((X, p, y, theta.astype(np.float32), 0, 10, out, work, 0, 1.0, 0), TypeError, "float64"),
        ((np.ones((10, 9)), p, y, np.ones(40), 0, 10, None, work, 0, 1.0, 0), ValueError, "d <="),
        ((X, p, y, theta, 0, 10, out, work, 3, 1.0, 0), ValueError, "activation code 3"),
        ((X, p, y, theta, 0, 10, out, work, -1, 1.0, 0), ValueError, "activation code -1"),
        ((X, p, y, theta, 0, 10, out, work, 1, 0.0, 0), ValueError, "scale must be finite and nonzero"),
        ((X, p, y, theta, 0, 10, out, work, 2, float("nan"), 0), ValueError, "scale must be finite and nonzero"),
        ((X, p, y, theta, 0, 10, out, work, 0, 1.0, 2), ValueError, "precision 2"),
        ((X, p, y, theta, 0, 10, out, work, 0, 1.0), TypeError, "11 arguments"),
    ]
    for args, error, text in bad:
        with pytest.raises(error, match=text):
            fused.field_rows(*args)


@needs_fused
@pytest.mark.parametrize("name", ["tanh", "sin", "erf"])
def test_a_flow_run_is_the_same_with_either_path(name):
    """Integrated trajectories from the two paths agree to round-off amplified by the flow."""
    from verify.engines import FlowOptions, integrate_flow
    from verify.multistage.initialisation import initial_parameters

    activation = FUSED_ACTIVATIONS[name]
    X, p, y, _ = problem(9, 120, 60, 3, 1.0)
    a0, W0 = initial_parameters(60, 3, 1.0, 4)
    theta0 = pack(a0, W0)
    runs = [integrate_flow(NumpyKernel(activation, X, p, y, 60, fused=f), theta0, 15.0, scale=60 ** -1.0,
                           options=FlowOptions(solver="RK45", rtol=1e-9, grid=16)) for f in (True, False)]
    assert runs[0].info["kernel"] == "fused" and runs[1].info["kernel"] == "numpy"
    assert np.array_equal(runs[0].t, runs[1].t)
    assert np.max(np.abs(runs[0].theta - runs[1].theta)) <= 1e-10 * np.max(np.abs(runs[1].theta))


@pytest.mark.parametrize("fused", [pytest.param(True, marks=needs_fused), False])
@pytest.mark.parametrize("threads", [1, 3])
def test_a_concurrent_copy_gives_the_same_numbers_while_the_kernel_runs(fused, threads):
    """The copy that evaluates the recorded losses in a second thread sums the same rows in the same order,
    with work arrays of its own: bit-identical losses, also while the original evaluates fields at once."""
    from concurrent.futures import ThreadPoolExecutor

    X, p, y, _ = problem(3, 200, 50, 3, 1.0)
    kernel = NumpyKernel(TANH, X, p, y, 50, threads=threads, fused=fused)
    twin = kernel.concurrent_copy()
    rng = np.random.default_rng(0)
    thetas = [rng.standard_normal(kernel.size) for _ in range(40)]
    expected = [kernel.loss(th) for th in thetas]
    fields = [kernel.field(th) for th in thetas]
    with ThreadPoolExecutor(1) as side:
        futures = [side.submit(twin.loss, th) for th in thetas]
        again = [kernel.field(th) for th in thetas]          # the original keeps working meanwhile
        losses = [f.result() for f in futures]
    assert losses == expected
    assert all(np.array_equal(f, g) for f, g in zip(fields, again))
    assert twin.evaluations == 0
    work = (lambda k: k._chunks) if fused else (lambda k: k._buffers)
    assert work(twin) is not work(kernel)
    # control: a plain copy would share the original's work arrays, and the check above would see it
    assert work(__import__("copy").copy(kernel)) is work(kernel)


@needs_fused
def test_the_recorded_losses_of_a_flow_run_are_those_of_the_recorded_states():
    """integrate_flow evaluates the recorded losses in a second thread: the same values as afterwards."""
    from verify.engines import FlowOptions, integrate_flow
    from verify.multistage.initialisation import initial_parameters

    X, p, y, _ = problem(9, 120, 60, 3, 1.0)
    kernel = NumpyKernel(TANH, X, p, y, 60)
    a0, W0 = initial_parameters(60, 3, 1.0, 4)
    run = integrate_flow(kernel, pack(a0, W0), 15.0, scale=60 ** -1.0, options=FlowOptions(rtol=1e-9, grid=31))
    assert len(run.loss) == len(run.t) == 31
    assert run.loss.tolist() == [kernel.loss(th) for th in run.theta]


@needs_fused
@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs os.sched_setaffinity (Linux)")
def _thread_names_at_each_evaluation(monkeypatch) -> list:
    """The names of the live threads, recorded at every loss-and-field evaluation of a NumpyKernel (a spy on
    ``NumpyKernel.loss_and_field``; clear the list between runs)."""
    import threading

    seen = []
    original = NumpyKernel.loss_and_field

    def spy(self, theta):
        seen.extend(t.name for t in threading.enumerate())
        return original(self, theta)

    monkeypatch.setattr(NumpyKernel, "loss_and_field", spy)
    return seen


def test_on_one_core_the_recorded_losses_come_after_the_integration_with_the_same_numbers(monkeypatch):
    """With one core the flow does not start the loss thread (it would only compete): same trajectory, same
    losses, and no thread named recorded-losses while it runs."""
    from verify.engines import FlowOptions, flow as flow_module, integrate_flow
    from verify.multistage.initialisation import initial_parameters

    X, p, y, _ = problem(9, 120, 60, 3, 1.0)
    a0, W0 = initial_parameters(60, 3, 1.0, 4)
    seen = _thread_names_at_each_evaluation(monkeypatch)
    runs = {}
    for cores in (1, 2):
        monkeypatch.setattr(flow_module, "_cores", lambda cores=cores: cores)
        seen.clear()
        runs[cores] = integrate_flow(NumpyKernel(TANH, X, p, y, 60), pack(a0, W0), 15.0, scale=60 ** -1.0,
                                     options=FlowOptions(rtol=1e-9, grid=31))
        assert any(name.startswith("recorded-losses") for name in seen) == (cores > 1)
    assert np.array_equal(runs[1].theta, runs[2].theta) and runs[1].loss.tolist() == runs[2].loss.tolist()


@needs_fused
@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs os.sched_setaffinity (Linux)")
def test_when_the_kernels_threads_take_every_core_the_recorded_losses_come_after(monkeypatch):
    """Two kernel threads on two cores: no recorded-losses thread (it would take a core from a kernel thread at
    every recording), one with a core to spare; the same trajectory and losses either way (each chunk's rows are
    summed in the same order whatever thread runs it)."""
    from verify.engines import FlowOptions, flow as flow_module, integrate_flow
    from verify.multistage.initialisation import initial_parameters

    X, p, y, _ = problem(9, 120, 60, 3, 1.0)
    a0, W0 = initial_parameters(60, 3, 1.0, 4)
    seen = _thread_names_at_each_evaluation(monkeypatch)
    runs = {}
    for cores, threads in ((2, 2), (3, 2)):
        monkeypatch.setattr(flow_module, "_cores", lambda cores=cores: cores)
        seen.clear()
        kernel = NumpyKernel(TANH, X, p, y, 60, threads=threads)
        assert len(kernel._chunks) == 2
        runs[cores] = integrate_flow(kernel, pack(a0, W0), 15.0, scale=60 ** -1.0,
                                     options=FlowOptions(rtol=1e-9, grid=31))
        assert any(name.startswith("recorded-losses") for name in seen) == (cores > threads)
        assert any(name.startswith("kernel-rows") for name in seen)
    assert np.array_equal(runs[2].theta, runs[3].theta) and runs[2].loss.tolist() == runs[3].loss.tolist()


@pytest.mark.parametrize("spec", ["s", "2*s"])
def test_a_linear_activation_whose_derivative_is_a_constant_computes_the_field(spec):
    # sigma' lambdifies to a scalar here; the field once failed with a matmul error on it
    X, p, y, theta = problem(3, 20, 5, 3, 0.5)
    linear = activation_from_spec(spec)
    loss, field = NumpyKernel(linear, X, p, y, 5).loss_and_field(theta[:20])
    ref_loss, ref_field = reference(X, p, y, theta[:20], 5, linear)
    assert loss == pytest.approx(ref_loss, rel=PATH_RTOL) and close(field, ref_field)
    # control: the comparison sees a derivative off by 10 %
    _, wrong = reference(X, p, y, theta[:20], 5, linear, dsigma=lambda s: 1.1 * numeric(linear.derivative(1), (S,))(s))
    assert not close(field, wrong)


@needs_fused
@pytest.mark.parametrize("name", ["tanh", "sin", "erf"])
@pytest.mark.parametrize("d", [3, 8])
@pytest.mark.parametrize("threads", [1, 2])
def test_full_vectors_and_a_short_last_block_at_the_largest_compiled_dimension(name, d, threads):
    """Sizes beyond the vector width and the row block (67 neurons, 53 rows: several full vectors, a
    remainder and a short last block of rows) at d = 3 and at the largest compiled d = 8, with
    pre-activations from about 1e-3 to 30 (tanh's inline evaluation and its clamp at |x| = 20)."""
    activation = FUSED_ACTIVATIONS[name]
    for scale in (1e-3, 0.4, 5.0):
        X, p, y, theta = problem(d + int(1000 * scale), 53, 67, d, scale)
        fused = NumpyKernel(activation, X, p, y, 67, threads=threads)
        plain = NumpyKernel(activation, X, p, y, 67, fused=False)
        assert fused.variant == "fused"
        loss, field = fused.loss_and_field(theta)
        ref_loss, ref_field = reference(X, p, y, theta, 67, activation)
        assert abs(loss - ref_loss) <= PATH_RTOL * ref_loss
        assert close(field, ref_field) and close(field, plain.field(theta))


#: float32's unit round-off: the float32 field is judged against float64 in units of it
EPS32 = float(np.finfo(np.float32).eps)


def float32_band(X, p, y, theta, m, activation):
    """Per entry of the field, a bound on float32's round-off in units of ``EPS32``: every rounded quantity
    replaced by the sum of the magnitudes it is made of (the pre-activations' rounding passed on through
    sigma' and sigma'', the residuals' through the magnitudes of their terms and of y, and for tanh the
    1 - sigma^2 the kernels form from sigma as a difference, whose terms are 1 and sigma^2); and the same for
    the loss, sum_i p_i e_i^2 with the magnitudes of e_i.  Returns ``(field bound, loss bound)``."""
    d1, d2 = (numeric(activation.derivative(k), (S,)) for k in (1, 2))
    a, W = theta[:m], theta[m:].reshape(m, -1)
    z = X @ W.T
    z_abs = np.abs(X) @ np.abs(W).T
    s = np.abs(np.broadcast_to(numeric(activation.expr, (S,))(z), z.shape))
    s1, s2 = (np.abs(np.broadcast_to(f(z), z.shape)) for f in (d1, d2))
    s_b = s + s1 * z_abs
    s1_b = s1 + s2 * z_abs + 1.0 + s * s
    e_b = s_b @ np.abs(a) + np.abs(y)
    pe_b = p * e_b
    field = np.concatenate([pe_b @ s_b, (np.abs(a)[:, None] * ((pe_b[:, None] * s1_b).T @ np.abs(X))).ravel()])
    return field, float(np.sum(pe_b * e_b))


#: the band in units of EPS32 * float32_band: the worst entry over the cases below used 0.78 of one unit (the NumPy
#: path, sin, d = 3; the compiled kernel 0.46; measured when the test was written); 4 covers roundings the bound
#: leaves out (the inline tanh's 2-3 ulps, the ordering of the sums over rows and neurons)
FLOAT32_UNITS = 4.0


@pytest.mark.parametrize("fused", [pytest.param(True, marks=needs_fused), False])
@pytest.mark.parametrize("name", ["tanh", "sin", "erf"])
@pytest.mark.parametrize("d", [3, 8])
def test_the_float32_field_agrees_with_float64_within_float32s_round_off(fused, name, d):
    """``dtype="float32"`` (the compiled kernel's float loops, or the NumPy path's float32 arrays) against float64,
    entry by entry, within FLOAT32_UNITS x EPS32 x the magnitudes each entry is made of; control: the band sees
    an error of 1e-4 of the largest entry (what a float32 sum without its float64 loss or a wrong float tanh
    polynomial term would leave)."""
    activation = FUSED_ACTIVATIONS[name]
    worst = 0.0
    for scale in (1e-2, 0.4, 5.0):
        X, p, y, theta = problem(d + int(100 * scale), 53, 67, d, scale)
        k64 = NumpyKernel(activation, X, p, y, 67, fused=fused)
        k32 = NumpyKernel(activation, X, p, y, 67, fused=fused, dtype="float32")
        assert k32.variant == k64.variant == ("fused" if fused else "numpy") and k32.dtype == "float32"
        (l64, f64), (l32, f32) = k64.loss_and_field(theta), k32.loss_and_field(theta)
        assert f32.dtype == np.float64 and f32.shape == f64.shape
        field_b, loss_b = float32_band(X, p, y, theta, 67, activation)
        band = FLOAT32_UNITS * EPS32 * field_b
        assert np.all(np.abs(f32 - f64) <= band)
        worst = max(worst, float(np.max(np.abs(f32 - f64) / band)))
        assert abs(l32 - l64) <= FLOAT32_UNITS * EPS32 * loss_b
        wrong = f32 + 1e-4 * np.max(np.abs(f64)) * np.sign(f64)
        assert not np.all(np.abs(wrong - f64) <= band)
    assert worst > 1e-4         # float32 was used: a float64 field would sit near 1e-9 of the band


def test_an_unknown_dtype_is_refused():
    X, p, y, _ = problem(1, 10, 4, 3, 0.5)
    with pytest.raises(ValueError, match="float16"):
        NumpyKernel(TANH, X, p, y, 4, dtype="float16")


@pytest.mark.parametrize("fused", [pytest.param(True, marks=needs_fused), False])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_nan_in_the_parameters_reaches_the_loss_in_either_precision(fused, dtype):
    """The flow's divergence check reads the loss: a NaN weight must come out as a NaN loss, not be clamped away
    by the inline tanh (control: the same parameters without it give a finite loss)."""
    X, p, y, theta = problem(5, 30, 20, 3, 0.5)
    kernel = NumpyKernel(TANH, X, p, y, 20, fused=fused, dtype=dtype)
    assert np.isfinite(kernel.loss(theta))
    theta[20 + 7] = np.nan
    loss, field = kernel.loss_and_field(theta)
    assert np.isnan(loss) and not np.all(np.isfinite(field))
