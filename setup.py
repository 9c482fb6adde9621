"""Build of the optional compiled kernel; everything else is declared in pyproject.toml.

``verify.multistage.engine._fused`` computes the loss and gradient of the two-layer
network with a tanh, sin or erf activation in one pass over the data, with tanh
computed inline and sin, cos, erf and exp from glibc's vector math library
(libmvec; erf since glibc 2.35).
It is built only on x86-64 Linux with glibc, and only if the compiler
succeeds; otherwise the install goes on without it and the engine uses its
NumPy path (the same results to round-off, 2.5 to 8 times slower per
evaluation).
Set VERIFY_NO_EXTENSION=1 to skip the build on purpose.
"""
import os
import platform
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _wanted() -> bool:
    if os.environ.get("VERIFY_NO_EXTENSION"):
        return False
    return (sys.platform.startswith("linux") and platform.machine().lower() in ("x86_64", "amd64")
            and platform.libc_ver()[0] == "glibc")


class OptionalBuildExt(build_ext):
    """Compile the kernel if possible; a failure leaves the NumPy path, not a failed install."""

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:  # CompileError, LinkError, a missing compiler
            print(f"warning: {ext.name} not built ({exc}); the NumPy path will be used", file=sys.stderr)


extensions = []
if _wanted():
    extensions.append(Extension(
        "verify.multistage.engine._fused",
        sources=["verify/multistage/engine/_fused.c"],
        depends=["verify/multistage/engine/_fused_rows.h"],
        # -fopenmp-simd honours the "omp simd" / "declare simd" pragmas without OpenMP's
        # runtime; no errno and no trapping let the loops over neurons vectorise with libmvec.
        extra_compile_args=["-O3", "-fopenmp-simd", "-fno-math-errno", "-fno-trapping-math"],
        libraries=["mvec", "m"],
    ))

setup(ext_modules=extensions, cmdclass={"build_ext": OptionalBuildExt})
