"""Q3's non-interpolating set-up (CliffSetup, train_cliff): size, data, determinism, the training loop against the
engine's, the dense spectrum against Lanczos, validation."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from theory.errors import InputError
from verify.engines.datasets import digits
from verify.engines.deepnet import DeepNet, seed_streams, train
from verify.noisy_quadratic.cliff import _options, cliff_data, cliff_net, memorising_curve, sgd, train_cliff
from verify.noisy_quadratic.context import Context
from verify.noisy_quadratic.profiles import PROFILES
from verify.noisy_quadratic.spectrum_setup import DIGITS_SAMPLES, END_POINTS, CliffSetup, SpectrumSetup

#: a short schedule of a narrower network (682 parameters; two phases of 60 steps, the last 6 of each measured
#: every 2 steps), so that its dense Hessian costs about a second
TINY = CliffSetup(width=8, lrs=(0.1, 0.01), steps=(60, 60), every=20, end_every=2, after=(6,))


@pytest.fixture(scope="module")
def tiny_run():
    return train_cliff(TINY, np.random.SeedSequence(0, spawn_key=(10, 0)))


def test_parameter_count_is_below_the_sample_count():
    setup = CliffSetup()
    assert setup.size == cliff_net(setup).size == 64 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10 == 1482
    assert setup.size < DIGITS_SAMPLES


def test_bias_free_network_is_unchanged_by_the_bias_option():
    plain, biased = (DeepNet(64, 10, 3, 8, activation="gelu", dtype=torch.float64, notify=None, bias=b)
                     for b in (False, True))
    assert plain.size == 64 * 8 + 8 * 8 + 8 * 10 and biased.size == plain.size + 8 + 8 + 10
    p, q = plain.init(3), biased.init(3)
    assert len(p) == 3 and len(q) == 6
    assert all(torch.equal(a, b) for a, b in zip(p, q[0::2]))          # the same weight draws
    assert all(float(b.abs().max()) == 0.0 for b in q[1::2])             # biases start at zero
    x = torch.randn(5, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    assert torch.equal(plain.forward(p, x), biased.forward(q, x))       # zero biases: the same function
    shifted = tuple(t + 0.5 if i % 2 else t for i, t in enumerate(q))
    assert not torch.allclose(biased.forward(shifted, x), plain.forward(p, x))
    theta = biased.flatten(shifted)
    assert all(torch.equal(a, b) for a, b in zip(biased.unflatten(theta), shifted))


def test_label_noise_replaces_the_stated_fraction_with_other_classes():
    clean, noisy = digits(per="feature"), digits(per="feature", label_noise=0.3, noise_seed=0)
    changed = (clean.labels != noisy.labels).numpy()
    assert changed.sum() == round(0.3 * DIGITS_SAMPLES) == 539                    # every redrawn label is wrong
    again, other = digits(per="feature", label_noise=0.3, noise_seed=0), digits(per="feature", label_noise=0.3,
                                                                                 noise_seed=1)
    assert torch.equal(again.labels, noisy.labels) and not torch.equal(other.labels, noisy.labels)
    assert torch.equal(clean.x, noisy.x)
    assert set(np.unique(noisy.labels.numpy())) == set(range(10))


def test_per_feature_standardisation():
    x = digits(per="feature", dtype=torch.float64).x.numpy()
    std = x.std(axis=0)
    eps = DIGITS_SAMPLES * np.finfo(float).eps          # sums over the 1797 samples: n eps relative round-off
    assert np.abs(x.mean(axis=0)).max() < eps * np.abs(x).max()
    constant = std == 0
    assert 0 < constant.sum() < 8 and np.abs(x[:, constant]).max() == 0.0
    assert np.abs(std[~constant] - 1).max() < eps


def test_one_seed_is_deterministic_and_seeds_differ(tiny_run):
    again = train_cliff(TINY, np.random.SeedSequence(0, spawn_key=(10, 0)))
    other = train_cliff(TINY, np.random.SeedSequence(0, spawn_key=(10, 1)))
    for name in ("steps", "loss", "lambda_max", "lrs"):
        assert np.array_equal(getattr(again, name), getattr(tiny_run, name)), name
    assert all(np.array_equal(again.checkpoints[s], tiny_run.checkpoints[s]) for s in tiny_run.checkpoints)
    assert not np.array_equal(other.loss, tiny_run.loss)
    assert tiny_run.seed == {"entropy": 0, "spawn_key": [10, 0]}


def test_run_layout(tiny_run):
    run, s = tiny_run, TINY
    assert tuple(run.steps) == s.measured and run.loss.shape == run.lambda_max.shape == run.residuals.shape
    assert set(run.checkpoints) == {60, 66, 120} == set(s.checkpoints) and set(run.accuracy) == set(s.checkpoints)
    assert run.lrs.shape == (120,) and run.lr_of_phase(0) == 0.1
    assert abs(run.lr_of_phase(1) - 0.01) < 4 * np.finfo(float).eps * 0.01
    assert np.all(run.lrs[:60] == 0.1) and np.all(run.lrs[60:] == run.lr_of_phase(1))
    for k in range(2):
        window = run.steps[run.in_phase(k)]
        assert len(window) >= END_POINTS and window[-1] == s.boundaries[k + 1]
        assert np.all(window > s.boundaries[k + 1] - 0.1 * s.steps[k] - 1e-9)
    assert np.all(run.residuals < 1e-4 * run.lambda_max)
    assert np.all((run.loss > 0) & np.isfinite(run.loss))


def test_training_loop_matches_the_engine():
    """The fast loop (autograd, loss only where measured) against engines.deepnet.train on the same batches."""
    setup = dataclasses.replace(TINY, weight_decay=1e-3)
    net, data = cliff_net(setup), cliff_data(setup)
    init_gen, batch_gen = seed_streams(5)
    params0 = net.init(init_gen)
    reference = train(net, params0, data, setup.lrs[0], setup.total, _options(setup), seed=5)
    got = {}
    lrs = sgd(net, params0, data, setup, batch_gen, lambda t, p: got.__setitem__(t, p))
    scale = max(float(p.abs().max()) for p in reference.params)
    worst = max(float((a - b).abs().max()) for a, b in zip(got[setup.total], reference.params))
    assert worst < 1e3 * np.finfo(float).eps * scale          # float64 round-off over 120 steps
    assert np.array_equal(lrs, reference.lrs)


@pytest.mark.parametrize("setup", [SpectrumSetup(width=8, steps=40, drops=(20, 30), checkpoints=(40,)),
                                   SpectrumSetup(width=8, lr=0.2, batch_size=1797, steps=30, drops=(10, 20),
                                                 checkpoints=(30,))], ids=["mini-batch", "full-batch"])
def test_memorising_curve_matches_the_engine(setup):
    """The earlier set-ups' loss curves (the post-cut claims' preconditions on them) by the fast loop against
    engines.deepnet.train from the same seed streams: the mini-batch set-up with weight decay, the full-batch one."""
    losses, accuracy = memorising_curve(setup, 4)
    net = DeepNet(64, 10, setup.depth, setup.width, activation="gelu", dtype=torch.float64, notify=None)
    train_seq, _ = np.random.SeedSequence(4).spawn(2)
    reference = train(net, net.init(train_seq), digits(dtype=torch.float64), setup.lr, setup.steps, setup.options,
                      seed=train_seq)
    assert losses.shape == reference.losses.shape == (setup.steps + 1,)
    assert np.max(np.abs(losses - reference.losses)) < 1e3 * np.finfo(float).eps * reference.losses.max()
    assert sorted(accuracy) == sorted(setup.drops) and all(0 < a <= 1 for a in accuracy.values())


def test_iterate_means_are_the_means_of_the_named_iterates(tiny_run):
    """The talk's mean (the second half of the phase, every 1 %) and the end-window mean, against the iterates of
    the same training captured independently (the run's training stream, sgd's callback)."""
    train_seq, _, _ = np.random.SeedSequence(0, spawn_key=(10, 0)).spawn(3)
    net, data = cliff_net(TINY), cliff_data(TINY)
    init_gen, batch_gen = seed_streams(train_seq)
    cut = TINY.cuts[0]
    talk, window = set(TINY.average_steps(0)), set(TINY.end_steps(0))
    got = {"talk": [], "window": []}

    def grab(t, params):
        flat = net.flatten(params).detach().numpy()
        if t in talk:
            got["talk"].append(flat.copy())
        if t in window:
            got["window"].append(flat.copy())
    sgd(net, net.init(init_gen), data, TINY, batch_gen, grab)
    assert len(got["talk"]) == len(talk) == 31 and len(got["window"]) == len(window)
    scale = max(np.abs(np.array(got["talk"])).max(), 1.0)
    for kind, means in (("talk", tiny_run.iterate_means), ("window", tiny_run.window_means)):
        assert np.abs(means[cut] - np.mean(got[kind], axis=0)).max() <= 1e3 * np.finfo(float).eps * scale, kind


def test_quick_cliff_measures_lambda_max_where_it_is_read():
    """The quick set-up thins lambda_max out to step 0, the end-of-phase windows (judged) and the after-cut windows;
    the loss stays measured at every measured step; the default measures lambda_max everywhere."""
    quick, default = PROFILES["quick"].cliff, PROFILES["default"].cliff
    assert default.sharpness_steps == default.measured
    ends = {s for k in range(len(quick.steps)) for s in quick.end_steps(k)}
    afters = {s for c in quick.cuts for s in quick.after_steps(c)}
    assert set(quick.sharpness_steps) == ends | afters | {0} and len(quick.sharpness_steps) < len(quick.measured)
    thin = dataclasses.replace(TINY, sharpness_every=60)
    run = train_cliff(thin, np.random.SeedSequence(0, spawn_key=(10, 0)))
    where = np.isin(run.steps, thin.sharpness_steps)
    assert np.all(np.isfinite(run.lambda_max[where])) and np.all(np.isnan(run.lambda_max[~where]))
    assert np.all(np.isfinite(run.loss))
    with pytest.raises(InputError):
        dataclasses.replace(TINY, sharpness_every=0)


def test_dense_spectrum_matches_lanczos_and_is_cached(tiny_run):
    step = TINY.boundaries[1]
    spec = tiny_run.spectrum(step)
    assert spec is tiny_run.spectrum(step)
    i = int(np.flatnonzero(tiny_run.steps == step)[0])
    top = spec.values[-1]
    assert abs(top - tiny_run.lambda_max[i]) <= tiny_run.residuals[i] + 1e3 * np.finfo(float).eps * top
    assert spec.values.shape == (TINY.size,) and spec.vectors.shape == (TINY.size, TINY.size)
    assert tiny_run.gradient(step).shape == (TINY.size,)
    with pytest.raises(InputError):
        tiny_run.spectrum(7)


@pytest.mark.parametrize("change", [dict(width=0), dict(bias=1), dict(label_noise=1.0), dict(noise_seed=-1),
                                    dict(batch_size=2000), dict(momentum=1.0), dict(weight_decay=-1.0),
                                    dict(lrs=(0.1,), steps=(100,)), dict(lrs=(0.01, 0.1)),
                                    dict(steps=(3000, 3000, 1999)), dict(end_every=300), dict(after=(0,)),
                                    dict(after=(3000,)), dict(after=(100,))])
def test_validation_errors_are_one_line(change):
    with pytest.raises(InputError) as err:
        CliffSetup(**change)
    assert "\n" not in str(err.value) and "fix:" in str(err.value)


def test_profiles_hold_three_seeds_and_full_end_windows():
    for profile in PROFILES.values():
        setup = profile.cliff
        assert profile.cliff_seeds >= 3 and setup.size < DIGITS_SAMPLES
        assert all(len(setup.end_steps(k)) >= END_POINTS for k in range(len(setup.steps)))
        assert isinstance(setup.describe()["parameters"], int)


def test_context_seeds_are_independent_streams():
    ctx = Context.make("quick", seed=4)
    seqs = [ctx.cliff_seed(i) for i in range(3)]
    assert [s.spawn_key for s in seqs] == [(10, 0), (10, 1), (10, 2)] and all(s.entropy == 4 for s in seqs)
    states = {tuple(s.generate_state(2)) for s in seqs}
    assert len(states) == 3
    with pytest.raises(InputError):
        ctx.cliff_seed(-1)
