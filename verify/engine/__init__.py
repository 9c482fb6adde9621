"""The simulation engine: two-layer networks trained by gradient flow, gradient descent or SGD."""
from .backends import BACKENDS, DEVICES, select_kernel
from .descent import DescentOptions, run_descent
from .flow import SOLVERS, FlowOptions, integrate_flow
from .kernels import NumpyKernel, pack, unpack
from .observables import dense_hessian, observables, top_hessian_eigenvalue
from .trajectory import Diverged, Trajectory

__all__ = ["BACKENDS", "DEVICES", "select_kernel", "DescentOptions", "run_descent", "SOLVERS", "FlowOptions",
           "integrate_flow", "NumpyKernel", "pack", "unpack", "observables", "top_hessian_eigenvalue",
           "dense_hessian", "Diverged", "Trajectory"]
