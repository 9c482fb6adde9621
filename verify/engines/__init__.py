"""Simulation engines shared by the papers: the kernel protocol, events, trajectories, flow and descent drivers.

A paper's own kernels live in its package (the two-layer network's: :mod:`verify.multistage.engine`).
"""
from .descent import DescentOptions, run_descent
from .flow import SOLVERS, FlowOptions, integrate_flow
from .kernel import Kernel
from .trajectory import Diverged, Trajectory

__all__ = ["Kernel", "DescentOptions", "run_descent", "SOLVERS", "FlowOptions", "integrate_flow", "Diverged",
           "Trajectory"]
