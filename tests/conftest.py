"""NumPy warnings are errors (pyproject's filterwarnings); every test gets a seeded generator."""

import numpy as np
import pytest

import chainrule as cr


@pytest.fixture
def rng():
    cr.manual_seed(0)
    return np.random.default_rng(1234)
