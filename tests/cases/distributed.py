"""Cases for chainrule.distributed's primitive (in one process: the sums, then the row count)."""

from __future__ import annotations

from chainrule import distributed


def sum_over_ranks(rng):
    return [(lambda t: distributed.sum_over_ranks(t, rows=5), [rng.standard_normal(4)]),
            (lambda t: distributed.sum_over_ranks(t * t, rows=2)[:-1], [rng.standard_normal(3)])]


CASES = {"sum_over_ranks": sum_over_ranks}
