"""Numeric side of the verifier: configurations, predictions and the command line.

``python -m verify --help`` lists the commands.
"""
from .config import Config, load_config
from .predict import predict

__all__ = ["Config", "load_config", "predict"]
