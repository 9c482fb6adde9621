"""The sharpness-reduction phase's lower edge, located from the measured early sharpness.

The paper names the region below ``c_loss`` where the sharpness falls during
the early steps although the loss does not catapult the "sharpness
reduction" phase, and finds that it opens up as d/w grows (Kalra & Barkeshli,
2302.12250, abstract).  The authors' notebook (dayal-kalra/early-training,
``early_training_phase_diagram.ipynb``) does not measure its lower edge: it
fills the band from the fixed line c = 2 to the fitted ``c_loss`` and starts
its scan at c = 1.  On digits the 10-step sharpness falls at every c we tried
(at c = 1 to 0.22-0.70 of lambda_0, measured at the quick profile), so the
edge is located here from the runs themselves, for stated levels:

    c_red(f) = the smallest c at which lambda_10 / lambda_0 <= f,

with ``lambda_t`` the top Hessian eigenvalue on the fixed measurement batch
(the ratio the c_sharp event reads).  The scan trains every c of the grid
``2^(log2(LOW_C) + k step)`` below the set-up's ``c_loss`` cell in ONE
vectorised pass (:func:`verify.engines.deepnet.train_many`), takes one
Lanczos eigenvalue at step 10 per c (warm-started along the grid) and
interpolates the crossing of each level linearly in ``log c`` between the
two grid points around it.  Levels: 0.9 (a fall of 10 %, far above the
Lanczos error of the ratio, about 1e-6) and 0.5 (the sharpness halves).
"""
from __future__ import annotations

import math

import numpy as np

from ..engines.deepnet import train_many
from ..hessian import TorchHessian, top_eigenpair

__all__ = ["REDUCTION_LEVELS", "LOW_C", "reduction_scan", "edge_of"]

#: the levels f of lambda_10 / lambda_0 whose first crossing is located
REDUCTION_LEVELS = (0.9, 0.5)
#: the scan's lowest c (the 10-step ratio there is 0.995 or more at every quick set-up measured)
LOW_C = 2.0 ** -6


def edge_of(cs, ratios, level: float) -> dict:
    """Where ``ratios`` (over ascending ``cs``) first reach ``level`` or below: ``c`` interpolated linearly in log c
    between the grid points around the crossing, with those points (``None`` and ``below_scan`` when the first
    point already lies at or below it; ``None`` and ``above_scan`` when no point does)."""
    r = np.asarray(ratios, float)
    hit = np.nonzero(r <= level)[0]
    if not len(hit):
        return {"level": level, "c": None, "cell": None, "below_scan": False, "above_scan": True}
    k = int(hit[0])
    if k == 0:
        return {"level": level, "c": None, "cell": [None, float(cs[0])], "below_scan": True, "above_scan": False}
    x0, x1 = math.log(cs[k - 1]), math.log(cs[k])
    frac = (r[k - 1] - level) / (r[k - 1] - r[k])
    return {"level": level, "c": float(math.exp(x0 + frac * (x1 - x0))), "cell": [float(cs[k - 1]), float(cs[k])],
            "below_scan": False, "above_scan": False}


def reduction_scan(prob, c_top: float, step: float, levels=REDUCTION_LEVELS, low: float = LOW_C,
                   seed: int = 0) -> dict:
    """The 10-step sharpness ratio of ``prob`` (a :class:`~verify.early_training.critical.Problem`) on the grid
    from ``low`` below ``c_top`` (step ``step`` in log2 c), and each level's edge (:func:`edge_of`)."""
    n = max(int(math.floor((math.log2(c_top) - math.log2(low)) / step - 1e-9)) + 1, 1)
    cs = [low * 2.0 ** (k * step) for k in range(n)]
    many = train_many(prob.net, prob.params0, prob.data, [prob.lr(c) for c in cs], prob.setup.steps, prob.options,
                      seed=prob.setup.seed)
    ratios, bands, losses, products = [], [], [], 0
    vector = prob.measure0.vector
    rel0 = abs(prob.measure0.residual / prob.measure0.value)
    for i, c in enumerate(cs):
        if many.diverged[i]:
            ratios.append(math.nan)
            bands.append(math.nan)
            losses.append(math.nan)
            continue
        params = tuple(q[i] for q in many.params)
        pair = top_eigenpair(TorchHessian(prob.net.flat_loss(prob.measure_batch), prob.net.flatten(params)),
                             v0=vector, seed=seed)
        vector = pair.vector
        products += pair.products
        ratio = pair.value / prob.measure0.value
        ratios.append(float(ratio))
        bands.append(float(abs(ratio) * (abs(pair.residual / pair.value) + rel0)) if pair.value else math.inf)
        losses.append(float(many.losses[i, -1] / many.losses[i, 0]))
    seen = [j for j, r in enumerate(ratios) if not math.isnan(r)]
    edges = {f"{lv:g}": edge_of([cs[j] for j in seen], [ratios[j] for j in seen], lv) for lv in levels}
    return {"c": cs, "sharpness_ratio_step10": ratios, "band": bands, "loss_ratio_step10": losses,
            "c_top": float(c_top), "step": step, "low": low, "edges": edges, "hessian_vector_products": products,
            "rule": "c_red(f): the smallest c with lambda_10 / lambda_0 <= f on the measurement batch, interpolated "
                    "linearly in log c between grid points 2^(log2 low + k step)"}
