"""verify.threads: --threads taken as given (capped at the cores), one thread for small work, the idle cores
otherwise; limit() applies a count to the BLAS and PyTorch and restores them."""
import pytest
import torch
from threadpoolctl import threadpool_info

from theory.errors import InputError
from verify import threads


def test_parse_takes_whole_numbers_in_range_and_refuses_the_rest():
    assert threads.parse(None) is None and threads.parse("2") == 2 and threads.parse(3) == 3
    for bad in ("0", "-1", "two", "1.5", str(threads.THREADS_LIMIT + 1)):
        with pytest.raises(InputError, match="--threads"):
            threads.parse(bad)


def test_choose_follows_the_request_the_work_and_the_idle_cores(monkeypatch):
    monkeypatch.setattr(threads, "cores", lambda: 4)
    said = []
    assert threads.choose(8, say=said.append) == (4, "--threads") and "capped at 4" in said[0]
    assert threads.choose(2)[0] == 2
    monkeypatch.setattr(threads, "busy_cores", lambda window=0.1: 0.0)
    assert threads.choose()[0] == 4
    assert threads.choose(workers=2)[0] == 2
    assert threads.choose(work=10, parallel_from=100)[0] == 1            # small work: one thread
    assert threads.choose(work=1000, parallel_from=100)[0] == 4
    monkeypatch.setattr(threads, "busy_cores", lambda window=0.1: 3.0)    # one core idle
    n, why = threads.choose()
    assert n == 1 and "1 of 4 cores idle" in why
    monkeypatch.setattr(threads, "busy_cores", lambda window=0.1: 1.9)
    assert threads.choose()[0] == 2
    monkeypatch.setattr(threads, "cores", lambda: 1)
    assert threads.choose()[0] == 1


def test_busy_cores_reads_the_busy_share_of_proc_stat(monkeypatch):
    samples = iter([(100.0, 1000.0), (150.0, 1100.0)])          # half of the CPU time in the window was busy
    monkeypatch.setattr(threads, "_cpu_times", lambda: next(samples))
    monkeypatch.setattr(threads.time, "process_time", lambda: 0.0)  # none of it this process's
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 4)
    assert threads.busy_cores(window=0.0) == pytest.approx(2.0)
    monkeypatch.setattr(threads, "_cpu_times", lambda: None)              # unreadable: the load average
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (1.5, 1.0, 1.0))
    assert threads.busy_cores(window=0.0) == pytest.approx(1.5)


def test_the_window_opened_by_the_command_line_spans_its_start_up_without_its_own_cpu_time(monkeypatch):
    """Inside ``window_from_here`` the first busy_cores measures from the block's start, takes this process's CPU
    time out (in clock ticks) and sleeps only for what is left of its window; the window is used once, and not
    after the block.  The control: the same samples without the process's time read one core more."""
    clock = {"t": 0.0}
    monkeypatch.setattr(threads.time, "monotonic", lambda: clock["t"])
    slept = []
    monkeypatch.setattr(threads.time, "sleep", lambda s: (slept.append(s), clock.update(t=clock["t"] + s)))
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(threads, "_ticks_per_second", lambda: 100.0)
    cpu = {"own": 0.0}
    monkeypatch.setattr(threads.time, "process_time", lambda: cpu["own"])

    def run(own_seconds):
        samples = iter([(100.0, 1000.0), (150.0, 1100.0), (150.0, 1100.0), (170.0, 1200.0)])
        monkeypatch.setattr(threads, "_cpu_times", lambda: next(samples))
        cpu["own"], slept[:] = 0.0, []
        with threads.window_from_here():
            clock["t"] += 0.4                      # the start-up: imports, the configuration
            cpu["own"] += own_seconds               # this process kept one core busy through it
            first = threads.busy_cores(window=0.1)
            second = threads.busy_cores(window=0.1)
        return first, second, list(slept)

    first, second, sleeps = run(0.25)
    # 50 busy of 100 ticks, 25 of them this process's: a quarter of 4 CPUs is other work
    assert first == pytest.approx(1.0) and sleeps == [pytest.approx(0.1)]    # only the second call slept
    assert second == pytest.approx(0.8)                                        # a fresh window: 20 of 100
    control, _, _ = run(0.0)
    assert control == pytest.approx(2.0)
    samples = iter([(0.0, 100.0), (10.0, 200.0)])                              # after the block: a fresh window
    monkeypatch.setattr(threads, "_cpu_times", lambda: next(samples))
    slept[:] = []
    assert threads.busy_cores(window=0.1) == pytest.approx(0.4) and slept == [pytest.approx(0.1)]


def test_limit_applies_and_restores():
    before = torch.get_num_threads()
    blas_before = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    with threads.limit(1):
        assert torch.get_num_threads() == 1
        assert all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] == "blas")
    assert torch.get_num_threads() == before
    assert [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"] == blas_before


def test_simulate_splits_the_kernel_from_the_threshold_the_benchmark_set(monkeypatch):
    """simulate's two-layer kernel: one thread below n x m = KERNEL_PARALLEL_FROM even with idle cores, the idle
    cores from it on (the crossover bench_flow_vs_jax.py --threads-table measures); --threads overrides both."""
    import argparse

    from verify.multistage import cli as _cli
    from verify.multistage.config import config_from_dict

    assert _cli.KERNEL_PARALLEL_FROM is threads.KERNEL_PARALLEL_FROM
    monkeypatch.setattr(threads, "cores", lambda: 2)
    monkeypatch.setattr(threads, "busy_cores", lambda window=0.1: 0.0)
    chosen = {}
    for samples in (100, 300):
        width = int(threads.KERNEL_PARALLEL_FROM // 300) + (1 if samples == 300 else 0)   # just below / at it
        config = config_from_dict({"model": {"activation": "tanh", "width": width, "alpha": 1.0},
                                   "data": {"dim": 3, "samples": samples, "whiten": True, "seed": 0},
                                   "target": {"expr": "tanh(2*x0) - 0.3"}, "train": {"method": "flow", "t_max": 1.0}})
        for requested in (None, "1"):
            args = argparse.Namespace(solver="RK45", rtol=1e-6, grid=11, backend="auto", device="cpu", k_levels=(),
                                      loss_levels=(), threads=requested, batch=None, dtype="float64",
                                      npz_dtype="float64", remainder=None, per_neuron=None)
            _cli._check_simulate_options(args, config)
            chosen[samples, requested] = args.threads
    assert samples * width >= threads.KERNEL_PARALLEL_FROM > 100 * (threads.KERNEL_PARALLEL_FROM // 300)
    assert chosen == {(100, None): 1, (300, None): 2, (100, "1"): 1, (300, "1"): 1}
