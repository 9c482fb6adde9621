"""Symbols shared by the derivations (one definition, so results compose)."""
import sympy as sp

t = sp.Symbol("t", nonnegative=True)           # time of the gradient flow
m = sp.Symbol("m", positive=True)              # width
alpha = sp.Symbol("alpha", positive=True)      # initialisation exponent: variance m^(-2 alpha)
alpha_1 = sp.Symbol("alpha_1", positive=True)  # plateau exit scale: q_max = m^(-alpha_1)
z_norm = sp.Symbol("|z|", positive=True)       # |E[f* x]|
eta = sp.Symbol("eta", positive=True)          # gradient-descent step
n = sp.Symbol("n", nonnegative=True, integer=True)  # gradient-descent step count
delta = sp.Symbol("delta", positive=True)      # T_d is the time K reaches 1 - delta
K = sp.Function("K")                           # K(t) = beta.z / (z^T Sigma^-1 z)
K0 = sp.Symbol("K_0", positive=True)           # initial value of the logistic law
q0 = sp.Symbol("q_0", positive=True)           # q_max(0)
Q = sp.Symbol("Q", positive=True)              # a bound on q_max over a time window
eps = sp.Symbol("epsilon", positive=True)      # growth-lemma slack
C_L = sp.Symbol("C_L", positive=True)          # sup |sigma'''|
C_0 = sp.Symbol("C_0", positive=True)          # sup |sigma'|
C_1 = sp.Symbol("C_1", positive=True)          # constant of the higher-order bound
E_f2 = sp.Symbol("E[f*^2]", positive=True)     # second moment of the target
M_x2 = sp.Symbol("E|x|^2", positive=True)
M_fx1 = sp.Symbol("E[|f*||x|]", nonnegative=True)
M_fx3 = sp.Symbol("E[|f*||x|^3]", nonnegative=True)
z_Sinv_z = sp.Symbol("z^T Sigma^-1 z", nonnegative=True)


def input_symbols(dim: int) -> tuple[sp.Symbol, ...]:
    """The target's variables ``x0 .. x{dim-1}``."""
    return tuple(sp.Symbol(f"x{j}", real=True) for j in range(dim))
