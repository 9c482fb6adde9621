"""A fully symbolic two-layer network on a finite symbolic data set.

The expectation over the inputs is the weighted sum ``E[g] = sum_i p_i g(x_i)``
over ``n`` symbolic points, which is the form every numeric risk in this
project takes (quadrature nodes or a sample).  Identities proved on this
model with SymPy hold for every such data set, because the points, weights,
targets and parameters are all free symbols.  Small sizes (two neurons, two
inputs, two points) keep ``simplify`` fast; the identities are linear in the
data and symmetric in the neurons, so nothing depends on those sizes.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sympy as sp

sigma = sp.Function("sigma")


@dataclass(frozen=True)
class FiniteModel:
    neurons: int = 2
    dim: int = 2
    points: int = 2
    activation: object = sigma  # a callable s -> sympy expression

    @cached_property
    def a(self):
        return sp.Matrix(sp.symbols(f"a1:{self.neurons + 1}", real=True))

    @cached_property
    def W(self):
        return sp.Matrix(self.neurons, self.dim,
                         lambda k, j: sp.Symbol(f"w{k + 1}_{j + 1}", real=True))

    @cached_property
    def X(self):
        return sp.Matrix(self.points, self.dim, lambda i, j: sp.Symbol(f"x{i + 1}_{j + 1}", real=True))

    @cached_property
    def y(self):
        return sp.Matrix(sp.symbols(f"y1:{self.points + 1}", real=True))

    @cached_property
    def p(self):
        return sp.Matrix(sp.symbols(f"p1:{self.points + 1}", positive=True))

    def params(self):
        return list(self.a) + list(self.W)

    def E(self, values):
        """Expectation of per-point values (a list of length ``points``)."""
        return sum(self.p[i] * values[i] for i in range(self.points))

    def pre(self, k, i):
        return (self.W.row(k) * self.X.row(i).T)[0]

    def f(self, i):
        return sum(self.a[k] * self.activation(self.pre(k, i)) for k in range(self.neurons))

    def e(self, i):
        return self.f(i) - self.y[i]

    @cached_property
    def risk(self):
        return sp.Rational(1, 2) * self.E([self.e(i) ** 2 for i in range(self.points)])

    @cached_property
    def z(self):
        return sp.Matrix([self.E([self.y[i] * self.X[i, j] for i in range(self.points)]) for j in range(self.dim)])

    @cached_property
    def Sigma(self):
        return sp.Matrix(self.dim, self.dim,
                         lambda j, l: self.E([self.X[i, j] * self.X[i, l] for i in range(self.points)]))

    def q(self, k):
        return sp.Matrix([self.a[k]] + list(self.W.row(k)))

    def dsigma(self, u):
        d = sp.Dummy("s")
        return sp.diff(self.activation(d), d).subs(d, u)

    def field(self):
        """The derived flow (D1) as a dict parameter -> d/dt, in closed form."""
        out = {}
        for k in range(self.neurons):
            out[self.a[k]] = -self.E([self.e(i) * self.activation(self.pre(k, i)) for i in range(self.points)])
            for j in range(self.dim):
                out[self.W[k, j]] = -self.a[k] * self.E(
                    [self.e(i) * self.dsigma(self.pre(k, i)) * self.X[i, j] for i in range(self.points)])
        return out
