"""The one place that decides the array library.

Every module takes `xp` from here, so a GPU array library with NumPy's interface (CuPy) can be
plugged in later by changing this file alone.
"""

import numpy as xp

__all__ = ["xp"]
