"""The runner under faults: workers capped, one writer per output folder, clean stops on SIGTERM and SIGINT."""
from __future__ import annotations

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


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_every_worker_within_seconds(tmp_path, sig, code):
    """SIGTERM / SIGINT to a running 'all': exit 143 / 130 within a few seconds, no worker left, no temporary
    figure folder of this run left, no traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "verify", "all", "--quick", "--paper", "noisy-quadratic",
                             "--workers", "2", "--out", str(tmp_path / "rep")], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()            # "Running ..." once the claims are about to start
        assert line.startswith("Running"), line
        deadline = time.time() + 60
        while not _children(proc.pid) and time.time() < deadline:
            time.sleep(0.2)
        workers = _children(proc.pid)
        assert workers, "the pool never started"
        time.sleep(1.0)
        sent = time.time()
        proc.send_signal(sig)
        rc = proc.wait(timeout=20)
        assert rc == code and time.time() - sent < 15
        time.sleep(1.0)
        assert not [w for w in workers if Path(f"/proc/{w}").exists()]
        assert "Traceback" not in proc.stderr.read()
        assert not list(Path(tempfile.gettempdir()).glob(f"{_STAGING}{proc.pid}-*"))
    finally:
        if proc.poll() is None:
            proc.kill()
