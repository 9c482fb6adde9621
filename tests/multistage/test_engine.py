"""The simulation engine: accuracy against the theory and independent oracles, faults, backends."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from verify.multistage.config import config_from_dict
from verify.multistage.field import vector_field
from verify.engines import DescentOptions, FlowOptions, integrate_flow, run_descent
from verify.multistage.engine import NumpyKernel, pack, select_kernel
from verify.hessian import dense_hessian, top_hessian_eigenvalue
from verify.multistage.initialisation import initial_parameters
from verify.multistage.prediction import predict
from verify.multistage.simulation import measure, simulate
from waiting import HANG_S, Output

REPO = Path(__file__).resolve().parents[2]

#: D9 (reference figures): t_half agreed to 0.01 % on the prototype; the issue asks for 0.5 %.
T_HALF_RTOL = 5e-3
#: D10: the plateau loss is R* up to O(1/m) corrections; the issue asks for 1e-3.
PLATEAU_ATOL = 1e-3
#: Two float64 backends doing the same arithmetic in a different order: round-off
#: (~1e-16 per operation) amplified by the flow over the run stays far below this.
BACKEND_RTOL = 1e-10
#: DOP853 at rtol 1e-11 is the reference; our RK45 at rtol 1e-10 should agree to ~1e-8 relative.
REFERENCE_RTOL = 1e-7


def small_config(**over):
    raw = {
        "model": {"activation": "tanh", "width": 1000, "alpha": 1.0},
        "data": {"dim": 3, "samples": 300, "whiten": True, "seed": 0},
        "target": {"expr": "tanh(2*x0) + 0.5*x1**2 + 0.4*x2 - 0.3"},
        "train": {"method": "flow", "lr": 0.01, "t_max": 20.0, "seed": 1},
    }
    for table, values in over.items():
        raw[table] = {**raw.get(table, {}), **values}
    return config_from_dict(raw)


@pytest.fixture(scope="module")
def reference_run():
    config = small_config()
    traj, obs, kernel = simulate(config, progress=False, grid=201)
    return config, traj, obs, kernel


def test_t_half_and_plateau_loss_match_the_predictions(reference_run):
    config, traj, obs, kernel = reference_run
    measured, predicted = measure(config, traj, obs, kernel), predict(config)
    assert traj.status == "completed"
    assert measured["t_half"] == pytest.approx(predicted["t_half"], rel=T_HALF_RTOL)
    assert abs(measured["plateau_loss"] - predicted["plateau_loss"]) < PLATEAU_ATOL
    assert measured["K0"] == pytest.approx(predicted["K0"], rel=1e-14)


def test_t_half_check_fails_against_a_wrong_rate(reference_run):
    """Negative control: the same comparison with the growth rate off by 5 % fails."""
    config, traj, obs, kernel = reference_run
    predicted = predict(config)
    wrong = np.log(1 / predicted["K0"] - 1) / (1.05 * predicted["growth_rate"])
    assert traj.first_event("K=0.5") != pytest.approx(wrong, rel=T_HALF_RTOL)


def test_observables_behave_as_the_theory_says(reference_run):
    config, traj, obs, kernel = reference_run
    t = traj.t
    early = t < 1.0
    # the linearized flow describes the early phase to O(q_max^2)
    assert np.all(obs["linear_deviation"][early] < 1e-2)
    # the remainder never exceeds the D3 bound
    assert np.nanmax(obs["remainder_ratio"]) <= 1.0
    # condensation: alignment with z grows; W2rel decays during the plateau
    assert obs["alignment_mean"][np.searchsorted(t, 8.0)] > 0.99 > obs["alignment_mean"][0]
    assert obs["W2rel"][np.searchsorted(t, 3.0)] < 0.1 * obs["W2rel"][0]
    assert obs["K"][-1] == pytest.approx(1.0, abs=0.02)


def test_flow_matches_an_independent_dop853_reference():
    """Oracle: SciPy's solve_ivp with DOP853 at rtol 1e-11 on the D1 field of theory.gradient_flow."""
    config = small_config(model={"width": 40}, data={"samples": 60}, train={"t_max": 8.0})
    data = config.dataset
    a0, W0 = initial_parameters(40, 3, 1.0, 1)
    act = config.activation

    def rhs(_t, th):
        da, dW = vector_field(th[:40], th[40:].reshape(40, 3), act, data.X, data.p, data.y)
        return np.concatenate([da, dW.ravel()])

    ref = solve_ivp(rhs, (0, 8.0), pack(a0, W0), method="DOP853", rtol=1e-11, atol=1e-16,
                    t_eval=np.linspace(0, 8.0, 9))
    kernel = NumpyKernel(act, data.X, data.p, data.y, 40)
    traj = integrate_flow(kernel, pack(a0, W0), 8.0, scale=40.0**-1, options=FlowOptions(rtol=1e-10, grid=9))
    err = np.linalg.norm(traj.theta - ref.y.T, axis=1) / np.linalg.norm(ref.y.T, axis=1)
    assert err.max() < REFERENCE_RTOL
    # negative control: a looser solver is measurably off the reference
    loose = integrate_flow(kernel, pack(a0, W0), 8.0, scale=40.0**-1, options=FlowOptions(rtol=1e-3, grid=9))
    assert (np.linalg.norm(loose.theta - ref.y.T, axis=1) / np.linalg.norm(ref.y.T, axis=1)).max() > REFERENCE_RTOL


def _gd_flow_gap(kernel, theta0, T, etas, reference):
    gaps = []
    for eta in etas:
        traj = run_descent(kernel, theta0, T, options=DescentOptions(lr=eta, grid=2))
        gaps.append(np.linalg.norm(traj.theta[-1] - reference) / np.linalg.norm(reference))
    return np.polyfit(np.log(etas), np.log(gaps), 1)[0]


def test_gradient_descent_approaches_the_flow_at_first_order():
    config = small_config(model={"width": 30, "alpha": 0.75}, data={"samples": 50})
    data = config.dataset
    kernel = NumpyKernel(config.activation, data.X, data.p, data.y, 30)
    theta0 = pack(*initial_parameters(30, 3, 0.75, 3))
    T = 6.0
    flow = integrate_flow(kernel, theta0, T, scale=30**-0.75, options=FlowOptions(solver="DOP853", rtol=1e-12,
                                                                                   grid=2))
    etas = np.array([0.04, 0.02, 0.01, 0.005])
    order = _gd_flow_gap(kernel, theta0, T, etas, flow.theta[-1])
    assert 0.8 <= order <= 1.2, order
    # negative controls: the check rejects a claim of second order, and a reference
    # that is itself off (the flow at T + 0.5) makes the gap stop shrinking
    assert not 1.8 <= order <= 2.2
    shifted = integrate_flow(kernel, theta0, T + 0.5, scale=30**-0.75,
                             options=FlowOptions(solver="DOP853", rtol=1e-12, grid=2))
    assert not 0.8 <= _gd_flow_gap(kernel, theta0, T, etas, shifted.theta[-1]) <= 1.2


def test_gd_t_half_follows_the_discrete_map_without_a_first_order_bias():
    """D9 for gradient descent: the discrete map K_(n+1) = K_n (1 + eta|z|(1 - K_n/K_eq))^2.

    The logistic law with the GD rate 2 log(1 + eta|z|)/eta (the earlier prediction) carries a bias of
    first order in eta (about 0.1 eta relative); the map has none: its residual (about 6e-4 here, from
    the O(K0) decaying modes) does not change with eta.
    """
    etas = np.array([0.1, 0.05, 0.025])
    err_map, err_logistic, err_flow = [], [], []
    for eta in etas:
        config = small_config(train={"method": "gd", "lr": float(eta), "t_max": 8.0})
        traj, _, _ = simulate(config, progress=False, grid=11)
        p = predict(config)
        measured = traj.first_event("K=0.5")
        err_map.append(abs(measured / p["t_half"] - 1))
        err_logistic.append(abs(measured / (np.log(1 / p["K0"] - 1) / p["growth_rate"]) - 1))
        err_flow.append(abs(measured / (np.log(1 / p["K0"] - 1) / (2 * p["z_norm"])) - 1))
    assert max(err_map) < 1e-3, err_map
    assert abs(np.polyfit(np.log(etas), np.log(err_map), 1)[0]) < 0.3          # no dependence on eta
    assert 0.8 <= np.polyfit(np.log(etas), np.log(err_logistic), 1)[0] <= 1.2   # the old law's O(eta) bias
    # negative controls: the earlier prediction and the flow rate both miss by more than the map's residual
    assert all(g < lg / 4 for g, lg in zip(err_map, err_logistic)), (err_map, err_logistic)
    assert all(g < f / 10 for g, f in zip(err_map, err_flow)), (err_map, err_flow)


def test_lanczos_top_eigenvalue_matches_dense_eigh():
    config = small_config(model={"width": 12, "alpha": 0.6}, data={"samples": 40})
    data = config.dataset
    kernel = NumpyKernel(config.activation, data.X, data.p, data.y, 12)
    theta = pack(*initial_parameters(12, 3, 0.6, 5)) * 20  # away from the origin: a non-trivial Hessian
    H = dense_hessian(kernel, theta)
    eps = np.finfo(float).eps
    h = 1e-5
    v = np.random.default_rng(0).standard_normal(kernel.size)
    fd = -(kernel.field(theta + h * v) - kernel.field(theta - h * v)) / (2 * h)
    assert np.allclose(H @ v, fd, rtol=1e-6, atol=1e-8)          # exact HVP against central differences
    top = top_hessian_eigenvalue(kernel, theta, seed=0)
    assert top == pytest.approx(np.linalg.eigvalsh(H)[-1], rel=1e3 * eps * kernel.size)
    assert top_hessian_eigenvalue(kernel, theta, seed=0) == top   # seeded: reproducible
    assert top != pytest.approx(np.linalg.eigvalsh(H)[-2], rel=1e-6)


def test_torch_backend_gives_the_same_trajectory():
    pytest.importorskip("torch")
    config = small_config(model={"width": 60}, data={"samples": 80}, train={"t_max": 10.0})
    data = config.dataset
    theta0 = pack(*initial_parameters(60, 3, 1.0, 1))
    runs = []
    for backend in ("numpy", "torch"):
        kernel, note = select_kernel(config.activation, data.X, data.p, data.y, 60, backend, "cpu")
        assert note is None and kernel.name == backend
        runs.append(integrate_flow(kernel, theta0, 10.0, scale=60.0**-1, options=FlowOptions(rtol=1e-9, grid=11)))
    rel = np.linalg.norm(runs[0].theta - runs[1].theta, axis=1) / np.linalg.norm(runs[0].theta, axis=1)
    assert rel.max() < BACKEND_RTOL


def test_missing_torch_or_cuda_falls_back_to_numpy_with_one_line(monkeypatch):
    config = small_config(model={"width": 5}, data={"samples": 10})
    data = config.dataset
    notes = []
    kernel, note = select_kernel(config.activation, data.X, data.p, data.y, 5, "numpy", "cuda", notify=notes.append)
    assert kernel.name == "numpy" and len(notes) == 1 and "\n" not in notes[0]
    monkeypatch.setitem(sys.modules, "torch", None)
    kernel, note = select_kernel(config.activation, data.X, data.p, data.y, 5, "torch", "cpu", notify=notes.append)
    assert kernel.name == "numpy" and "torch is not installed" in note


def test_divergence_is_reported_with_its_time_and_no_nan_is_written(tmp_path):
    config = small_config(model={"width": 50, "alpha": 0.6}, data={"samples": 50},
                          train={"method": "gd", "lr": 50.0, "t_max": 5000.0})
    traj, obs, kernel = simulate(config, progress=False, grid=50)
    assert traj.status == "diverged" and traj.diverged is not None and traj.diverged > 0
    paths = traj.save(tmp_path, "trajectory", {k: v for k, v in obs.items() if k != "loss"})
    with np.load(paths["npz"]) as saved:
        assert all(np.all(np.isfinite(saved[k])) for k in saved.files if k not in ("obs_remainder_ratio", "missing", "storage"))
    assert "nan" not in Path(paths["csv"]).read_text().lower()


def test_solver_failure_reports_scipys_reason():
    """theta_0' = 1/(1 - theta_0)^2 reaches theta_0 = 1 in finite time: the step size collapses there."""

    class BlowUp:
        name, variant, device, m, d, size, evaluations = "numpy", "numpy", "cpu", 1, 1, 2, 0

        def loss(self, th):
            return 0.0

        def loss_and_field(self, th):
            return 0.0, np.array([1.0 / (1.0 - th[0]) ** 2 if th[0] < 1 else 1e300, 0.0])

    traj = integrate_flow(BlowUp(), np.zeros(2), 5.0, scale=1.0, options=FlowOptions(rtol=1e-10, loss_ceiling=np.inf))
    assert traj.status == "failed"
    assert "step size" in traj.message          # SciPy's own reason, passed through
    assert np.all(np.isfinite(traj.theta)) and traj.t[-1] < 1.0 / 3 + 1e-6   # the recorded part stops before t = 1/3


def test_simulate_json_keys_and_files(tmp_path):
    config_path = tmp_path / "c.toml"
    config_path.write_text((REPO / "verify/multistage/configs/multistage.toml").read_text()
                           .replace("quadrature = 12", "samples = 100").replace("width = 1000", "width = 200")
                           .replace("t_max = 60.0", "t_max = 15.0"))
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "verify", "simulate", "--config", str(config_path), "--json",
                             "--out", str(out), "--grid", "151"], capture_output=True, text=True, cwd=REPO,
                            timeout=HANG_S)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    for key in ("z_norm", "K0", "t_half", "T_d", "initial_loss", "plateau_loss", "diverged", "files"):
        assert key in summary
    assert summary["diverged"] is False
    for kind in ("npz", "csv", "png"):
        assert Path(summary["files"][kind]).is_file()
    with np.load(summary["files"]["npz"]) as saved:
        assert saved["theta"].shape == (151, 200 * 4)


@pytest.mark.parametrize("option, value", [("--solver", "Euler"), ("--backend", "jax"), ("--rtol", "2")])
def test_invalid_simulate_options_are_one_line_errors(tmp_path, option, value):
    result = subprocess.run([sys.executable, "-m", "verify", "simulate", "--config",
                             str(REPO / "verify/multistage/configs/multistage.toml"), option, value, "--out",
                             str(tmp_path / "x")], capture_output=True, text=True, cwd=REPO, timeout=HANG_S)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and option in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x").exists()


def _small_kernel_and_start():
    config = small_config(model={"width": 40}, data={"samples": 60}, train={"t_max": 8.0})
    data = config.dataset
    return NumpyKernel(config.activation, data.X, data.p, data.y, 40), pack(*initial_parameters(40, 3, 1.0, 1))


def test_a_ctrl_c_between_a_state_and_its_loss_keeps_whole_records(monkeypatch):
    """A Ctrl-C can land between the appends of one recording time (seen under load: a run stopped with 23 times
    and 22 losses, and exited with a one-line error instead of saving the partial trajectory): the flow keeps the
    whole records.  Here the fourth loss is never submitted: three records are left."""
    from verify.engines import flow

    submits = []

    class CutPool(flow.ThreadPoolExecutor):
        def submit(self, *args, **kwargs):
            submits.append(1)
            if len(submits) == 4:
                raise KeyboardInterrupt
            return super().submit(*args, **kwargs)

    monkeypatch.setattr(flow, "ThreadPoolExecutor", CutPool)
    kernel, theta0 = _small_kernel_and_start()
    traj = integrate_flow(kernel, theta0, 8.0, scale=40.0**-1, options=FlowOptions(grid=9))
    assert traj.status == "interrupted"
    assert len(traj.t) == len(traj.theta) == len(traj.loss) == 3
    assert traj.loss == pytest.approx([kernel.loss(th) for th in traj.theta], rel=1e-12)


def test_a_ctrl_c_between_a_time_and_its_state_keeps_whole_records_in_descent():
    """The same for gradient descent: the Ctrl-C lands as the state of a recording time is copied, after its time
    was appended."""
    kernel, theta0 = _small_kernel_and_start()

    class CutCopy(np.ndarray):                  # the iterate, whose second copy is cut by a Ctrl-C
        copies = 0

        def copy(self, *args, **kwargs):
            CutCopy.copies += 1
            if CutCopy.copies == 2:
                raise KeyboardInterrupt
            return np.asarray(self).copy(*args, **kwargs)

    class Cut:
        def __getattr__(self, name):
            return getattr(kernel, name)

        def loss_and_field(self, theta):
            loss, field = kernel.loss_and_field(np.asarray(theta))
            return loss, field.view(CutCopy)

    traj = run_descent(Cut(), theta0, 8.0, options=DescentOptions(lr=0.01, grid=9))
    assert traj.status == "interrupted" and CutCopy.copies == 2
    assert len(traj.t) == len(traj.theta) == len(traj.loss) == 2


#: the Ctrl-C run: t_max and recording grid (spacing 0.1); the signal goes once the progress bar shows t >= 1
CTRL_C_T_MAX, CTRL_C_GRID, CTRL_C_AT = 2000.0, 20001, 1.0


@pytest.mark.skipif(os.name != "posix", reason="SIGINT delivery")
def test_ctrl_c_leaves_a_valid_partial_trajectory_and_exits_130(tmp_path):
    """A real SIGINT during the integration: exit 130, status ``interrupted``, and the states recorded so far saved.

    The signal is sent as soon as the progress bar (on standard error) shows t >= 1, that is at least ten recorded
    states, whatever the machine's speed.  The run goes on to t = 2000 (more than a minute of integration on two
    cores), so it cannot finish before the signal arrives; and if it somehow did, the test fails rather than
    passing without an interrupt (the status, the summary's ``interrupted`` and the saved length all say so)."""
    config_path = tmp_path / "long.toml"
    config_path.write_text((REPO / "verify/multistage/configs/multistage.toml").read_text()
                           .replace("quadrature = 12", "samples = 300")
                           .replace("t_max = 60.0", f"t_max = {CTRL_C_T_MAX}"))
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "verify", "simulate", "--config", str(config_path), "--out",
                             str(out), "--progress", "--rtol", "1e-11", "--grid", str(CTRL_C_GRID)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        stdout, stderr = Output(proc.stdout, "standard output"), Output(proc.stderr, "standard error")

        def integrated_to(text):         # the bar's last "t = <t> / 2000", once t >= CTRL_C_AT
            times = re.findall(r"t = (\S+) / ", text)
            return times and float(times[-1]) >= CTRL_C_AT and float(times[-1])

        seen = stderr.wait_for(integrated_to, f"progress to t >= {CTRL_C_AT:g}")
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=HANG_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = stderr.rest()
    assert code == 130, (stdout.rest()[-2000:], err[-2000:])
    assert "Traceback" not in err, err[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["complete"] is False
    assert summary["interrupted"].startswith("during the integration"), summary["interrupted"]
    with np.load(out / "trajectory.npz") as saved:
        t = saved["t"]
        assert np.all(np.isfinite(saved["theta"]))
    spacing = CTRL_C_T_MAX / (CTRL_C_GRID - 1)
    assert 1 < len(t) < CTRL_C_GRID and seen - 2 * spacing < t[-1] < CTRL_C_T_MAX   # stopped after the bar's t


# ------------------------------------------------------------------------------------------- --dtype float32
#: float32's unit round-off
EPS32 = float(np.finfo(np.float32).eps)
#: t_half and T_d with a float32 field against float64, both at rtol 1e-6, relative: the field's round-off is a
#: few EPS32 of its size (tests/test_kernels.py) and the event times move with the field's relative error (the
#: flow run faster by 1 + x reaches them x earlier) plus the step control's own error at rtol 1e-6 (about 8
#: EPS32): 100 EPS32 = 1.2e-5 (measured here 1.1e-6 on t_half, 3.4e-7 on T_d; at workload A 9.6e-7 and 6.6e-7,
#: benchmarks/README.md).
#: The claims' tolerances on t_half and T_d (D9, D10) are 5e-3.
FLOAT32_EVENT_RTOL = 100 * EPS32


class _ScaledField:
    """A kernel whose field is off by a relative ``error`` (the control of the float32 comparison)."""

    def __init__(self, kernel, error):
        self.kernel, self.error = kernel, error

    def __getattr__(self, name):
        return getattr(self.kernel, name)

    def loss_and_field(self, theta):
        loss, field = self.kernel.loss_and_field(theta)
        return loss, field * (1 + self.error)


def test_float32_event_times_agree_with_float64_within_float32s_band():
    from verify.multistage.engine.events import make_events

    config = small_config(model={"width": 200}, data={"samples": 100}, train={"t_max": 15.0})
    data, m = config.dataset, 200
    theta0 = pack(*initial_parameters(m, 3, 1.0, 1))

    def events_of(kernel):
        events = make_events(kernel, m, data.z, data.moments["z_Sinv_z"], K_levels=(0.5, 0.99))
        traj = integrate_flow(kernel, theta0, 15.0, scale=1.0 / m, events=events,
                              options=FlowOptions(rtol=1e-6, grid=11))
        return np.array([traj.first_event("K=0.5"), traj.first_event("K=0.99")], dtype=float)

    kernels = {dt: NumpyKernel(config.activation, data.X, data.p, data.y, m, dtype=dt) for dt in ("float64", "float32")}
    ref, got = events_of(kernels["float64"]), events_of(kernels["float32"])
    assert np.all(np.isfinite(ref)) and 0 < ref[0] < ref[1]
    assert np.all(np.abs(got / ref - 1) <= FLOAT32_EVENT_RTOL)
    assert FLOAT32_EVENT_RTOL < T_HALF_RTOL / 100
    # control: a field off by 1e-4 relative (about 800 EPS32) moves the event times outside the band
    wrong = events_of(_ScaledField(kernels["float64"], 1e-4))
    assert np.all(np.abs(wrong / ref - 1) > FLOAT32_EVENT_RTOL)


@pytest.mark.parametrize("argv, option", [(["--dtype", "float16"], "--dtype"),
                                          (["--dtype", "float32", "--rtol", "1e-7"], "--rtol")])
def test_bad_dtype_options_are_one_line_errors_with_exit_2(tmp_path, capsys, argv, option):
    from verify.cli import main

    code = main(["simulate", "--config", str(REPO / "verify/multistage/configs/multistage.toml"), *argv, "--out",
                 str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and option in err and "fix:" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_simulate_records_the_fields_dtype_in_the_summary_and_the_npz(tmp_path, capsys):
    from verify.cli import main

    config_path = tmp_path / "c.toml"
    config_path.write_text((REPO / "verify/multistage/configs/multistage.toml").read_text()
                           .replace("quadrature = 12", "samples = 60").replace("width = 1000", "width = 40")
                           .replace("t_max = 60.0", "t_max = 2.0"))
    for dtype in ("float32", "float64", None):
        out = tmp_path / str(dtype)
        code = main(["simulate", "--config", str(config_path), "--json", "--quiet", "--out", str(out), "--grid", "11",
                     *(["--dtype", dtype] if dtype else [])])
        summary = json.loads(capsys.readouterr().out)
        assert code == 0 and summary["run"]["dtype"] == (dtype or "float64")
        with np.load(out / "trajectory.npz") as saved:
            assert json.loads(str(saved["storage"]))["field_dtype"] == (dtype or "float64")
            assert saved["theta"].dtype == np.float64
