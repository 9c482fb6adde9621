"""The runner under faults: workers capped, one writer per output folder, clean stops on SIGTERM and SIGINT."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from verify.cli import _cap_workers, main
from verify.runner import _STAGING
from waiting import HANG_S, Output, wait_until

REPO = Path(__file__).resolve().parents[1]


def test_workers_are_capped_at_the_cores_and_the_jobs(capsys):
    from verify.registry import load_papers

    load_papers()
    ids = ["D1-gradient-flow", "D2-taylor-remainder"]          # one run group ("exact"), one paper: 3 jobs
    workers = _cap_workers(1000, ids, sys.stdout)
    assert workers == min(os.cpu_count() or 1, 3)
    assert "capped" in capsys.readouterr().out
    assert _cap_workers(1, ids, sys.stdout) == 1 and capsys.readouterr().out == ""


def test_a_second_writer_to_the_same_folder_gets_one_line(tmp_path, capsys):
    from filelock import FileLock

    root = tmp_path / "rep"
    root.mkdir()
    with FileLock(str(root / ".verify.lock")):
        assert main(["run", "D1", "--quick", "--no-figures", "--out", str(root)]) == 2
    err = capsys.readouterr().err
    assert "another verify run" in err and err.count("\n") == 1
    assert not (root / "multistage").exists()                # nothing written
    assert main(["run", "D1", "--quick", "--no-figures", "--out", str(root)]) == 0   # free again: it runs


def test_out_that_is_a_file_is_refused_before_any_work(tmp_path, capsys):
    target = tmp_path / "a-file"
    target.write_text("keep me")
    assert main(["run", "D1", "--quick", "--out", str(target)]) == 2
    assert "is a file" in capsys.readouterr().err and target.read_text() == "keep me"


def test_stale_figure_folders_of_dead_runs_are_removed(tmp_path, capsys):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = Path(tempfile.mkdtemp(prefix=f"{_STAGING}{int(dead.stdout)}-"))
    assert main(["run", "D1", "--quick", "--no-figures", "--out", str(tmp_path / "rep")]) == 0
    assert not stale.exists()


def _descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (children, their children, ...), from the parent ids in /proc/<pid>/stat."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):      # the process ended meanwhile
            continue
    found, queue = [], [pid]
    while queue:
        above = queue.pop()
        below = [child for child, parent in parents.items() if parent == above]
        found += below
        queue += below
    return found


def _signal_masks(pid: int) -> dict[str, int] | None:
    """``SigIgn`` and ``SigCgt`` (ignored and caught signals) of ``pid`` from /proc, or None once it is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    return {k: int(v, 16) for k, v in (line.split(":\t") for line in lines) if k in ("SigIgn", "SigCgt")}


def _bit(sig) -> int:
    return 1 << (int(sig) - 1)


def _ready_workers(pid: int) -> list[int]:
    """The pool's workers below ``pid`` whose start-up (``verify.pools.worker_init``) has run: SIGINT ignored, SIGTERM back to
    its default (a fresh fork still has the parent's SIGTERM handler, and a signal then would end it with a
    traceback)."""
    ready = []
    for child in _descendants(pid):
        masks = _signal_masks(child)
        if masks and masks["SigIgn"] & _bit(signal.SIGINT) and not (masks["SigIgn"] | masks["SigCgt"]) & _bit(
                signal.SIGTERM):
            ready.append(child)
    return ready


def _running(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie, ended and waiting to be reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


#: how soon after the signal 'all' must have exited: generous, so that a loaded two-core machine meets it (an
#: unloaded one takes about a second); a run that went on with its claims would take minutes
STOP_S = 120


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads the worker processes from /proc")
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="a pool of two workers needs two cores (one runs in-process)")
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_every_worker_within_seconds(tmp_path, sig, code):
    """SIGTERM / SIGINT to a running 'all': exit 143 / 130 within STOP_S seconds, no worker left, no temporary
    figure folder of this run left, no traceback.

    The signal goes once every worker of the pool is running (its start-up done), as the test sees in /proc;
    nothing here waits a fixed time.  The exit must come within STOP_S = 120 s of the signal, a bound a loaded
    two-core machine meets (about a second unloaded)."""
    proc = subprocess.Popen([sys.executable, "-m", "verify", "all", "--quick", "--paper", "noisy-quadratic",
                             "--workers", "2", "--out", str(tmp_path / "rep")], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        stdout, stderr = Output(proc.stdout, "standard output"), Output(proc.stderr, "standard error")
        # "Running N claims, ..., W workers; ..." (printed before the pool starts, flushed when it forks)
        wanted = int(stdout.wait_for(r"Running .*?(\d+) workers?;", "the 'Running' line").group(1))

        def all_started():
            ready = _ready_workers(proc.pid)
            return ready if len(ready) >= wanted else None

        workers = wait_until(all_started, f"{wanted} started workers")
        assert proc.poll() is None, "the run ended before the signal"
        sent = time.monotonic()
        proc.send_signal(sig)
        try:
            rc = proc.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {STOP_S} s after the signal")
        stopped = time.monotonic() - sent
        assert rc == code, (rc, stderr.rest()[-3000:])
        wait_until(lambda: not [w for w in workers if _running(w)], "end of the workers", limit=STOP_S)
        err = stderr.rest()
        assert "Traceback" not in err, err[-3000:]
        assert not list(Path(tempfile.gettempdir()).glob(f"{_STAGING}{proc.pid}-*"))
        assert stopped < STOP_S
    finally:
        if proc.poll() is None:
            proc.kill()


def _groups_cached(cache_dir: Path) -> int:
    return len(list((cache_dir / "runs").rglob("*.json"))) if (cache_dir / "runs").is_dir() else 0


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="process groups and SIGKILL")
def test_a_killed_run_resumes_from_its_cache_and_writes_the_same_report(tmp_path):
    """SIGKILL to the whole process group of a run (claims of the three papers) once two of its run groups are
    cached; the same command
    again (same options, same --cache) takes those groups from the cache, runs the rest, and writes a report.json
    byte-identical to that of a run never interrupted (with a cache of its own)."""
    env = {k: v for k, v in os.environ.items() if k not in ("VERIFY_NO_CACHE", "VERIFY_CACHE_DIR")}

    from verify.registry import REGISTRY, load_papers
    from verify.runner import groups_of

    load_papers()
    ids = ["D1-gradient-flow", "E1-uv-map"] + sorted(c for c in REGISTRY if c.startswith(("Q1-", "Q2-")))
    groups = len(groups_of(ids))

    def command(cache_dir: Path, out: Path) -> list[str]:
        return [sys.executable, "-m", "verify", "run", *ids, "--quick", "--no-figures", "--workers", "1",
                "--cache", str(cache_dir), "--out", str(out)]

    reports = [Path(paper) / "quick-seed0" for paper in ("multistage", "early-training", "noisy-quadratic")]
    report = reports[-1]
    reference = subprocess.run(command(tmp_path / "cache-ref", tmp_path / "ref"), cwd=REPO, env=env,
                               capture_output=True, text=True, timeout=HANG_S)
    assert reference.returncode == 0, reference.stderr
    cache_dir, out = tmp_path / "cache", tmp_path / "out"
    proc = subprocess.Popen(command(cache_dir, out), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_until(lambda: _groups_cached(cache_dir) >= 2 or proc.poll() is not None, "two cached run groups",
                   poll=0.01)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=HANG_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it was killed"
    assert not (out / report / "report.json").exists()
    cached = _groups_cached(cache_dir)
    assert 2 <= cached < groups
    again = subprocess.run(command(cache_dir, out), cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=HANG_S)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("(from the cache)") >= cached
    timings = [json.loads((out / rep / "timing.json").read_text()) for rep in reports]
    from_cache = sum(len(t["from_cache"]) for t in timings)
    assert cached <= from_cache < sum(len(t["per_claim_s"]) for t in timings)
    for rep in reports:           # every paper's report.json byte for byte the uninterrupted run's
        assert (out / rep / "report.json").read_bytes() == (tmp_path / "ref" / rep / "report.json").read_bytes(), rep


@pytest.mark.parametrize("module", ["theory.errors", "verify.registry", "verify.multistage.cli"])
def test_ctrl_c_while_the_command_line_loads_is_one_line(module):
    """A KeyboardInterrupt raised by an import on the way to the command line (where a Ctrl-C in the first
    second lands): 'interrupted', exit 130, no traceback."""
    inject = ("import runpy, sys\n"
              "class Interrupt:\n"
              "    def find_spec(self, fullname, path, target=None):\n"
              f"        if fullname == {module!r}:\n"
              "            raise KeyboardInterrupt\n"
              "sys.meta_path.insert(0, Interrupt())\n"
              "sys.argv = ['verify', 'predict', '--help']\n"
              "runpy.run_module('verify', run_name='__main__', alter_sys=True)\n")
    result = subprocess.run([sys.executable, "-c", inject], cwd=REPO, capture_output=True, text=True, timeout=HANG_S)
    assert result.returncode == 130, result.stderr
    assert result.stderr == "interrupted\n"


def test_a_report_written_into_the_repository_does_not_make_the_code_dirty(monkeypatch):
    """The run record's git_dirty looks at the code (theory/, verify/) only: a changed report is not dirt."""
    from verify import runner

    def fake_git(*args):
        changed = [" M reports/multistage/default-seed0/report.json", " M verify/runner.py"]
        if "--" in args:
            paths = args[args.index("--") + 1:]
            changed = [c for c in changed if any(c[3:].startswith(p.lstrip(":/")) for p in paths)]
        return "\n".join(changed) or None if args[0] == "status" else "abc123"

    monkeypatch.setattr(runner, "_git", fake_git)
    assert runner._git_dirty() is True                      # the code changed
    monkeypatch.setattr(runner, "_git", lambda *a: (None if a[0] == "status" and "--" in a else
                                                     " M reports/x/report.json" if a[0] == "status" else "abc123"))
    assert runner._git_dirty() is False                     # only a report changed


def test_one_claim_group_runs_in_this_process_unless_workers_are_asked(capsys, tmp_path):
    # issue 23: 'run' of one claim started a pool of two workers
    from verify.registry import load_papers
    from verify.runner import groups_of

    load_papers()                     # the registry, also when this test runs alone
    ids = ["D1-gradient-flow"]
    assert len(groups_of(ids)) == 1
    assert _cap_workers(2, ids, sys.stdout, explicit=False) == 1
    assert capsys.readouterr().out == ""
    assert _cap_workers(2, ids, sys.stdout, explicit=True) == min(os.cpu_count() or 1, 2)   # control: asked
    assert main(["run", "D1", "--quick", "--no-figures", "--no-cache", "--out", str(tmp_path / "rep")]) == 0
    assert "1 worker;" in capsys.readouterr().out


def test_progress_counts_the_claims_and_says_when_figures_are_drawn(capsys, tmp_path, monkeypatch):
    # issue 23: "12/40 claims, about 3 min left" and a line while figures are drawn; in one process each group is
    # announced as it finishes
    monkeypatch.setenv("VERIFY_NO_CACHE", "1")
    assert main(["run", "D1", "D2", "--quick", "--workers", "1", "--out", str(tmp_path / "rep")]) == 0
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.startswith("  passed")]
    assert len(lines) == 2 and lines[0].endswith("[1/2]") and "[2/2]" in lines[1]
    assert "multistage: drawing the figures and writing the report" in out
    assert out.index("[2/2]") < out.index("drawing the figures")
