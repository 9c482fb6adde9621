"""The claims of the paper: one module per derivation module of :mod:`theory.noisy_quadratic`, by the same name."""
