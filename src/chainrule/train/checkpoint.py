"""Training checkpoints: one safetensors file, written atomically, that resumes a run exactly.

The file holds every array (model weights and buffers, optimizer moments, callback arrays)
as a safetensors tensor, and everything else as JSON in the safetensors metadata under
"chainrule.checkpoint": the optimizer's scalars and param groups, the scheduler, the random
generator and the data order, the epoch and step, callbacks' best-so-far, and the history.
Nothing is pickled: loading a checkpoint never runs code from it.

Nested state (dicts, lists, tuples, dicts with int keys) is stored as a JSON tree in which
an array is replaced by {"__array__": key} naming its safetensors tensor, a NumPy scalar by
{"__scalar__": key} (a 0-d tensor, so its dtype survives), a tuple by {"__tuple__": [...]}
and a dict whose keys are not all strings by {"__items__": [[key, value], ...]}. Floats keep
every bit (JSON writes Python floats with repr).
"""

from __future__ import annotations

import json
import os

import numpy as np

from ..engine import random as cr_random
from ..atomic import atomic_write_bytes
from ..engine.tensor import ChainruleError

__all__ = ["CheckpointError", "load_checkpoint", "restore_checkpoint", "save_checkpoint"]

FORMAT = "chainrule-checkpoint"
VERSION = 1
METADATA_KEY = "chainrule.checkpoint"


class CheckpointError(ChainruleError, ValueError):
    """A checkpoint file is missing, unreadable or does not fit the run resuming from it."""


def encode(value, key: str, arrays: dict):
    """A JSON tree for value; arrays go into `arrays` under keys derived from `key`."""
    if isinstance(value, np.ndarray):
        arrays[key] = np.ascontiguousarray(value)
        return {"__array__": key}
    if isinstance(value, np.generic):
        arrays[key] = np.asarray(value)
        return {"__scalar__": key}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: encode(v, f"{key}/{k}", arrays) for k, v in value.items()}
        return {"__items__": [[k, encode(v, f"{key}/{k}", arrays)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        items = [encode(v, f"{key}/{i}", arrays) for i, v in enumerate(value)]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise CheckpointError(f"cannot store {type(value).__name__} at {key!r} in a checkpoint")


def decode(tree, arrays: dict):
    """The inverse of encode."""
    if isinstance(tree, list):
        return [decode(v, arrays) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if "__array__" in tree:
        return arrays[tree["__array__"]]
    if "__scalar__" in tree:
        return arrays[tree["__scalar__"]][()]
    if "__tuple__" in tree:
        return tuple(decode(v, arrays) for v in tree["__tuple__"])
    if "__items__" in tree:
        return {k: decode(v, arrays) for k, v in tree["__items__"]}
    return {k: decode(v, arrays) for k, v in tree.items()}


def checkpoint_content(state) -> dict:
    """Everything a resume needs, from a TrainingState (arrays still inside)."""
    return {
        "model": state.model.state_dict(),
        "optimizer": state.optimizer.state_dict(),
        "random": cr_random.get_state(),
        "loader": state.loader.state_dict(),
        "loop": state.state_dict(),
        "history": state.history.state_dict(),
        "callbacks": dict(zip(state.callbacks.keys(), (c.state_dict() for c in state.callbacks))),
    }


def save_checkpoint(state, path) -> None:
    """Write the training state to `path` atomically (the old file survives any crash)."""
    from safetensors.numpy import save

    arrays: dict = {}
    tree = encode(checkpoint_content(state), "", arrays)
    header = {"format": FORMAT, "version": VERSION, "state": tree}
    metadata = {METADATA_KEY: json.dumps(header, allow_nan=True)}
    atomic_write_bytes(path, save(arrays, metadata=metadata))


def load_checkpoint(path) -> dict:
    """The content of a checkpoint file as nested dicts with ndarrays."""
    from safetensors import SafetensorError, safe_open

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with safe_open(path, framework="np") as handle:
            metadata = handle.metadata() or {}
            arrays = {key: handle.get_tensor(key) for key in handle.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors checkpoint ({exc})") from None
    if METADATA_KEY not in metadata:
        raise CheckpointError(f"{path}: a safetensors file but not a chainrule checkpoint")
    header = json.loads(metadata[METADATA_KEY])
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise CheckpointError(f"{path}: unsupported checkpoint format {header.get('format')!r} "
                              f"version {header.get('version')!r}")
    return decode(header["state"], arrays)


def restore_checkpoint(state, path) -> None:
    """Put a TrainingState (model, optimizer, generator, loader, callbacks...) back as saved."""
    content = load_checkpoint(path)
    keys = state.callbacks.keys()
    saved = list(content["callbacks"])
    if saved != keys:
        raise CheckpointError(
            f"{os.fspath(path)}: the checkpoint was written with callbacks {saved} but this run "
            f"has {keys}; resume with the same callbacks, metrics and validation settings"
        )
    state.model.load_state_dict(content["model"])
    state.optimizer.load_state_dict(content["optimizer"])
    cr_random.set_state(content["random"])
    state.loader.load_state_dict(content["loader"])
    state.load_state_dict(content["loop"])
    state.history.load_state_dict(content["history"])
    for callback, callback_state in zip(state.callbacks, content["callbacks"].values()):
        callback.load_state_dict(callback_state)
