"""The optional compiled kernel; everything else about the package is in pyproject.toml."""

from setuptools import Extension, setup

# optional=True: without a C compiler the install still succeeds and the NumPy path runs.
# -ffp-contract=off keeps the compiler from fusing a*b + c, so the loops' numbers stay
# bit-identical to NumPy's; -fno-math-errno and -fno-trapping-math only drop errno and
# floating-point traps (values are unchanged), which lets sqrt and selects vectorize.
setup(ext_modules=[Extension(
    "chainrule._native",
    [
        "src/chainrule/_native.c",
        "src/chainrule/_native_batch_norm.c",
        "src/chainrule/_native_cross_entropy.c",
    ],
    depends=["src/chainrule/_native.h"],
    optional=True,
    extra_compile_args=["-O3", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math"],
)])
