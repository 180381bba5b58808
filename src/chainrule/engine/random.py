"""The random generator behind everything chainrule draws (init, dropout, shuffling).

`manual_seed(seed)` replaces it, so that a run is reproducible bit for bit.
"""

from __future__ import annotations

from .backend import xp

_generator = xp.random.default_rng()


def manual_seed(seed: int) -> xp.random.Generator:
    """Seed every random draw chainrule makes; returns the new generator."""
    global _generator
    _generator = xp.random.default_rng(seed)
    return _generator


def generator() -> xp.random.Generator:
    """The generator in use now."""
    return _generator


def generator_for(seed: int | None) -> xp.random.Generator:
    """A generator of its own seeded with `seed`, or chainrule's when seed is None.

    For code that takes a `seed` argument: seeding it must not replace the generator that
    init, dropout and shuffling draw from (that is `manual_seed`'s job alone).
    """
    return _generator if seed is None else xp.random.default_rng(seed)


def get_state() -> dict:
    """The generator's state, JSON-serialisable (for checkpoints)."""
    return dict(_generator.bit_generator.state)  # a fresh dict either way


def set_state(state: dict) -> None:
    _generator.bit_generator.state = state
