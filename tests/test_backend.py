"""The array-module seam: the engine, nn and optim take numpy from engine/backend.py only."""

from __future__ import annotations

import ast
import pathlib

import chainrule

PACKAGE = pathlib.Path(chainrule.__file__).parent
# The packages that compute on arrays, so run on whatever array library backend.py names.
SEAMED = ("engine", "nn", "optim", "compile")


def numpy_imports(path: pathlib.Path) -> list[str]:
    """'file:line: statement' for every import of numpy (at any depth) in the module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        if any(name == "numpy" or name.startswith("numpy.") for name in names):
            where = path.relative_to(path.parents[1])  # e.g. optim/sgd.py
            found.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_only_the_backend_imports_numpy():
    modules = [p for package in SEAMED for p in sorted((PACKAGE / package).rglob("*.py"))]
    assert len(modules) > 20  # the walk found the packages
    modules.remove(PACKAGE / "engine" / "backend.py")
    offenders = [hit for path in modules for hit in numpy_imports(path)]
    assert not offenders, "take xp from chainrule.engine.backend instead:\n" + "\n".join(offenders)


def test_the_check_sees_imports_at_any_depth(tmp_path):
    (tmp_path / "pkg").mkdir()
    module = tmp_path / "pkg" / "m.py"
    module.write_text("def f():\n    from numpy.linalg import norm\n    import numpy as np\n")
    assert numpy_imports(module) == [
        "pkg/m.py:2: from numpy.linalg import norm",
        "pkg/m.py:3: import numpy as np",
    ]
