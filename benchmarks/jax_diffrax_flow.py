"""Optional baseline: the gradient flow of the simulate workload as a jitted JAX + diffrax script.

Usage: python benchmarks/jax_diffrax_flow.py INPUT.npz OUTPUT.json [--rtol 1e-5] [--t-max 100] [--grid 601]
       [--repeat 1] [--losses-in-solve 0|1] [--serve 0|1]

INPUT.npz holds the data and the initial parameters (``X``, ``y``, ``p``,
``a``, ``W``, ``z``, ``zSz``), written by ``bench_simulate.py`` from the same
configuration as the ``simulate`` run, so both integrate the same problem.
The script is what a researcher fluent in JAX would write: float64, the loss
of ``f(x) = sum_k a_k tanh(w_k . x)`` differentiated by ``jax.grad``, Tsit5
with a PID controller at the given tolerance, the solution saved on a grid,
and t_half (first time K = a.(W z)/z^T Sigma^-1 z reaches 1/2) found on the
saved grid by linear interpolation.  It is run as a whole process (imports,
compilation and all) by the benchmark; it prints nothing but writes
OUTPUT.json with its own split of the time.  ``--repeat N`` runs the compiled
solve N times (``integrate_all_s``; ``integrate_s`` is the first) for
``bench_flow_vs_jax.py``, which compares the integration alone; ``K`` is K(t)
on the saved grid.  ``--losses-in-solve 1`` also evaluates the loss at every saved
time inside the timed, compiled solve, as the engine's ``integrate_flow`` does
with its recordings.  ``--serve 1``: after the compile, print ``ready`` and then run the compiled solve once per
line ``run`` read from standard input, printing its seconds on a line each, until another line or the end of
the input; ``integrate_all_s`` holds those runs (``bench_flow_vs_jax.py`` alternates them with the engine's).
"""
from __future__ import annotations

import json
import sys
import time

start = time.perf_counter()
import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import diffrax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402


def main(argv: list[str]) -> int:
    src, dst = argv[0], argv[1]
    opts = dict(zip(argv[2::2], argv[3::2]))
    rtol, t_max, grid = float(opts.get("--rtol", 1e-5)), float(opts.get("--t-max", 100.0)), int(opts.get("--grid", 601))
    repeat = int(opts.get("--repeat", 1))
    data = np.load(src)
    X, y, p, z = (jnp.asarray(data[k]) for k in ("X", "y", "p", "z"))
    zSz = float(data["zSz"])
    m = data["a"].shape[0]
    theta0 = jnp.concatenate([jnp.asarray(data["a"]), jnp.asarray(data["W"]).ravel()])
    imported = time.perf_counter()

    def loss(theta):
        a, W = theta[:m], theta[m:].reshape(m, -1)
        e = jnp.tanh(X @ W.T) @ a - y
        return 0.5 * jnp.sum(p * e**2)

    grad = jax.grad(loss)

    def field(t, theta, args):
        return -grad(theta)

    term = diffrax.ODETerm(field)
    ts = jnp.linspace(0.0, t_max, grid)

    with_losses = opts.get("--losses-in-solve", "0") == "1"

    @jax.jit
    def solve(theta):
        sol = diffrax.diffeqsolve(term, diffrax.Tsit5(), 0.0, t_max, None, theta,
                                  saveat=diffrax.SaveAt(ts=ts),
                                  stepsize_controller=diffrax.PIDController(rtol=rtol, atol=rtol * 1e-6),
                                  max_steps=1_000_000)
        # the losses at the saved times, one after the other (a vmap would hold grid x n x m values)
        return sol, (jax.lax.map(loss, sol.ys) if with_losses else None)

    compiled = solve.lower(theta0).compile()
    ready = time.perf_counter()
    integrate_all = []

    last_losses = []

    def run_once():
        begin = time.perf_counter()
        sol, saved_losses = compiled(theta0)
        ys = np.asarray(sol.ys)
        if with_losses:
            last_losses[:] = [np.asarray(saved_losses)]
        integrate_all.append(time.perf_counter() - begin)
        return sol, ys

    if opts.get("--serve", "0") == "1":
        print("ready", flush=True)
        for line in sys.stdin:
            if line.strip() != "run":
                break
            sol, ys = run_once()
            print(f"{integrate_all[-1]!r}", flush=True)
        if not integrate_all:
            sol, ys = run_once()
    else:
        for _ in range(repeat):
            sol, ys = run_once()
    done = time.perf_counter()
    a, W = ys[:, :m], ys[:, m:].reshape(len(ts), m, -1)
    K = np.einsum("tk,tkd,d->t", a, W, np.asarray(z)) / zSz
    t_np = np.asarray(ts)
    i = int(np.argmax(K >= 0.5))
    t_half = float(t_np[i - 1] + (0.5 - K[i - 1]) / (K[i] - K[i - 1]) * (t_np[i] - t_np[i - 1])) if K[i] >= 0.5 else None
    # the final loss: from the solve's own losses, or one compiled evaluation (it was about 100 op-by-op
    # evaluations along the saved states, most of the 24 s outside import, compile and solve of a 54 s process at
    # m = 4000, n = 2000 on a loaded machine: not what a fluent script does)
    final_loss = float(last_losses[0][-1]) if with_losses else float(jax.jit(loss)(sol.ys[-1]))
    with open(dst, "w") as fh:
        json.dump({"t_half": t_half, "evaluations": int(sol.stats["num_steps"]) * 6 + 1,
                   "steps": int(sol.stats["num_steps"]), "import_s": imported - start,
                   "compile_s": ready - imported, "integrate_s": integrate_all[0], "integrate_all_s": integrate_all,
                   "K": K.tolist(), "final_loss": final_loss,
                   "total_in_process_s": time.perf_counter() - start}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
