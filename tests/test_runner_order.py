"""The runner starts the longest jobs first: a group's seconds in the last run of the profile (from the cache),
else its number of claims; a cached duration that is not a number is ignored."""
from concurrent.futures import Future

from verify import cache, runner
from verify.registry import load_papers


class _Recorder:
    def __init__(self):
        self.order = []

    def submit(self, fn, *args):
        self.order.append((fn.__name__, args[0][0] if fn is runner._group else args[0]))
        f = Future()
        f.set_result(None)
        return f


def _runs(tmp_path, profile="quick"):
    load_papers()
    return [runner._PaperRun("noisy-quadratic", ["Q1-stationary-loss", "Q2-stationary-loss",
                                                  "Q2-approximation-error"],
                             profile=profile, seed=0, backend="auto", device="cpu", out_dir=tmp_path / "nq",
                             figures=False, progress=lambda *_: None)]


def test_without_history_the_larger_group_goes_first(tmp_path, monkeypatch):
    monkeypatch.setenv("VERIFY_CACHE_DIR", str(tmp_path / "cache"))
    pool = _Recorder()
    runner._submit_longest_first(pool, _runs(tmp_path), 1)
    groups = [ids for name, ids in pool.order if name == "_group"]
    assert groups[0] == ["Q2-stationary-loss", "Q2-approximation-error"]


def test_history_reorders_and_garbage_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("VERIFY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("VERIFY_NO_CACHE", raising=False)
    runner._remember_seconds("noisy-quadratic", ["Q1-stationary-loss"], "quick", 30.0)
    pool = _Recorder()
    runner._submit_longest_first(pool, _runs(tmp_path), 1)
    assert [ids for name, ids in pool.order if name == "_group"][0] == ["Q1-stationary-loss"]
    # control: a duration that is not a number (an untrusted cache entry) falls back to the claim count
    cache.put("durations", runner._duration_key("noisy-quadratic", ["Q1-stationary-loss"], "quick"), "30")
    assert runner._last_seconds("noisy-quadratic", ["Q1-stationary-loss"], "quick", 1.0) == 1.0
    pool = _Recorder()
    runner._submit_longest_first(pool, _runs(tmp_path), 1)
    assert [ids for name, ids in pool.order if name == "_group"][0] == ["Q2-stationary-loss",
                                                                      "Q2-approximation-error"]
