"""D9 under gradient descent: the map K_(n+1) = K_n (1 + eta|z|(1 - K_n))^2 and the times it predicts."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from theory.derivation import is_zero
from theory.multistage import descent_time
from theory.multistage.symbols import eta, z_norm
from verify.multistage.prediction import gd_map_times

K_n = descent_time.K_n


def test_every_D9_identity_holds():
    assert all(descent_time.derive().identities.values())


def test_map_at_exact_rational_points():
    val = descent_time.gd_map.subs({K_n: sp.Rational(1, 4), eta: sp.Rational(1, 2), z_norm: sp.Rational(4, 5)})
    assert val == sp.Rational(1, 4) * (1 + sp.Rational(2, 5) * sp.Rational(3, 4)) ** 2
    assert not is_zero(descent_time.gd_map - K_n * (1 + eta * z_norm * (1 - K_n)))   # control: not squared


def test_small_steps_recover_the_logistic_times():
    k0, zn = 1e-3, 0.8
    logistic = np.log(1 / k0 - 1) / (2 * zn)
    t_half = gd_map_times(k0, 1e-4, zn, [0.5])[0]
    assert t_half == pytest.approx(logistic, rel=1e-3)


@pytest.mark.parametrize("eta_z, excess", [(0.25, 0.02), (0.9, 0.06)])
def test_logistic_with_the_gd_rate_overestimates_t_half(eta_z, excess):
    """Reference figures of D9 (theory/multistage/descent_time.py): t_half map / logistic-with-GD-rate = 5.135 / 5.284 at eta|z| = 0.25, 6.119 / 6.613 at 0.9."""
    k0, zn = 1e-3, 0.786
    lr = eta_z / zn
    t_map = gd_map_times(k0, lr, zn, [0.5])[0]
    rate = float(descent_time.rate_gd.subs({eta: lr, z_norm: zn}))
    assert np.log(1 / k0 - 1) / rate > (1 + excess) * t_map


def test_map_converges_to_one_only_below_eta_z_one():
    for eta_z, converges in ((0.5, True), (0.95, True), (1.2, False)):
        k = 0.5
        for _ in range(2000):
            k = k * (1 + eta_z * (1 - k)) ** 2
        assert (abs(k - 1) < 1e-6) == converges, eta_z
