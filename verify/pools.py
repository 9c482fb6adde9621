"""Where a run's jobs execute: in this process one after another, in a local process pool, or on a Dask cluster,
with each job's BLAS, OpenMP and PyTorch threads capped.

The runner (:mod:`verify.runner`) decides what runs (run groups, their set-up jobs, derivation texts, figures), in
what order, what comes from the cache, and assembles the reports; this module only executes.  A paper run handed
to :func:`run_here`, :func:`run_local` or :func:`run_on_dask` is the runner's ``_PaperRun``: its ``groups`` (the
futures of its run groups), ``submit(pool, threads)``, ``pending()``, ``release(pool)``, ``groups_done()``,
``submit_drawing(pool)``, ``finish(workers, pool)`` and ``remember_seconds()``.  ``submit_all(pool, runs, threads,
setups=...)`` submits every paper's jobs (the runner's ordering); ``announce(future)`` prints the progress lines of a
finished run group.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

__all__ = ["limit_threads", "single_threaded", "run_setup", "Now", "run_here", "run_local", "run_on_dask",
           "worker_init", "stop"]


def limit_threads(threads: int | None):
    """Cap the BLAS/OpenMP and PyTorch threads of this process inside the block (``None``: leave them;
    :func:`verify.threads.limit`).

    Workers that each start one BLAS thread per core oversubscribe the machine: on two busy cores a 656 x 656
    ``eigh`` took 5 s with two OpenBLAS threads per worker and 0.09 s with one.
    """
    from contextlib import nullcontext

    from .threads import limit

    return nullcontext() if threads is None else limit(threads)


def single_threaded():
    """One BLAS, OpenMP and PyTorch thread inside the block (restored after): the figure runs are small, and threads
    only contend there (60 s against 1.4 s seen)."""
    return limit_threads(1)


def run_setup(fn, args, threads: int | None):
    """One set-up job of a run group (:attr:`verify.registry.Paper.setup_jobs`) in a worker, with the group's
    thread limit (the same threads give the same round-off as the group computing it itself)."""
    with limit_threads(threads):
        return fn(*args)


class Now:
    """An executor that runs each job when it is submitted (one worker: no processes); ``after(fn, future)`` is
    called as each job finishes (the runner prints the progress line of a run group's claims there)."""

    def __init__(self, after=None):
        self.after = after

    def submit(self, fn, *args):
        future = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever asks for the result, as a pool would
            future.set_exception(exc)
        if self.after is not None:
            self.after(fn, future)
        return future


def run_here(runs: list, workers: int, threads: int | None, after) -> list:
    """Every paper's jobs in this process, paper after paper (``after(fn, future)``: :class:`Now`); each group is
    announced as it finishes, not after its paper."""
    out = []
    for run in runs:
        run.submit(Now(after), threads)
        out.append(run.finish(workers))
        run.remember_seconds()
    return out


def run_local(runs: list, workers: int, threads: int | None, announce, submit_all) -> list:
    """Every paper's jobs on one local pool of ``workers`` processes: the groups whose set-up jobs are done follow
    them, and a paper's figures are drawn as soon as its claims are in, while other papers' claims still run.  An
    interruption or a failure stops the workers at once (:func:`stop`)."""
    pool = ProcessPoolExecutor(workers, initializer=worker_init, initargs=(os.getpid(),))
    try:
        submit_all(pool, runs, threads, setups=True)
        pending = {f for run in runs for f in run.pending()}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for run in runs:            # groups whose set-up jobs are done follow them
                pending.update(run.release(pool))
            groups = {f for run in runs for f in run.groups if f is not None}
            for future in finished:
                if future in groups and future.exception() is None:
                    announce(future)
            for run in runs:
                if run.groups_done() and not any(f.exception() for f in run.groups):
                    run.submit_drawing(pool)
        out = [run.finish(workers, pool) for run in runs]
        for run in runs:
            run.remember_seconds()
    except BaseException:
        stop(pool)         # interrupted or failed: the workers go now, not after their current job
        raise
    pool.shutdown()
    return out


class _DaskPool:
    """The executor interface the paper runs use (``submit``), on a ``dask.distributed`` client."""

    def __init__(self, client):
        self.client = client

    def submit(self, fn, *args):
        return self.client.submit(fn, *args, pure=False)


def run_on_dask(runs: list, scheduler: str, workers: int, threads: int | None, announce, submit_all) -> list:
    """Every paper's jobs on a Dask cluster (imported only here: the local default never imports Dask):
    ``scheduler`` is an address (``tcp://host:8786``) or ``"local"`` for a ``LocalCluster`` of ``workers``
    processes."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed as dask_completed
    except ImportError:
        from theory.errors import InputError

        raise InputError("scheduler", scheduler, "needs dask.distributed, which is not installed",
                         "pip install 'dynamics-verifier[dask]' (or distributed), or leave the scheduler out") from None
    cluster = None
    try:
        if scheduler == "local":
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout=30)
    except (OSError, TimeoutError) as exc:
        from theory.errors import InputError

        if cluster is not None:
            cluster.close()
        raise InputError("scheduler", scheduler, f"cannot be reached ({exc})",
                         "give the address of a running 'dask scheduler' (tcp://host:8786) or 'local'") from None
    try:
        if scheduler == "local":
            from .threads import choose

            threads = choose(threads, workers=workers)[0]
        pool = _DaskPool(client)
        submit_all(pool, runs, threads)
        for future in dask_completed([f for run in runs for f in run.groups]):
            if future.exception() is None:
                announce(future)
            for run in runs:
                if run.groups_done() and not any(f.exception() for f in run.groups):
                    run.submit_drawing(pool)
        return [run.finish(workers, pool) for run in runs]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def worker_init(parent: int) -> None:
    """Start of a worker process: SIGINT is the parent's to handle (one Ctrl-C, one clean stop, no traceback from
    every worker), SIGTERM kills, and a watchdog ends the worker when its parent is gone (even after SIGKILL)."""
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def stop(pool) -> None:
    """Terminate the pool's worker processes at once and drop its queued jobs."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)       # a second Ctrl-C during the clean-up changes nothing
    processes = list(getattr(pool, "_processes", {}).values())   # no public API terminates the workers
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:       # gone before the temporary folders are removed (a worker could still write)
        process.join(timeout=5)
    pool.shutdown(wait=False, cancel_futures=True)
