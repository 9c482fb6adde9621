"""The import rules of the layout, checked by parsing every module's imports with ``ast``.

- ``theory`` never imports ``verify``;
- ``theory.<paper>`` never imports another paper's theory package;
- shared ``verify`` modules (everything outside a paper package) never import a paper package,
  of ``theory`` or of ``verify``;
- paper packages never import each other;
- tests, benchmarks and scripts never import a private module (a ``_name`` module) of ``theory`` or ``verify``:
  what a test calls is public (``_`` means private, as in diffrax and neural-tangents);
- ``theory`` derives with SymPy and computes no numbers from arrays: no module of it imports NumPy or SciPy (the
  lambdify bridge names them as ``modules`` only; numbers from arrays live in ``verify``).
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import theory

ROOT = Path(__file__).resolve().parents[1]
PAPERS = set(theory.PAPERS.values())


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool) -> set[str]:
    """Absolute names of every module imported by ``source`` (module ``module``), relative imports resolved."""
    out = set()
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.add(name)
            out.update(f"{name}.{alias.name}" for alias in node.names)   # "from theory import multistage"
    return out


def _paper_of(name: str) -> str | None:
    parts = name.split(".")
    if len(parts) >= 2 and parts[0] in ("theory", "verify") and parts[1] in PAPERS:
        return parts[1]
    return None


def violations(module: str, imports: set[str]) -> list[str]:
    """The import rules ``module`` breaks with ``imports``."""
    top, own = module.split(".")[0], _paper_of(module)
    found = []
    for name in sorted(imports):
        target = _paper_of(name)
        if top == "theory" and name.split(".")[0] == "verify":
            found.append(f"{module} imports {name}: theory never imports verify")
        elif target is not None and own is None:
            found.append(f"{module} imports {name}: shared code never imports a paper package")
        elif target is not None and own is not None and target != own:
            found.append(f"{module} imports {name}: paper packages never import each other")
    return found


def _all_modules():
    for top in ("theory", "verify"):
        for path in sorted((ROOT / top).rglob("*.py")):
            yield _module_name(path, ROOT), path


@pytest.mark.parametrize("module,path", list(_all_modules()), ids=lambda v: v if isinstance(v, str) else "")
def test_module_obeys_the_import_rules(module, path):
    imports = imported_modules(path.read_text(), module, path.name == "__init__.py")
    assert violations(module, imports) == []


def test_every_paper_has_a_theory_and_a_verify_package():
    for package in PAPERS:
        assert (ROOT / "theory" / package / "__init__.py").is_file()
        assert (ROOT / "verify" / package / "__init__.py").is_file()


SYNTHETIC = {
    "theory.bridge": "from verify.registry import Claim\n",
    "theory.multistage.taylor": "from theory.other_paper import x\n",
    "verify.runner": "from .multistage import _predict\n",
    "verify.report.render": "from ..multistage import _figures\n",
    "verify.multistage.claims.balance": "import verify.other_paper._config\n",
    "verify.stats": "from theory import multistage\n",
}


@pytest.mark.parametrize("module", list(SYNTHETIC))
def test_a_forbidden_import_is_caught(module, monkeypatch):
    """Negative control: synthetic modules that break each rule are reported."""
    monkeypatch.setattr(sys.modules[__name__], "PAPERS", PAPERS | {"other_paper"})
    imports = imported_modules(SYNTHETIC[module], module, False)
    assert violations(module, imports), (module, imports)


def test_allowed_imports_pass():
    assert violations("verify.multistage.claims.balance", {"verify.registry", "theory.multistage.balance",
                                                    "verify.multistage.context", "theory.bridge"}) == []
    assert violations("verify.runner", {"verify.registry", "theory.bridge", "theory"}) == []


def private_modules(imports: set[str]) -> list[str]:
    """The private modules of ``theory``/``verify`` among ``imports``: a module of the tree with a component named
    ``_x`` (not ``__x__``)."""
    def private(name: str) -> bool:
        parts = name.split(".")
        return parts[0] in ("theory", "verify") and any(p.startswith("_") and not p.endswith("__")
                                                        for p in parts[1:])

    return sorted(name for name in imports if private(name) and _is_module(name))


def _is_module(name: str) -> bool:
    """Whether ``name`` is a module of the tree (not a private name imported from a public module)."""
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file() or any(
        path.parent.glob(path.name + ".*.so"))


def _outside_modules():
    for top in ("tests", "benchmarks", "scripts"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "data" not in path.relative_to(ROOT).parts:
                yield _module_name(path, ROOT), path


@pytest.mark.parametrize("module,path", list(_outside_modules()), ids=lambda v: v if isinstance(v, str) else "")
def test_tests_import_no_private_module(module, path):
    imports = imported_modules(path.read_text(), module, path.name == "__init__.py")
    assert private_modules(imports) == []


def test_a_private_module_import_is_caught_control():
    """Control: importing a private module, absolutely or by ``from package import _module``, is caught; a
    private name from a public module is not a module."""
    assert private_modules(imported_modules("from verify.multistage.engine import _fused\n", "tests.x", False))
    assert private_modules(imported_modules("import verify._toolconfig\n", "tests.x", False))
    assert private_modules(imported_modules("from verify._interrupt import handler\n", "tests.x", False))
    assert not private_modules(imported_modules("from verify.runner import _one\n", "tests.x", False))



def numeric_imports(imports: set[str]) -> list[str]:
    """The NumPy and SciPy modules among ``imports``."""
    return sorted(name for name in imports if name.split(".")[0] in ("numpy", "scipy"))


@pytest.mark.parametrize("module,path", [(m, p) for m, p in _all_modules() if m.split(".")[0] == "theory"],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_theory_imports_no_numpy_or_scipy(module, path):
    """``theory`` derives; numbers reach NumPy only through the bridge, which names NumPy and SciPy as lambdify's
    modules without importing them."""
    imports = numeric_imports(imported_modules(path.read_text(), module, path.name == "__init__.py"))
    assert imports == [], f"{module} computes numbers from arrays: move that to verify/<paper>/"


def test_a_numeric_import_in_theory_is_caught_control():
    """Control: NumPy or SciPy imported at the top, by ``from``, or inside a function is caught; SymPy and mpmath
    (certified interval arithmetic) are not."""
    assert numeric_imports(imported_modules("import numpy as np\n", "theory.multistage.x", False))
    assert numeric_imports(imported_modules("from scipy import integrate\n", "theory.multistage.x", False))
    assert numeric_imports(imported_modules("def f():\n    from numpy.polynomial.hermite_e import hermegauss\n",
                                            "theory.multistage.x", False))
    assert not numeric_imports(imported_modules("import sympy as sp\nimport mpmath\nfrom ..bridge import numeric\n",
                                                "theory.multistage.x", False))
