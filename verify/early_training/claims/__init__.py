"""The claims of the paper: one module per derivation module of :mod:`theory.early_training`, by the same name."""
