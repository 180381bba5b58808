"""The house rules, run as tests: ruff's lint rules and formatting and mypy over the package
(configured in pyproject.toml), and no module able to unpickle."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import chainrule as cr

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "chainrule"


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True
    )


def test_ruff_finds_nothing():
    result = run("ruff", "check", "--no-cache", str(SOURCE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_changes_nothing():
    result = run("ruff", "format", "--check", "--no-cache", str(SOURCE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing():
    result = run("mypy", "--no-incremental")  # files and options: pyproject's [tool.mypy]
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_module_can_unpickle():
    source = pathlib.Path(cr.__file__).parent
    risky = re.compile(
        r"^\s*(import|from)\s+(pickle|dill|cloudpickle|joblib)\b"
        r"|torch\.load\(|allow_pickle\s*=\s*True|pickle\.loads?\(",
        re.M,
    )
    found = [
        f"{path.relative_to(source)}"
        for path in source.rglob("*.py")
        if risky.search(path.read_text(encoding="utf-8"))
    ]
    assert not found, f"modules that could unpickle: {found}"
