"""The base of chainrule's own exceptions (here so that backend.py can use it too)."""


class ChainruleError(Exception):
    """Base class of every error chainrule raises on purpose."""
