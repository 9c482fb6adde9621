"""The dense Hessian of an MLP's mean loss, exactly, with the first layer's block assembled from per-sample parts.

The first layer's parameters ``u = (W_1, b_1)`` enter the loss only through the pre-activations
``z_n = W_1 x_n + b_1`` (``m`` of them per sample), and linearly.  With ``r`` the other parameters and
``l_n(z_n, r)`` the loss of sample ``n`` (mean loss ``L = (1/N) sum_n l_n``), the chain rule gives, exactly (the
second derivative of ``z_n`` in ``u`` is zero):

* ``d^2 L / du du  = (1/N) sum_n A_n (x) xt_n xt_n^T`` with ``A_n = d^2 l_n / dz_n^2`` (``m x m``) and ``xt_n =
  (x_n, 1)`` (``(x_n)`` without biases);
* ``d^2 L / du dr  = (1/N) sum_n B_n (x) xt_n`` with ``B_n = d^2 l_n / dz_n dr`` (``m x |r|``);
* ``d^2 L / dr dr``: the Hessian of ``L`` in ``r`` at fixed ``z``.

``A`` comes from ``m`` forward-over-reverse products of the per-sample gradients ``G = d(sum_n l_n)/dz`` (tangent
``e_a`` in every row: ``l_n`` depends on ``z_n`` only), ``B`` and ``d^2 L / dr^2`` from ``|r|`` such products of
``(G, dL/dr)``; the two sums over the samples are matrix products.  On the cliff set-up (64-16-16-10 with biases,
1,482 parameters of which 1,040 in the first layer) that is 458 products of the upper layers instead of 1,482 of the
whole network: the dense Hessian takes about a tenth of the time of :func:`verify.hessian.torch_dense_hessian`'s
``jacrev`` (``tests/noisy_quadratic/test_nq_eigenbasis.py`` checks the two agree to round-off).
"""
from __future__ import annotations

import numpy as np
import torch

from ..engines.deepnet import ACTIVATIONS

__all__ = ["mlp_dense_hessian"]

#: tangents per vmapped batch of products
CHUNK = 64


def mlp_dense_hessian(net, data, theta: np.ndarray | torch.Tensor) -> np.ndarray:
    """The dense Hessian (float64, symmetrised) of ``net``'s mean cross-entropy on ``data`` at the flat ``theta``
    (a :class:`verify.engines.deepnet.DeepNet` of two or more layers)."""
    theta = torch.as_tensor(theta, dtype=torch.float64, device=data.x.device).detach()
    params = net.unflatten(theta)
    act = ACTIVATIONS[net.activation]
    first = 2 if net.bias else 1
    W1 = params[0]
    m, d = W1.shape
    x = data.x.to(torch.float64)
    N = x.shape[0]
    xt = torch.cat([x, torch.ones(N, 1, dtype=x.dtype, device=x.device)], dim=1) if net.bias else x
    Z = x @ W1.T + (params[1] if net.bias else 0)
    n_u = m * xt.shape[1]
    r0 = theta[n_u:]
    shapes = net.param_shapes[first:]
    sizes = [int(np.prod(s)) for s in shapes]
    labels = data.labels

    def total(Zv, r):
        ps = [p.view(s) for p, s in zip(torch.split(r, sizes), shapes)]
        h = act(Zv)
        if net.bias:
            for W, b in zip(ps[0:-2:2], ps[1:-2:2]):
                h = act(h @ W.T + b)
            out = h @ ps[-2].T + ps[-1]
        else:
            for W in ps[:-1]:
                h = act(h @ W.T)
            out = h @ ps[-1].T
        return torch.nn.functional.cross_entropy(out, labels, reduction="sum")

    grads = torch.func.grad(total, argnums=(0, 1))

    def along(tz, tr):
        return torch.func.jvp(grads, (Z, r0), (tz, tr))[1]

    batched = torch.func.vmap(along)
    zeros_r, zeros_z = torch.zeros_like(r0), torch.zeros_like(Z)
    # A[n, a, b]: tangent e_a in every row of Z
    tz = torch.zeros((m, N, m), dtype=Z.dtype, device=Z.device)
    tz[torch.arange(m), :, torch.arange(m)] = 1
    A = batched(tz, zeros_r.expand(m, -1).contiguous())[0].permute(1, 2, 0)          # N x m x m (b, a)
    # B[n, a, r] and H_rr: tangents e_r
    R = r0.numel()
    B = torch.empty((N, m, R), dtype=Z.dtype, device=Z.device)
    Hrr = torch.empty((R, R), dtype=Z.dtype, device=Z.device)
    for start in range(0, R, CHUNK):
        stop = min(start + CHUNK, R)
        tr = torch.zeros((stop - start, R), dtype=Z.dtype, device=Z.device)
        tr[torch.arange(stop - start), torch.arange(start, stop)] = 1
        gz, gr = batched(zeros_z.expand(stop - start, -1, -1).contiguous(), tr)
        B[:, :, start:stop] = gz.permute(1, 2, 0)
        Hrr[:, start:stop] = gr.T
    k = xt.shape[1]
    XX = (xt[:, :, None] * xt[:, None, :]).reshape(N, k * k)
    Huu = (A.reshape(N, m * m).T @ XX).reshape(m, m, k, k).permute(0, 2, 1, 3)          # (a, i, b, j)
    Hur = torch.empty((m, k, R), dtype=Z.dtype, device=Z.device)
    for a in range(m):
        Hur[a] = xt.T @ B[:, a, :]
    # the flat order of the first layer: W_1 row-major (a, i), then b_1 (a)
    order = [a * d + i for a in range(m) for i in range(d)]
    if net.bias:
        order = [a * d + i if i < d else m * d + a for a in range(m) for i in range(k)]
    idx = torch.as_tensor(order, device=Z.device)
    H = torch.empty((n_u + R, n_u + R), dtype=Z.dtype, device=Z.device)
    H[idx[:, None], idx[None, :]] = Huu.reshape(n_u, n_u)
    H[idx, n_u:] = Hur.reshape(n_u, R)
    H[n_u:, idx] = Hur.reshape(n_u, R).T
    H[n_u:, n_u:] = Hrr
    H = (H / N).cpu().numpy()
    return (H + H.T) / 2
