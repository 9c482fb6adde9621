"""The content-addressed cache: addresses, misses, corruption, the switch, clearing, and reports unchanged by it."""
from __future__ import annotations

import json

import pytest

from verify import cache
from verify.cli import main


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("VERIFY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("VERIFY_NO_CACHE", raising=False)
    return tmp_path / "cache"


def test_put_then_get_and_any_key_change_misses(store):
    key = {"paper": "p", "derivation": "D1", "code": "abc"}
    assert cache.get("ns", key) is None
    cache.put("ns", key, {"x": [1, 2.5, None]})
    assert cache.get("ns", key) == {"x": [1, 2.5, None]}
    assert cache.get("ns", {**key, "code": "abd"}) is None
    assert cache.get("other", key) is None


def test_a_corrupt_entry_is_a_miss_and_the_switch_turns_it_off(store, monkeypatch):
    key = {"k": 1}
    cache.put("ns", key, 42)
    (path,) = list(store.rglob("*.json"))
    path.write_text("{not json")
    assert cache.get("ns", key) is None
    cache.put("ns", key, 42)
    monkeypatch.setenv("VERIFY_NO_CACHE", "1")
    assert cache.get("ns", key) is None
    cache.put("ns", {"k": 2}, 1)                 # not written while off
    monkeypatch.delenv("VERIFY_NO_CACHE")
    assert cache.get("ns", {"k": 2}) is None and cache.get("ns", key) == 42


def test_code_version_follows_the_sources(tmp_path, monkeypatch):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(cache, "_PACKAGES_ROOT", tmp_path)
    cache.code_version.cache_clear()
    first = cache.code_version("pkg")
    (pkg / "a.py").write_text("x = 2\n")
    cache.code_version.cache_clear()
    assert cache.code_version("pkg") != first
    cache.code_version.cache_clear()


def test_clear_removes_every_entry(store, capsys):
    cache.put("ns", {"k": 1}, 1)
    cache.put("ns2", {"k": 1}, 1)
    assert cache.info() and main(["cache", "clear"]) == 0
    assert cache.info() == {} and "removed 2" in capsys.readouterr().out


def test_a_warm_run_gives_the_same_report(store, tmp_path, capsys):
    args = ["run", "D1", "D2", "--quick", "--no-figures", "--workers", "1"]
    assert main(args + ["--out", str(tmp_path / "cold")]) == 0
    assert cache.info()["derivation-texts"]["entries"] == 2
    assert main(args + ["--out", str(tmp_path / "warm")]) == 0
    cold = (tmp_path / "cold" / "multistage" / "quick-seed0" / "report.json").read_bytes()
    warm = (tmp_path / "warm" / "multistage" / "quick-seed0" / "report.json").read_bytes()
    assert json.loads(cold) == json.loads(warm) and cold == warm


def test_an_interrupted_run_resumes_from_the_finished_groups(store, tmp_path, capsys, monkeypatch):
    """A run group that finished is not run again: the second run takes its verdicts from the cache (here the
    check is made to raise if it were called) and writes the same report.json."""
    from verify.registry import REGISTRY, load_papers

    load_papers()
    args = ["run", "D1", "--quick", "--no-figures", "--workers", "1"]
    assert main(args + ["--out", str(tmp_path / "first")]) == 0
    claim = REGISTRY["D1-gradient-flow"]

    def boom(ctx):
        raise AssertionError("run again although cached")

    monkeypatch.setitem(REGISTRY, "D1-gradient-flow", type(claim)(**{**claim.__dict__, "check": boom}))
    assert main(args + ["--out", str(tmp_path / "again")]) == 0
    assert "from the cache" in capsys.readouterr().out
    first = (tmp_path / "first" / "multistage" / "quick-seed0" / "report.json").read_bytes()
    again = (tmp_path / "again" / "multistage" / "quick-seed0" / "report.json").read_bytes()
    assert first == again


def test_a_cached_entry_needs_the_calibrated_control_and_the_resolution(store):
    """A cached group written with the calibrated control and the resolution is taken; the same entry without
    them (written before they were recorded) is a miss, so the group runs again."""
    from verify import runner
    from verify.registry import load_papers

    load_papers()
    ids = ("D1-gradient-flow",)
    args = (ids, "quick", 0, "auto", "cpu", None, None)
    first = runner._group(args)
    assert not first[0][2] and first[0][0]["calibrated_control"]["status"] == "failed"
    key = runner._run_key("claims", claims=list(ids), profile="quick", seed=0, backend="auto", device="cpu",
                          user=None)
    entry = cache.get("runs", key)
    assert entry[0][0]["resolution"]["detects"] and runner._cached_verdicts(entry, list(ids))
    assert runner._group(args)[0][2]                                  # taken from the cache
    for name in ("calibrated_control", "resolution"):
        old = json.loads(json.dumps(entry))
        del old[0][0][name]
        assert not runner._cached_verdicts(old, list(ids)), name
        cache.put("runs", key, old)
        rerun = runner._group(args)
        assert not rerun[0][2] and rerun[0][0][name] is not None       # run again, not taken from the entry
    stale = json.loads(json.dumps(entry))
    stale[0][0]["calibrated_control"] = None                           # the claim has one: None is stale
    assert not runner._cached_verdicts(stale, list(ids))
