"""A cache folder is untrusted input: planted paths, forged verdicts, changed digits, foreign owners and unsigned
entries of a team cache are refused (issue: trust boundaries)."""
from __future__ import annotations

import base64
import json
import os

import pytest

from verify import cache, runner
from verify.cli import main

_PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode("ascii")


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("VERIFY_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("VERIFY_NO_CACHE", cache.KEY_ENV, cache.KEY_FILE_ENV):
        monkeypatch.delenv(name, raising=False)
    cache._REFUSED.clear()
    return tmp_path / "cache"


def _entry_path(store):
    (path,) = [p for p in store.rglob("*.json")]
    return path


def test_the_folder_is_created_private_and_entries_carry_their_digest(store):
    cache.put("ns", {"k": 1}, {"x": 1.5})
    assert (store.stat().st_mode & 0o777) == 0o700
    entry = json.loads(_entry_path(store).read_text())
    assert len(entry["sha256"]) == 64 and "hmac" not in entry
    assert cache.get("ns", {"k": 1}) == {"x": 1.5}


@pytest.mark.parametrize("edit", [
    lambda e: e["value"].update(measured=7.627),                          # one digit changed (0.627 -> 7.627)
    lambda e: e["value"].update(status="failed"),                         # a status flipped
    lambda e: e.pop("sha256"),                                            # an entry of no digest
])
def test_an_entry_changed_after_it_was_written_is_refused_and_noted(store, capsys, edit):
    cache.put("ns", {"k": 1}, {"status": "passed", "measured": 0.627})
    path = _entry_path(store)
    entry = json.loads(path.read_text())
    edit(entry)
    path.write_text(json.dumps(entry))
    assert cache.get("ns", {"k": 1}) is None
    assert "refused" in capsys.readouterr().err and cache.refused()


def test_an_untouched_entry_is_read_back_control(store, capsys):
    cache.put("ns", {"k": 1}, {"status": "passed", "measured": 0.627})
    path = _entry_path(store)
    path.write_text(json.dumps(json.loads(path.read_text())))             # re-serialised, content unchanged
    assert cache.get("ns", {"k": 1}) == {"status": "passed", "measured": 0.627}
    assert capsys.readouterr().err == ""


def test_an_entry_owned_by_another_user_is_refused(store, monkeypatch):
    cache.put("ns", {"k": 1}, 42)
    monkeypatch.setattr(os, "getuid", lambda: os.stat(_entry_path(store)).st_uid + 1)
    assert cache.get("ns", {"k": 1}) is None
    monkeypatch.undo()


def test_the_shared_mode_signs_entries_and_refuses_unsigned_or_foreign_ones(store, monkeypatch, tmp_path):
    cache.put("ns", {"k": 1}, 42)                                         # written unsigned (private mode)
    key_file = tmp_path / "team.key"
    key_file.write_text("team secret\n")
    monkeypatch.setenv(cache.KEY_FILE_ENV, str(key_file))
    assert cache.get("ns", {"k": 1}) is None                             # unsigned: refused in the shared mode
    cache.put("ns", {"k": 1}, 42)
    assert cache.get("ns", {"k": 1}) == 42                               # signed under the team's key
    entry = json.loads(_entry_path(store).read_text())
    forged = cache.seal(entry["key"], 43, b"another key")                # a digest anyone can compute, wrong key
    _entry_path(store).write_text(json.dumps(forged))
    assert cache.get("ns", {"k": 1}) is None
    monkeypatch.setenv(cache.KEY_FILE_ENV, str(tmp_path / "missing.key"))  # an unreadable key: the cache is off
    cache.put("ns", {"k": 2}, 1)
    assert cache.get("ns", {"k": 2}) is None


def test_planted_figure_names_are_refused_and_the_figures_drawn_again(store, tmp_path):
    key = "figure-key"
    outside = tmp_path / "outside.png"
    for name in (f"../../{outside.name}", str(outside), "sub/dir.png", "x.sh"):
        cache.put("runs", key, {"figures": [], "files": {name: _PNG}})
        drawn = []

        def draw(folder):
            folder.mkdir(parents=True)
            (folder / "fresh.png").write_bytes(b"\x89PNG\r\n\x1a\nnew")
            drawn.append(True)
            return [{"name": "fresh", "png": "figures/fresh.png", "svg": None}]

        value = runner._drawn(key, draw)
        assert drawn and list(value["files"]) == ["fresh.png"]
        with pytest.raises(ValueError, match="plain file name"):
            runner._write_figures(tmp_path / "staging", {name: _PNG})
    assert not outside.exists()


def test_a_clean_figure_entry_is_used_control(store, tmp_path):
    cache.put("runs", "k", {"figures": [{"name": "a", "png": "figures/a.png"}], "files": {"a.png": _PNG}})
    assert runner._drawn("k", lambda folder: pytest.fail("drawn again")) ["files"] == {"a.png": _PNG}
    runner._write_figures(tmp_path / "staging", {"a.png": _PNG})
    assert (tmp_path / "staging" / "a.png").read_bytes().startswith(b"\x89PNG")


def test_a_forged_verdict_in_the_cache_does_not_reach_the_report(store, tmp_path, capfd):
    out = tmp_path / "rep"
    assert main(["run", "D1", "--quick", "--no-figures", "--out", str(out)]) == 0
    (report_path,) = out.rglob("report.json")
    honest = json.loads(report_path.read_text())["claims"][0]
    forged_any = False
    for path in store.rglob("*.json"):
        entry = json.loads(path.read_text())
        value = entry.get("value")
        if isinstance(value, list) and value and isinstance(value[0], list) and isinstance(value[0][0], dict) \
                and str(value[0][0].get("claim")).startswith("D1-"):
            value[0][0]["measured"] = 424242.0                           # the audit's edit, digest left as it was
            path.write_text(json.dumps(entry))
            forged_any = True
    assert forged_any
    capfd.readouterr()
    assert main(["run", "D1", "--quick", "--no-figures", "--out", str(out)]) == 0
    assert "refused" in capfd.readouterr().err                          # noted (by the worker that read it)
    again = json.loads(report_path.read_text())["claims"][0]
    assert again["measured"] == honest["measured"] != 424242.0
