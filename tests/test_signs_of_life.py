"""Every long command of the README prints a sign of life at least every 10 s while it works (issue 23).

Each long command of the README's command list runs in a subprocess with tiny arguments; a thread per pipe
reads its standard error and standard output line by line and timestamps each line as it arrives; no gap
between the start, the lines and the exit may exceed :data:`LIMIT_S`.  The progress lines go to standard
error (``--json`` keeps standard output for the JSON alone); a line on standard output counts as a sign of
life too.  What keeps the promise on a loaded machine, where one phase or the imports take longer than a
tiny run shows, is the heartbeat of :mod:`verify.progress` (a line after 5 s of silence), tested here with a
fake clock.

Controls: the gap rule flags injected timestamps with a silent stretch; the watcher, given a command that
writes two lines 0.6 s apart, sees them 0.6 s apart (it timestamps lines as they arrive, not at the exit) and
flags the gap under a limit of 0.3 s; the heartbeat speaks after its period of silence and not before.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from waiting import HANG_S

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: the promise: a line at least this often (seconds)
LIMIT_S = 10.0

#: the README's long commands (the words before the options) and the tiny arguments they run with here
LONG = {
    "run": ["run", "D1", "--quick", "--no-figures", "--no-cache", "--json", "--out", "{tmp}/reports"],
    "multistage derive": ["multistage", "derive", "D1", "D4"],
    "early-training derive": ["early-training", "derive", "--json"],
    "noisy-quadratic derive": ["noisy-quadratic", "derive", "Q1"],
    "multistage simulate": ["multistage", "simulate", "--config", "{tmp}/tiny.toml", "--out", "{tmp}/sim",
                            "--grid", "41", "--json"],
    "early-training uv": ["early-training", "uv", "--width", "64", "--json"],
    "early-training critical-lr": ["early-training", "critical-lr", "--depth", "2", "--width", "4", "--steps", "2",
                                   "--json"],
    "noisy-quadratic spectrum": ["noisy-quadratic", "spectrum", "--params", "75", "--k", "2", "--json"],
}
#: the README's commands not run here, and why
NOT_RUN = {
    "list": "answers in about a second from the committed claim index",
    "--version": "answers before any parser is built",
    "report": "renders one report again (about a second)",
    "stages": "segments one CSV (seconds)",
    "multistage predict": "closed forms of one configuration (seconds)",
    "noisy-quadratic stationary": "seconds at the defaults, silent then; past 5 s estimated, an estimate line and "
                                  "the heartbeat (test_stationary_speaks_only_when_it_runs_long)",
    "all": "the code of 'run' (the same _run_and_report, runner and heartbeat) over every claim: a quick 'all' "
           "takes a minute, 'run D1' a few seconds",
}

TINY_CONFIG = """\
[model]
activation = "tanh"
width = 50
alpha = 1.0
[data]
dim = 2
quadrature = 6
whiten = true
[target]
expr = "tanh(2*x0) + 0.4*x1 - 0.3"
[train]
method = "flow"
t_max = 20.0
seed = 1
[analysis]
delta = 0.01
"""


def readme_commands() -> list[str]:
    """The commands of the README's command list: the words after ``python -m verify`` before the first option
    or placeholder (``early-training uv``, ``all``, ``--version``)."""
    block = README.read_text().split("## Commands", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    out = []
    for line in block.splitlines():
        if not line.startswith("python -m verify "):
            continue
        words = line.split("#", 1)[0].split()[3:]
        if words[0] == "--version":
            out.append("--version")
            continue
        taken = [w for w in words[:2] if re.fullmatch(r"[a-z][a-z-]*", w)]
        if len(taken) == 2 and taken[0] not in ("multistage", "early-training", "noisy-quadratic"):
            taken = taken[:1]
        out.append(" ".join(taken))
    return list(dict.fromkeys(out))


def silent_spans(start: float, stamps: list[float], end: float, limit: float = LIMIT_S) -> list[tuple]:
    """The stretches ``(from, to)`` longer than ``limit`` between the start, the lines' times and the exit."""
    times = [start, *sorted(stamps), end]
    return [(a, b) for a, b in zip(times, times[1:]) if b - a > limit]


def watch(argv: list[str], timeout: float = HANG_S) -> dict:
    """Run ``argv`` and timestamp every line of its standard error and output as it arrives."""
    stamps, lines = [], []
    lock = threading.Lock()
    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            bufsize=1, env={**os.environ, "OMP_NUM_THREADS": "1"})

    def pump(stream, name):
        for line in stream:
            with lock:
                stamps.append(time.monotonic())
                lines.append((name, line.rstrip("\n")))

    threads = [threading.Thread(target=pump, args=(proc.stderr, "err")),
               threading.Thread(target=pump, args=(proc.stdout, "out"))]
    for t in threads:
        t.start()
    try:
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
        for t in threads:
            t.join()
    end = time.monotonic()
    return {"start": start, "stamps": stamps, "end": end, "returncode": proc.returncode, "lines": lines}


def test_every_readme_command_is_run_here_or_said_why_not():
    commands = readme_commands()
    assert "noisy-quadratic spectrum" in commands and "early-training uv" in commands and "all" in commands
    assert set(commands) <= set(LONG) | set(NOT_RUN), set(commands) - set(LONG) - set(NOT_RUN)
    assert set(LONG) <= set(commands)


@pytest.mark.parametrize("name", list(LONG))
def test_a_long_command_speaks_at_least_every_10_s(name, tmp_path):
    (tmp_path / "tiny.toml").write_text(TINY_CONFIG)
    argv = [sys.executable, "-m", "verify", *(a.replace("{tmp}", str(tmp_path)) for a in LONG[name])]
    seen = watch(argv)
    errors = [text for stream, text in seen["lines"] if stream == "err"]
    assert seen["returncode"] == 0, "\n".join(errors[-20:])
    spans = silent_spans(seen["start"], seen["stamps"], seen["end"])
    assert not spans, (name, [(round(a - seen["start"], 1), round(b - seen["start"], 1)) for a, b in spans])
    assert errors, f"{name}: no progress line on standard error"


def test_the_gap_rule_flags_a_silent_stretch_control():
    assert silent_spans(0.0, [1.0, 2.0, 9.5], 12.0) == []
    assert silent_spans(0.0, [1.0, 2.0, 14.5], 15.0) == [(2.0, 14.5)]
    assert silent_spans(0.0, [], 11.0) == [(0.0, 11.0)]                # a command silent to the end
    assert silent_spans(0.0, [14.0, 3.0], 15.0) == [(3.0, 14.0)]        # lines from two pipes, out of order


def test_the_watcher_timestamps_lines_as_they_arrive_control():
    code = ("import sys, time; print('a', file=sys.stderr, flush=True); time.sleep(0.6); "
            "print('b', file=sys.stderr, flush=True)")
    seen = watch([sys.executable, "-c", code], timeout=60)
    assert [text for _, text in seen["lines"]] == ["a", "b"]
    first, second = seen["stamps"]
    assert second - first >= 0.5                                         # not both read at the exit
    assert silent_spans(seen["start"], seen["stamps"], seen["end"], limit=0.3) == [(first, second)]


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_the_heartbeat_speaks_after_its_period_of_silence_and_not_before(capsys):
    from verify.progress import Signs

    clock = _Clock()
    signs = Signs("tool", every=5.0, clock=clock)
    reached = [0]
    signs.phase("training", lambda: f"step {reached[0]}")
    clock.now, reached[0] = 4.9, 40
    assert signs.beat() is None                                          # 4.9 s of silence: too early
    clock.now, reached[0] = 5.0, 50
    assert signs.beat() == "  ... still training (5 s; step 50)"
    clock.now = 9.0
    assert signs.beat() is None                                          # the heartbeat itself was a line
    signs.phase("eigh", line="")
    clock.now = 14.0
    assert signs.beat() == "  ... still eigh (5 s)"
    assert capsys.readouterr().err.splitlines() == ["  training", "  ... still training (5 s; step 50)",
                                                    "  ... still eigh (5 s)"]
    quiet = Signs("tool", quiet=True, clock=clock)
    quiet.phase("training")
    clock.now = 100.0
    assert quiet.beat() is None and capsys.readouterr().err == ""


def test_the_heartbeat_thread_speaks_during_a_silent_call(capsys):
    from verify.progress import Signs

    with Signs("tool", every=0.2) as signs:
        signs.phase("sleeping", line="")
        time.sleep(0.9)                                                  # a long call that prints nothing
    beats = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("  ... still sleeping")]
    assert len(beats) >= 2


#: the tools with --quiet, in-process, with tiny arguments (each also takes --json)
QUIET = {
    "uv": ["early-training", "uv", "--width", "32"],
    "spectrum": ["noisy-quadratic", "spectrum", "--params", "75", "--k", "2"],
    "simulate": ["multistage", "simulate", "--config", "{tmp}/tiny.toml", "--out", "{tmp}/sim", "--grid", "41"],
    "derive": ["noisy-quadratic", "derive", "Q1"],
}


@pytest.mark.parametrize("name", list(QUIET))
def test_json_keeps_standard_output_for_the_json_and_quiet_silences_the_lines(name, tmp_path, capsys):
    import json

    from verify.cli import main

    (tmp_path / "tiny.toml").write_text(TINY_CONFIG)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in QUIET[name]]
    assert main([*argv, "--json"]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)                                             # the JSON alone
    assert captured.err.strip(), "no progress line"
    if name != "derive":                                                 # an estimate line first
        assert captured.err.splitlines()[0].startswith(f"{name}: ") and "estimated about" in captured.err
    assert main([*argv, "--json", "--quiet"]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)
    assert captured.err == ""


def test_stationary_speaks_only_when_it_runs_long(capsys, monkeypatch):
    """At the defaults (about a second) ``stationary`` prints nothing on standard error; a simulation estimated
    past a heartbeat gets the estimate line (the cost constant raised here instead of running a long one)."""
    import verify.noisy_quadratic.cli as nq

    from verify.cli import main

    argv = ["noisy-quadratic", "stationary", "--lr", "0.1", "--curvature", "1", "--noise", "1", "--chains", "16",
            "--steps", "50"]
    assert main(argv) == 0
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(nq, "SECONDS_PER_STEP", 1.0)                       # 50 steps and the burn-in: a minute
    assert main(argv) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("stationary: 16 chains x ") and "estimated about" in err[0]
    assert main([*argv, "--quiet"]) == 0
    assert capsys.readouterr().err == ""
