"""The claims of the paper: one module per derivation module of :mod:`theory.multistage`, by the same name."""
