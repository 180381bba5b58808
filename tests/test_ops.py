"""Every registered primitive through cr.gradcheck in float64, cases from tests/cases/*.py.

The test is parametrised over chainrule.REGISTRY, not over the case tables, so a primitive
registered without a case fails here.
"""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
import sys

import numpy as np
import pytest

import chainrule as cr

if importlib.util.find_spec("chainrule.nn") is not None:
    importlib.import_module("chainrule.nn")  # registers nn's fused primitives

CASE_DIR = pathlib.Path(__file__).parent / "cases"


def load_case_tables() -> dict:
    """Merge the CASES dict of every module in tests/cases/ (op name -> function(rng))."""
    if str(CASE_DIR.parent) not in sys.path:
        sys.path.insert(0, str(CASE_DIR.parent))
    merged = {}
    for path in sorted(CASE_DIR.glob("*.py")):
        if path.stem == "__init__":
            continue
        table = getattr(importlib.import_module(f"cases.{path.stem}"), "CASES", {})
        clash = sorted(set(merged) & set(table))
        assert not clash, f"{path.name}: ops {clash} already have cases in another table"
        merged.update(table)
    return merged


CASE_TABLES = load_case_tables()


@pytest.mark.parametrize("name", sorted(cr.REGISTRY))
def test_gradcheck_every_registered_op(name):
    assert name in CASE_TABLES, f"primitive {name!r} has no gradcheck case in tests/cases/"
    for seed in range(3):  # three draws of random shapes
        cases = CASE_TABLES[name](np.random.default_rng(seed))
        assert cases, f"{name}: its case function returned no cases"
        for number, (fn, inputs, *_) in enumerate(cases):
            assert all(np.asarray(x).dtype in (np.float64, np.bool_) for x in inputs)
            result = cr.gradcheck(fn, *inputs)
            assert result, f"{name} case {number} (seed {seed}) failed:\n{result}"


def test_every_case_names_a_registered_op():
    unknown = sorted(set(CASE_TABLES) - set(cr.REGISTRY))
    assert not unknown, f"cases for ops that are not registered: {unknown}"
