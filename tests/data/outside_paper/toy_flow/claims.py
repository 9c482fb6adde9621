"""The toy paper's one claim: the measured decay rate of the integrated flow equals the derived one."""
from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from theory.bridge import numeric
from verify.registry import Status, Tolerance, Verdict, claims_for, key_number, resolution

from . import decay, theory

RATES = (0.5, 1.0, 2.0)
TOL = Tolerance("relative rate error", 1e-4, "solve_ivp at rtol 1e-10 fits the slope to about 1e-8")


def check(ctx, scale: float = 1.0) -> Verdict:
    predicted_rate = numeric(decay.rate, [decay.k])
    errors = []
    for k in RATES:
        ts = np.linspace(0.0, 3.0, 31)
        sol = solve_ivp(lambda _, x: -k * x, (0.0, 3.0), [1.0], t_eval=ts, rtol=1e-10, atol=1e-14)
        slope = np.polyfit(ts, np.log(sol.y[0]), 1)[0]
        predicted = scale * float(predicted_rate(k))
        errors.append(abs(slope - predicted) / abs(predicted))
    worst = max(errors)
    ok = worst <= TOL.value
    margin = worst / TOL.value if ok else max(worst / TOL.value, 1.0 + 1e-9)
    return Verdict(Status.PASSED if ok else Status.FAILED,
                   predicted={"rate": "-k"}, measured={"relative errors": errors}, tolerance=TOL, seeds=[ctx.seed],
                   key=key_number("worst relative error of the fitted rate", worst, 0.0, min(margin, 0.999999)
                                  if ok else margin, None if ok else f"the fitted rate is off by {worst:.2g}"),
                   resolution=resolution("the rate off by >= 2e-4 (relative)", 2e-4, "relative"),
                   range={"k": list(RATES), "seeds": [ctx.seed]}, rows=[])


claim = claims_for(theory.KEY)
claim("T1-decay-rate", decay.TITLE, "T1", check, lambda ctx: check(ctx, 2.0), "the derived rate doubled",
      calibrated=(lambda ctx: check(ctx, 1.0 + 2e-4), "the derived rate raised by 2e-4 (twice the tolerance)"))
