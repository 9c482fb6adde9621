"""predict says where its assumptions fail, and its JSON never holds NaN or infinities."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from verify.multistage._config import config_from_dict
from verify.multistage._predict import K0_SMALL, predict
from waiting import HANG_S

ROOT = Path(__file__).resolve().parents[2]


def _raw(**over):
    raw = {"model": {"activation": "tanh", "width": 200, "alpha": 1.0},
           "data": {"dim": 2, "quadrature": 8, "whiten": True},
           "target": {"expr": "tanh(2*x0) + 0.3*x1"},
           "train": {"method": "flow", "lr": 0.01, "t_max": 10.0, "seed": 1},
           "analysis": {"delta": 0.01}}
    for table, values in over.items():
        raw[table] = {**raw[table], **values}
    return raw


def _reject(name):
    raise ValueError(f"non-finite JSON constant {name}")


def _predict_json(tmp_path, raw) -> dict:
    lines = []
    for table, values in raw.items():
        lines.append(f"[{table}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    out = subprocess.run([sys.executable, "-m", "verify", "predict", "--config", str(path), "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=HANG_S)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout, parse_constant=_reject)


def test_large_K0_is_flagged_and_has_no_t_half(tmp_path):
    # the example: predicted t_half = -2.54 as applicable, simulation 2.04
    p = _predict_json(tmp_path, _raw(model={"width": 10, "alpha": 0.55},
                                     target={"expr": "0.2*x0 + x1**2"}))
    assert p["K0"] >= 0.5
    assert isinstance(p["applicable"], str) and "K0" in p["applicable"]
    assert p["t_half"] is None and "K0" in p["reasons"]["t_half"]


def test_moderate_K0_is_flagged_with_its_error_estimate():
    p = predict(config_from_dict(_raw(model={"width": 50, "alpha": 0.55})))
    assert K0_SMALL <= p["K0"] < 0.5, p["K0"]
    assert isinstance(p["applicable"], str) and f">= {K0_SMALL}" in p["applicable"]
    assert p["t_half"] is not None          # still reported, but flagged


def test_small_K0_is_applicable():
    p = predict(config_from_dict(_raw()))
    assert p["K0"] < K0_SMALL and p["applicable"] is True
    # reasons only for nulls outside the K dynamics (the quadrature's data seed; T_p where q_max(0) is above
    # m^-alpha_1 at this width)
    assert not {"K0", "growth_rate", "t_half", "T_d", "T_d.value"} & set(p["reasons"]), p["reasons"]
    assert {"seeds.data", "data.seed"} <= set(p["reasons"])


@pytest.mark.parametrize("eta_z, applicable", [(0.9, True), (1.0, False), (1.5, False)])
def test_gd_step_past_the_map_stability_is_flagged(eta_z, applicable):
    zn = predict(config_from_dict(_raw()))["z_norm"]
    p = predict(config_from_dict(_raw(train={"method": "gd", "lr": eta_z / zn * (1 + 1e-12)})))
    if applicable:
        assert p["applicable"] is True and p["t_half"] is not None
    else:
        assert isinstance(p["applicable"], str) and "eta |z|" in p["applicable"]
        assert p["t_half"] is None and "eta |z|" in p["reasons"]["t_half"]


@pytest.mark.parametrize("activation", ["sinh(s)", "s - s**3/3 + s**5/10"])
def test_infinite_C_L_is_flagged(tmp_path, activation):
    p = _predict_json(tmp_path, _raw(model={"activation": activation}))
    assert isinstance(p["applicable"], str) and "infinite" in p["applicable"]
    assert p["activation"]["C_L"] is not None


def test_tiny_z_gives_null_not_nan(tmp_path):
    # today's bug: target 1E-3*x0 printed "t_half": NaN
    p = _predict_json(tmp_path, _raw(target={"expr": "1E-3*x0"}))
    assert isinstance(p["applicable"], str)
    assert p["t_half"] is None and p["reasons"]["t_half"]


def test_control_the_json_check_rejects_nan():
    with pytest.raises(ValueError):
        json.loads('{"t_half": NaN}', parse_constant=_reject)
