"""The runner starts the longest jobs first: a group's seconds in the last run of the profile (from the cache),
else its number of claims; a cached duration that is not a number is ignored."""
from concurrent.futures import Future

from verify import cache, pools, runner
from verify.registry import load_papers


class _Recorder:
    def __init__(self):
        self.order, self.args = [], []

    def submit(self, fn, *args):
        self.args.append(args)
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


def _future(value=None, exc=None):
    f = Future()
    if exc is None:
        f.set_result(value)
    else:
        f.set_exception(exc)
    return f


def test_a_group_with_set_up_jobs_follows_them_with_their_results(tmp_path, monkeypatch):
    """The cliff group goes to the pool as its set-up jobs (one training per seed); when they are done the group
    follows with their results; a failed set-up is left out (the group trains that seed itself)."""
    from verify.registry import claims_of

    monkeypatch.setenv("VERIFY_CACHE_DIR", str(tmp_path / "cache"))
    load_papers()
    ids = claims_of("noisy-quadratic")
    run = runner._PaperRun("noisy-quadratic", ids, profile="quick", seed=0, backend="auto", device="cpu",
                           out_dir=tmp_path / "nq", figures=False, progress=lambda *_: None)
    jobs = run.jobs(1, setups=True)
    setups = [args for _, fn, args, _ in jobs if fn is pools.run_setup]
    groups = [args[0][0] for _, fn, args, _ in jobs if fn is runner._group]
    assert len(setups) == 3 and all(args[0].__name__ == "prepare_cliff" for args in setups)
    assert not any("Q3-lambda-max-rise" in g for g in groups)          # the cliff group waits for its set-ups
    (index, (args, futures)), = run.waiting.items()
    assert "Q3-lambda-max-rise" in args[0]
    futures[:] = [_future(["seed 0"]), _future(exc=RuntimeError("lost")), None]
    pool = _Recorder()
    assert run.release(pool) == [] and run.waiting                      # one set-up still running
    futures[2] = _future(["seed 2"])
    submitted = run.release(pool)
    assert len(submitted) == 1 and not run.waiting and run.groups[index] is submitted[0]
    (name, group_ids), = pool.order
    assert name == "_group" and "Q3-lambda-max-rise" in group_ids
    assert pool.args[0][0][-1] == [["seed 0"], ["seed 2"]]           # the results, the failed one left out


def test_without_set_ups_every_group_is_submitted_at_once_control(tmp_path):
    load_papers()
    from verify.registry import claims_of

    ids = claims_of("noisy-quadratic")
    run = runner._PaperRun("noisy-quadratic", ids, profile="quick", seed=0, backend="auto", device="cpu",
                           out_dir=tmp_path / "nq", figures=False, progress=lambda *_: None)
    jobs = run.jobs(1)
    assert not any(fn is pools.run_setup for _, fn, _, _ in jobs) and not run.waiting
