"""The one place that decides the array library of the engine, nn and optim.

Those three packages take `xp` from here and never import numpy themselves (tests/test_backend.py
checks it), so a library with NumPy's interface (CuPy for a GPU) can be tried by changing this
line. What lies outside them works on host NumPy arrays: data loading, model files, plots, the
CLI, the compiled loops of chainrule.native (which decline arrays that are not in host memory,
leaving the work to the xp path); a GPU backend converts at those boundaries.
"""

import numpy as xp

__all__ = ["xp"]
