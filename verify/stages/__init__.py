"""Split a loss curve into plateaus and descents: ``python -m verify stages FILE.csv``.

Loss curves of small-initialisation networks (the multistage paper) show an
initial plateau, a fast descent, a secondary plateau and sometimes further
descents and plateaus. :func:`detect_stages` finds those stages in any curve
``(t, loss)`` -- the project's own trajectories or a user's training log -- so
that measured stage times can be set beside the predicted ones.

Definition of a stage
---------------------
Everything is computed on ``y = log(loss)`` against ``t`` (time is taken as
linear; a geometric grid is averaged into a uniform one). ``y`` is first
passed through a running median of 5 points (from 10 points on), which removes
isolated upward or downward spikes of one or two points and leaves monotone
stretches unchanged, then smoothed by a Gaussian in time (scale below); the
*descent rate* is ``r(t) = -dy_smooth/dt``, the relative speed at which the
loss falls.

* A **descent** grows from a local maximum ``t_peak`` of ``r`` (the highest
  rate within one smoothing scale), outward on each side, while
  ``r(t) > rate_fraction * r(t_peak)`` (default 10 % of its own peak rate). A
  side also stops at the bottom of a valley of ``r`` once ``r`` climbs again by
  a quarter of ``r(t_peak)`` (the flank of another descent), and where it
  meets a descent already accepted; peaks are taken from the highest down.
  The interval counts as a descent when
  (i) the smoothed ``y`` at its end lies at least
  ``d_min = max(min_drop * (max y_smooth - min y_smooth), log(min_factor))``
  (default: 5 % of the curve's whole log-range, and at least a 5 % fall of the
  loss) below the lowest ``y`` before its start -- so the recovery from an
  upward spike or bump is not a descent -- after subtracting, for a side that
  ended in a valley or at another descent, the fall that the valley's rate
  alone would give over the interval, and (ii) ``r(t_peak)`` is at least twice
  that valley's rate. So a steady slow decline with no peak of its own (a
  drift on a plateau) is never a descent, whatever its length, unless it is
  the whole curve. The drop must also exceed 5 standard deviations of the
  noise left on ``y`` (larger near the two ends, see below).
* **Boundary of a descent.** Its start (end) is the last time before (first
  time after) its peak at which the descent rate, smoothed at the descent's
  boundary scale ``s`` (below), is down to ``rate_fraction`` = 10 % of the
  descent's peak rate, located between grid points by linear interpolation,
  and then moved towards the peak time by the widening that the smoothing
  alone causes: a crossing at distance ``d`` from the peak is reported at
  distance ``sqrt(d^2 - 2 ln(1/rate_fraction) s^2)`` (exact for a
  Gaussian-shaped rate pulse; never moved closer than one grid step). So, up
  to the noise, the boundary is **where the descent rate of the underlying
  clean curve falls to 10 % of the descent's peak rate**; for a logistic drop
  ``D / (1 + exp((t - c)/w))`` in ``log(loss)`` that is ``c -+ 3.64 w``. On a
  clean curve ``s`` is about one grid step and the correction is negligible.
  A side that stopped at a valley or at another descent ends at that grid
  point, uncorrected -- except on a noisy curve, where a side that stops
  short of a neighbouring descent from which a valley of the rate separates
  it (the valley at most half the lower of the two peaks), or that runs to an
  end of the curve, is located again at finer scales (each 0.7 of the last, at
  most 8 times, not below the floor) and takes the coarsest scale at which its
  rate crosses the threshold: a scale of the order of the plateau beside a
  descent blurs two descents into one, and at an end the straight-line fit
  the smoothing rests on reaches back into the descent and keeps its rate up
  to the end. A side stopped short of a neighbour without such a valley (one
  descent that the change-point fit below cut in two) is left, and the two are
  joined. A descent still under way at the first (last) time
  starts (ends) there. Two descents that touch (no time between them) are
  reported as one.
* A **plateau** is each gap between descents (and before the first and after
  the last): slow drifts, noise, spikes and bumps where the loss rises all
  belong to plateaus. A plateau of zero length -- a curve that starts or ends inside a
  descent -- is left out.
* Names, in time order: ``"initial plateau"``, ``"descent"``, ``"secondary
  plateau"``, then ``"descent 2"``, ``"plateau 3"``, ``"descent 3"``,
  ``"plateau 4"``, ... (descent *k* is followed by plateau *k + 1*). A curve
  without a descent, and any curve of fewer than five points, is a single
  ``"initial plateau"``.
* ``loss_start`` and ``loss_end`` are the smoothed loss at the two boundaries
  (smoothed just enough that about 1 % noise is left; equal to the loss itself
  for a clean curve away from a jump).

Smoothing scales
----------------
The noise ``nu`` of ``y`` is estimated from how far each point lies from the
straight line through its two neighbours (the lower quartile, so drops and
jumps do not count; a curve of fewer than 10 points is taken as clean). With
``rho`` points per unit time, a Gaussian of width ``s`` leaves a noise of
``nu / sqrt(4 sqrt(pi) rho s^3)`` on the rate and ``nu / sqrt(2 sqrt(pi) rho
s)`` on ``y``. Descents are *found* twice: first at the cautious scale where
the rate noise is a fifth of the mean rate of the smallest drop that counts
spread over a quarter of the curve (at most 1/20 of the curve), then again at
the scale where it is 3 % of the lowest peak rate found (never coarser),
keeping only descents that overlap one found at the cautious scale. At a
finding scale a peak must exceed 3 standard deviations of the rate noise
(larger near the ends of a noisy curve, measured as for the edge rule below)
and stand as far above a valley its descent ends in, and a
drop 5 standard deviations of the noise on the difference of its two end
values (near the ends of the curve the smoothing rests on a straight-line fit
over two scales, whose end value has variance ``4 nu^2 / N`` for ``N`` points).
Each descent's *boundaries* are then located at the scale where the rate noise
is 1.5 % of that descent's own peak rate (never below one grid step or half the
median point spacing, never coarser than the cautious scale), growing the
interval from the highest rate inside the found one, within the gap to the
neighbouring descents. A clean curve is therefore hardly smoothed at all, and
on a noisy one a sharp descent keeps sharp boundaries. ``smooth=`` fixes one
scale (time units) for everything instead; use it for strongly correlated
noise (an exponential moving average of SGD losses, say), which the
white-noise estimate underrates.

Change points (noisy curves)
----------------------------
A rate finder at one smoothing scale cannot see a short plateau beside a long
noisy one: on a mini-batch SGD log the first plateau lasts a few dozen steps,
the secondary one thousands, and a scale that quiets the noise swallows the
first plateau into the descent. So on every noisy curve (``smooth=None``) the
descents are also found by **PELT** (``ruptures.Pelt``, exact penalised
segmentation) as a piecewise-linear fit of ``y``: the samples are averaged into at most 300 blocks, the noise ``sigma_b`` of a block mean is ``1.4826 MAD /
sqrt(2)`` of the first differences of the block means (robust to the descents;
it also counts correlated noise), and each change point costs ``penalty *
sigma_b^2 * log(n_b)`` (default ``penalty = 1``; ``--penalty``). A descent
grows from the steepest segment over neighbours falling at least a quarter as
fast, and over a segment that does not but is followed by one that does unless
its slope is two standard errors below a quarter of the peak (a fit of a few
blocks to a cluster of noise inside a descent does not split it). Two descents
are one unless the blocks between them fall, by two standard errors, slower
than a quarter of the lower one. A descent counts when its fall exceeds
``d_min`` and ``6 sigma_b`` -- the smaller of the fitted fall over its segments
and the fall between the lines of the plateau segments beside it (the fit may
jump at a change point, so a bump of noise fitted by two short segments falls
across them but not between the plateaus) --, it is twice as steep as the
segments beside it and ten times the typical segment rate (the length-weighted
median of the segments' rates less twice their standard errors: a drift of
the plateaus, with the scatter of the plateau slopes taken out). Where PELT finds at least as many descents as the
rate finder, its descents are used, and their boundaries are located as above
(10 % of the peak rate, at the descent's own scale), with every scale kept
under half the shortest plateau PELT found. On a clean curve the rate finder
alone is used. ``log=False`` (``--no-log``) runs everything on the loss itself
(in units of its largest value) instead of ``log(loss)``; the descent rate is
then ``-d loss/dt`` and ``min_factor`` a fall of ``1 - 1/min_factor`` of the
lowest loss.

Time is linear: a curve sampled on a geometric grid is averaged into a uniform
grid of at most 16384 points, so structure much shorter than 1/16384 of the
whole time span is not resolved.

The package: :mod:`.detect` (:func:`detect_stages` and :class:`Stage`, in named steps), :mod:`.smoothing` (the
uniform grid, Gaussian smoothing and the noise it leaves), :mod:`.rate` (the rate finder: growing a descent from
its peak, its sub-grid boundaries), :mod:`.pelt` (the change-point finder), :mod:`.params` (the detector's
constants), :mod:`.curve` (the CSV reader), :mod:`.cli` (``python -m verify stages``).
"""
from __future__ import annotations

from .cli import add_parser, cmd_stages
from .curve import MAX_COLUMNS, MAX_FILE_BYTES, MAX_ROWS, read_curve
from .detect import Stage, detect_stages
from .params import MIN_POINTS

__all__ = ["Stage", "detect_stages", "read_curve", "add_parser", "cmd_stages", "MIN_POINTS", "MAX_ROWS",
           "MAX_COLUMNS", "MAX_FILE_BYTES"]
