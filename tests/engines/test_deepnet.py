"""The deep-network engine: initialisation, determinism, SGD semantics, vectorised training, devices."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from theory.errors import InputError
from verify.engines.datasets import synthetic
from verify.engines.deepnet import DeepNet, SGDOptions, cross_entropy_loss, mse_loss, resolve_device, train, train_many

#: float64 runs of the same arithmetic whose matrix products are blocked differently (vmap's batched
#: matmul against single matmuls): round-off of ~1e-16 per operation, grown over a few dozen steps of a
#: contracting map, stays many orders below this.
BATCHED_RTOL = 1e-10


@pytest.fixture(scope="module")
def data():
    return synthetic(96, 6, 3, seed=0, dtype=torch.float64)


def small_net(**kw):
    return DeepNet(**{"in_dim": 6, "out_dim": 3, "depth": 3, "width": 16, "dtype": torch.float64, **kw})


def test_same_seed_gives_bit_identical_runs_and_another_seed_does_not(data):
    net = DeepNet(6, 3, depth=3, width=16)       # float32, minibatches: the batch order is random too
    data = synthetic(96, 6, 3, seed=0)
    opts = SGDOptions(batch_size=32, momentum=0.5)
    runs = [train(net, net.init(s), data, 0.05, 12, opts, seed=s) for s in (7, 7, 8)]
    assert np.array_equal(runs[0].losses, runs[1].losses)
    assert all(torch.equal(p, q) for p, q in zip(runs[0].params, runs[1].params))
    assert not np.array_equal(runs[0].losses, runs[2].losses)
    # the batch order alone (same init, other seed) changes the run
    other = train(net, net.init(7), data, 0.05, 12, opts, seed=8)
    assert not np.array_equal(runs[0].losses, other.losses)


def test_zero_last_layer_is_exactly_zero(data):
    net = small_net(zero_last_layer=True)
    params = net.init(0)
    assert torch.count_nonzero(params[-1]) == 0
    assert torch.count_nonzero(net.forward(params, data.x)) == 0
    assert all(torch.count_nonzero(p) == p.numel() for p in params[:-1])
    assert torch.count_nonzero(small_net().init(0)[-1]) > 0       # negative control


def _variance_z(sample: np.ndarray, variance: float) -> float:
    """z-score of the sample variance of i.i.d. N(0, variance) entries (its std is variance sqrt(2 / N))."""
    n = sample.size
    return (np.mean(sample**2) - variance) / (variance * np.sqrt(2 / n))


def test_he_initialisation_variance():
    """Hidden layers N(0, 2/fan_in), last layer N(0, 1/fan_in).

    The mean of N squared N(0, s^2) entries has standard deviation s^2 sqrt(2/N); we accept |z| < 4.5
    (two-sided p ~ 7e-6 per test, four tests). A hidden layer drawn at 1/fan_in (half the variance)
    would sit at z ~ -90 at N = 160 x 160.
    """
    net = DeepNet(200, 10, depth=3, width=160, dtype=torch.float64)
    W1, W2, W3 = (p.numpy() for p in net.init(11))
    assert abs(_variance_z(W1, 2 / 200)) < 4.5
    assert abs(_variance_z(W2, 2 / 160)) < 4.5
    assert abs(_variance_z(W3, 1 / 160)) < 4.5
    assert stats.normaltest(W2.ravel()).pvalue > 1e-4          # Gaussian, not uniform
    assert abs(_variance_z(W2, 1 / 160)) > 4.5                  # negative control: LeCun variance is rejected


def test_losses():
    f = torch.tensor([[1.0, 2.0, 0.0], [0.0, 0.0, 3.0]], dtype=torch.float64)
    y = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    assert float(mse_loss(f, y)) == pytest.approx(0.5 * (4 + 4) / 6, rel=1e-15)
    logp = f - torch.logsumexp(f, dim=1, keepdim=True)
    assert float(cross_entropy_loss(f, torch.tensor([0, 2]))) == pytest.approx(-float(logp[0, 0] + logp[1, 2]) / 2,
                                                                               rel=1e-14)


def test_momentum_and_weight_decay_follow_torch_optim_sgd(data):
    net = small_net()
    params0 = net.init(1)
    opts = SGDOptions(momentum=0.9, weight_decay=1e-3, drops=((5, 0.5),))
    ours = train(net, params0, data, 0.05, 10, opts)

    def torch_run(**kw):
        ps = [p.clone().requires_grad_(True) for p in params0]
        opt = torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3, **kw)
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[5], gamma=0.5)
        for _ in range(10):
            opt.zero_grad()
            net.loss(tuple(ps), data.x, data.y_onehot).backward()
            opt.step()
            sched.step()
        return [p.detach() for p in ps]

    ref = torch_run()
    assert np.allclose(ours.lrs, [0.05] * 5 + [0.025] * 5)
    assert all(torch.allclose(p, q, rtol=1e-12, atol=1e-14) for p, q in zip(ours.params, ref))
    # negative control: Nesterov momentum (another semantics) is distinguishable at this tolerance
    nesterov = torch_run(nesterov=True)
    assert not all(torch.allclose(p, q, rtol=1e-12, atol=1e-14) for p, q in zip(ours.params, nesterov))


def test_divergence_is_flagged_and_stops_the_run(data):
    net = small_net()
    params0 = net.init(2)
    calm = train(net, params0, data, 0.01, 20)
    wild = train(net, params0, data, 50.0, 20)
    assert not calm.diverged and calm.losses.size == 21 and calm.losses[-1] < calm.losses[0]
    assert wild.diverged and wild.losses[wild.diverged_at] > 1e5 and wild.losses.size == wild.diverged_at + 1


def test_callback_sees_every_step_and_can_stop(data):
    net = small_net()
    seen = []
    res = train(net, net.init(0), data, 0.01, 10, callback=lambda t, p, loss: seen.append((t, loss)) or t == 4)
    assert [t for t, _ in seen] == [0, 1, 2, 3, 4] and res.stopped_at == 4
    assert np.array_equal([loss for _, loss in seen], res.losses)


def test_train_many_equals_separate_runs(data):
    net = small_net(activation="gelu")
    params0 = net.init(3)
    opts = SGDOptions(batch_size=32, momentum=0.5, drops=((8, 0.3),))
    lrs = [0.02, 0.2, 60.0]                      # the last one diverges
    many = train_many(net, params0, data, lrs, 15, opts, seed=5)
    for i, lr in enumerate(lrs):
        one = train(net, params0, data, lr, 15, opts, seed=5)
        assert one.diverged == bool(many.diverged[i])
        stop = one.losses.size
        assert np.allclose(many.losses[i, :stop], one.losses, rtol=BATCHED_RTOL, atol=0)
        assert np.all(np.isnan(many.losses[i, stop:]))
        if not one.diverged:
            assert all(torch.allclose(P[i], p, rtol=BATCHED_RTOL, atol=1e-14) for P, p in zip(many.params, one.params))
    assert many.diverged.tolist() == [False, False, True]
    # negative control: the copies differ from each other, and a wrong pairing of copy and rate is detected
    other = train(net, params0, data, lrs[1], 15, opts, seed=5)
    assert not np.allclose(many.losses[0], other.losses, rtol=BATCHED_RTOL, atol=0)


def test_device_fallback_and_bad_choices():
    notes = []
    if torch.cuda.is_available():
        assert resolve_device("cuda", notes.append) == "cuda" and notes == []
    else:
        assert resolve_device("cuda", notes.append) == "cpu"
        assert len(notes) == 1 and "\n" not in notes[0] and "CUDA" in notes[0]
        net = DeepNet(2, 2, 2, 4, device="cuda", notify=notes.append)
        assert net.device == "cpu" and len(notes) == 2
    assert resolve_device("cpu", notes.append) == "cpu"
    with pytest.raises(InputError, match="device"):
        resolve_device("tpu")
    with pytest.raises(InputError, match="activation"):
        DeepNet(2, 2, 2, 4, activation="tanh")
    with pytest.raises(InputError, match="momentum"):
        SGDOptions(momentum=1.0)
    with pytest.raises(InputError, match="dtype"):
        train(small_net(), small_net().init(0), synthetic(10, 6, 3, 0), 0.1, 2)
    with pytest.raises(InputError, match="batch_size"):
        train(small_net(), small_net().init(0), synthetic(10, 6, 3, 0, dtype=torch.float64), 0.1, 2,
              SGDOptions(batch_size=11))
