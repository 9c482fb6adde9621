"""A Matplotlib font cache written by another installation is named in one line, once per process.

Such a cache (one without Matplotlib's bundled fonts, as a distribution's package writes it) made every committed
figure's mathematics fall back to other fonts without a word beyond Matplotlib's ``findfont`` warnings.  The test
builds a correct cache in a fresh ``MPLCONFIGDIR`` (the control: no notice), strips Matplotlib's own fonts from it,
and draws two figures.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from waiting import HANG_S

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import sys
from verify.report.figures import figure_bytes, font_cache_problem
print(font_cache_problem())
from matplotlib.figure import Figure
fig = Figure()
fig.gca().set_title(r"$\\lambda_{max}$")
figure_bytes(fig, "svg")
figure_bytes(fig, "png")
"""


def _probe(config_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLCONFIGDIR": str(config_dir)}
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=HANG_S)


def test_a_font_cache_without_matplotlibs_own_fonts_is_named_once(tmp_path):
    fresh = _probe(tmp_path)
    assert fresh.returncode == 0, fresh.stderr[-800:]
    assert fresh.stdout.strip() == "None" and "font cache" not in fresh.stderr      # the control
    (cache,) = tmp_path.glob("fontlist-v*.json")
    import matplotlib

    own = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    doc = json.loads(cache.read_text())
    # the cache names Matplotlib's own fonts relative to its data folder ("fonts/ttf/..."), others absolutely
    ours = lambda f: not Path(f["fname"]).is_absolute() or own.parent in Path(f["fname"]).parents  # noqa: E731
    assert any(ours(f) for f in doc["ttflist"])
    doc["ttflist"] = [f for f in doc["ttflist"] if not ours(f)]
    doc["afmlist"] = [f for f in doc["afmlist"] if not ours(f)]
    cache.write_text(json.dumps(doc))
    stale = _probe(tmp_path)
    assert stale.returncode == 0, stale.stderr[-800:]
    assert str(cache) in stale.stdout and "rm " in stale.stdout
    notices = [line for line in stale.stderr.splitlines() if line.startswith("note: Matplotlib's font cache")]
    assert len(notices) == 1 and str(cache) in notices[0], stale.stderr[-800:]
