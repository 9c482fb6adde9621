"""Q3's set-up: the network, its training and where the spectrum is measured (no PyTorch import: the
profiles hold set-ups, and listing the claims must not need PyTorch)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from theory.errors import InputError

from ..engines.layers import layer_shapes

if TYPE_CHECKING:
    from ..engines.deepnet import DeepNet, SGDOptions

__all__ = ["SpectrumSetup"]


@dataclass(frozen=True)
class SpectrumSetup:
    """The network, its training and where the spectrum is measured.

    ``drops`` are the steps at which the learning rate is multiplied by
    ``drop_factor``; ``checkpoints`` the steps (0..``steps``) at which the
    Hessian is measured; ``k`` the number of top eigenvalues Lanczos finds.
    """

    width: int = 24
    depth: int = 3
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-3
    batch_size: int = 32
    steps: int = 800
    drops: tuple = (400, 600)
    drop_factor: float = 0.1
    checkpoints: tuple = (400, 600, 800)
    k: int = 5

    def __post_init__(self):
        for name in ("width", "depth", "batch_size", "steps", "k"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise InputError(name, value, "must be a positive integer", f"pass {name} >= 1")
        if not self.lr > 0:
            raise InputError("lr", self.lr, "must be > 0", "pass e.g. lr=0.1")
        if not 0 <= self.momentum < 1:
            raise InputError("momentum", self.momentum, "must lie in [0, 1)", "pass e.g. momentum=0.9")
        if not 0 < self.drop_factor < 1:
            raise InputError("drop_factor", self.drop_factor, "must lie in (0, 1)", "pass e.g. 0.1")
        bad = [c for c in self.checkpoints if int(c) != c or not 0 <= c <= self.steps]
        if bad or not self.checkpoints:
            raise InputError("checkpoints", self.checkpoints, f"must be steps in 0..{self.steps}",
                             f"pass e.g. --checkpoint {self.steps}")
        if self.k >= self.size:
            raise InputError("k", self.k, f"must be below the {self.size} parameters", "pass e.g. --k 5")

    @property
    def net(self) -> "DeepNet":
        from ..engines.deepnet import DeepNet

        return DeepNet(64, 10, self.depth, self.width, activation="gelu", notify=None)

    @property
    def size(self) -> int:
        """The number of parameters (without building the network, so that a profile costs no PyTorch import)."""
        return sum(a * b for a, b in layer_shapes(64, 10, self.depth, self.width))

    @property
    def options(self) -> "SGDOptions":
        from ..engines.deepnet import SGDOptions

        return SGDOptions(batch_size=self.batch_size, momentum=self.momentum, weight_decay=self.weight_decay,
                          drops=tuple((int(s), self.drop_factor) for s in self.drops), loss="cross_entropy")

    def lr_at(self, step: int) -> float:
        """The learning rate of step ``step`` (after the drops in force)."""
        return self.lr * self.options.factor_at(step)

    def describe(self) -> dict:
        from ..engines.datasets import digits

        net = self.net
        return {"network": f"bias-free GELU MLP {' -> '.join(str(s[1]) for s in net.shapes)} -> 10",
                "parameters": net.size, "data": digits().description, "loss": "cross-entropy (mean)",
                "optimiser": "SGD, PyTorch heavy ball (no dampening)", "lr": self.lr, "momentum": self.momentum,
                "weight_decay": self.weight_decay, "batch_size": self.batch_size, "steps": self.steps,
                "drops": list(self.drops), "drop_factor": self.drop_factor, "checkpoints": list(self.checkpoints),
                "hessian": "float64, cross-entropy on all 1797 samples, without the weight decay term",
                "lanczos_k": self.k}
