"""A paper's report folder appears only complete: a full disk while it is written leaves the earlier folder as it
was, no hidden assembly folder behind, and one line with exit status 2 (issue: trust boundaries, item 4)."""
from __future__ import annotations

import errno
import os

import pytest

from verify import runner
from verify.cli import main
from verify.report import files as render


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def first_run(tmp_path, monkeypatch):
    monkeypatch.setenv("VERIFY_NO_CACHE", "1")
    out = tmp_path / "rep"
    assert main(["run", "D1", "--quick", "--out", str(out)]) == 0
    (folder,) = [p.parent for p in out.rglob("report.json")]
    return out, folder, _files(folder)


def test_a_full_disk_while_the_report_is_written_changes_nothing(first_run, monkeypatch, capsys):
    out, folder, before = first_run
    real = render.atomic_write

    def full(path, data):
        if str(path).endswith("report.html"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, data)

    monkeypatch.setattr(render, "atomic_write", full)
    capsys.readouterr()
    assert main(["run", "D1", "--quick", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0] and "Traceback" not in err[0]
    assert _files(folder) == before                                   # the earlier report, byte for byte
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]   # no assembly folder left


def test_a_run_that_writes_replaces_the_folder_whole_control(first_run, monkeypatch):
    out, folder, before = first_run
    (folder / "figures" / "stale.png").write_bytes(b"old")
    assert main(["run", "D1", "--quick", "--out", str(out)]) == 0
    after = _files(folder)
    assert "figures/stale.png" not in after and after["report.json"] == before["report.json"]
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]


def test_assembly_folders_of_dead_runs_are_swept(tmp_path):
    dead = tmp_path / "paper" / f".quick-seed0{runner._PARTIAL}999999999"
    dead.mkdir(parents=True)
    mine = tmp_path / "paper" / f".quick-seed0{runner._PARTIAL}{os.getpid()}"
    mine.mkdir()
    runner._sweep_stale_partials(tmp_path / "paper")
    assert not dead.exists() and mine.exists()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_standard_output_is_one_line():
    import subprocess
    import sys

    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "verify", "list"], stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "No space left" in lines[0], proc.stderr
    control = subprocess.run([sys.executable, "-m", "verify", "list"], capture_output=True, text=True, timeout=120)
    assert control.returncode == 0 and control.stderr == ""
