"""A toy paper for the verifier's plug-in test: the linear flow x' = -k x."""
