"""The constants of the stage detector (the specification in docs/stages.md says what each does)."""
from __future__ import annotations

import math

MIN_POINTS = 5          # fewer points than this: one stage, nothing is detected
_NOISE_POINTS = 10      # fewer points than this: no noise estimate or spike removal, the curve is taken as clean
_SPIKE_WINDOW = 5       # running median over this many points before anything else
_MIN_GRID = 1024        # the uniform grid has at least this many points ...
_MAX_GRID = 16384       # ... and at most this many (longer curves are averaged into it)
_FIND_NOISE = 0.2       # rate noise at the finding scale, as a fraction of the reference rate
_REFIND_NOISE = 0.03    # rate noise at the second finding scale, as a fraction of the lowest peak rate found
_BOUNDARY_NOISE = 0.015  # rate noise at the boundary scale, as a fraction of the descent's peak rate
_VALUE_NOISE = 0.01     # noise left on log(loss) for loss_start / loss_end and the log-range
_CLIMB = 0.25           # a descent also ends at a valley of the rate once it climbs this fraction of its peak again
_PROMINENCE = 2.0       # ... and must rise at least this factor above such a valley to count as a descent
_SIGNIFICANCE = 3.0     # a peak rate must exceed this many standard deviations of the rate noise ...
_EDGE_SIGNIFICANCE = 2.0  # a descent reaches an end of the curve only with a rate this many sigma above threshold
_DROP_SIGNIFICANCE = 5.0  # ... and a drop this many standard deviations of the difference of two smoothed values
_SQRT_PI = math.sqrt(math.pi)
_PELT_POINTS = 300      # PELT runs on block means of the uniform grid, at most this many
_PELT_MIN_SIZE = 3      # fewest block means in a PELT segment
_PELT_PENALTY = 1.0     # default penalty per change point, in units of sigma_b^2 log(n_b)
_PELT_NOISE = 1e-4      # PELT runs only on curves noisier than this (in log loss): a solver's curve (about 1e-8)
                        # is segmented by the rate finder alone, and skips ruptures' import (about 1 s)
_DRIFT = 10.0           # a PELT descent falls at least this many times faster than the typical segment
_RETRY_SCALE = 0.7      # a side that does not cross its threshold is located again at scales smaller by this factor,
_RETRY_STEPS = 8        # ... at most this many times (down to 0.7^8 = 6 % of the scale, never below the floor)
_PELT_FLANK = 0.25      # a descent takes in neighbouring segments whose rate is at least this fraction of its peak
