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

Beside it, "chainrule.checksum" holds a SHA-256 of that JSON and of every tensor, verified
before anything is restored: a damaged or altered file is refused with its name, and the
run's earlier checkpoints (ModelCheckpoint keep_last > 1) stay usable.
"""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np

from ..atomic import atomic_write_bytes
from ..engine import random as cr_random
from ..engine.backend import to_host
from ..engine.tensor import ChainruleError

__all__ = [
    "CheckpointError",
    "file_bytes",
    "load_checkpoint",
    "restore_checkpoint",
    "save_checkpoint",
    "snapshot",
    "write_checkpoint",
]

FORMAT = "chainrule-checkpoint"
VERSION = 2  # 2: with a checksum
METADATA_KEY = "chainrule.checkpoint"
CHECKSUM_KEY = "chainrule.checksum"
MISFIT = "the checkpoint does not fit this run"
_JSON_TYPES = (bool, int, float, str)


class CheckpointError(ChainruleError, ValueError):
    """A checkpoint file is missing, unreadable or does not fit the run resuming from it."""


def encode(value, key: str, arrays: dict):
    """A JSON tree for value; arrays go into `arrays` under keys derived from `key` (as host
    arrays: a checkpoint of a GPU run is the same file as that of a CPU run)."""
    if value is None or type(value) in _JSON_TYPES:  # most of a tree: the quick way out
        return value
    value = to_host(value)
    if isinstance(value, np.ndarray):
        # A copy: the file may be written while training changes the weights.
        arrays[key] = np.array(value, order="C")  # ascontiguousarray would make 0-d 1-d
        return {"__array__": key}
    if isinstance(value, np.generic):
        arrays[key] = np.asarray(value)
        return {"__scalar__": key}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: encode(v, f"{key}/{k}", arrays) for k, v in value.items()}
        return {"__items__": [[k, encode(v, f"{key}/{k}", arrays)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        if type(value) is list and all(type(v) in _JSON_TYPES for v in value):
            return list(value)  # e.g. a history's series: no call per number
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
        "callbacks": dict(
            zip(state.callbacks.keys(), (c.state_dict() for c in state.callbacks.checkpointed))
        ),
    }


def checksum(header_text: str, arrays: dict) -> str:
    """SHA-256 of the JSON header and of every array's name, dtype, shape and bytes."""
    digest = hashlib.sha256(header_text.encode("utf-8"))
    for name in sorted(arrays):
        array = arrays[name]
        array = np.asarray(array, dtype=array.dtype.newbyteorder("<"), order="C")
        digest.update(json.dumps([name, array.dtype.str, array.shape]).encode("utf-8"))
        # An ndarray is a buffer; numpy's stubs say so (__buffer__) only for Python >= 3.12.
        digest.update(array.reshape(-1).view(np.uint8))  # type: ignore[arg-type]
    return "sha256:" + digest.hexdigest()


def snapshot(state) -> tuple:
    """The training state as (JSON tree, arrays), copied: training may go on meanwhile."""
    arrays: dict = {}
    return encode(checkpoint_content(state), "", arrays), arrays


def file_bytes(tree, arrays: dict) -> bytes:
    """The bytes of a checkpoint file holding a snapshot."""
    from safetensors.numpy import save

    text = json.dumps({"format": FORMAT, "version": VERSION, "state": tree}, allow_nan=True)
    metadata = {METADATA_KEY: text, CHECKSUM_KEY: checksum(text, arrays)}
    return save(arrays, metadata=metadata)


def write_checkpoint(path, data: bytes) -> None:
    """Write checkpoint bytes to `path` atomically (the old file survives any crash)."""
    atomic_write_bytes(path, data)


def save_checkpoint(state, path) -> None:
    """Write the training state to `path` atomically (the old file survives any crash)."""
    write_checkpoint(path, file_bytes(*snapshot(state)))


def load_checkpoint(path) -> dict:
    """The content of a checkpoint file as nested dicts with ndarrays, once its checksum
    holds; CheckpointError names the file and what is wrong with it."""
    from ..io import ModelFileError, read_safetensors

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        arrays, metadata = read_safetensors(path)
    except ModelFileError as error:
        raise CheckpointError(
            f"{path}: not a readable safetensors checkpoint ({error.problem})"
        ) from None
    text = metadata.get(METADATA_KEY)
    if text is None:
        raise CheckpointError(f"{path}: a safetensors file but not a chainrule checkpoint")
    header = _header(path, text)
    if metadata.get(CHECKSUM_KEY) != checksum(text, arrays):
        raise CheckpointError(
            f"{path}: checksum mismatch: the file was damaged or altered "
            "after it was written; resume from an earlier checkpoint"
        )
    try:
        return decode(header["state"], arrays)
    except (KeyError, TypeError, ValueError, IndexError, RecursionError) as error:
        raise CheckpointError(
            f"{path}: damaged state ({type(error).__name__}: {error!s:.200})"
        ) from None


def _header(path: str, text: str) -> dict:
    try:
        header = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise CheckpointError(
            f"{path}: the checkpoint header is not valid JSON ({error!s:.200})"
        ) from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: the checkpoint header is not a JSON object")
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: unsupported checkpoint format "
            f"{header.get('format')!r:.80} version "
            f"{header.get('version')!r:.80} (this chainrule reads version "
            f"{VERSION})"
        )
    return header


def restore_checkpoint(state, path) -> None:
    """Put a TrainingState (model, optimizer, generator, loader, callbacks...) back as saved."""
    content = load_checkpoint(path)
    path = os.fspath(path)
    try:
        _check_kinds(content, checkpoint_content(state), path, "")
        _restore(state, content, path)
    except CheckpointError:
        raise
    except (
        ChainruleError,
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
        IndexError,
        OverflowError,
    ) as error:
        plain_key_error = isinstance(error, KeyError) and not isinstance(error, ChainruleError)
        problem = f"missing {error}" if plain_key_error else f"{error!s:.300}"
        raise CheckpointError(f"{path}: {MISFIT}: {problem}") from None
    state.resumed_from = path


def _kind(value) -> str | None:
    for kind, types in (
        ("an array", np.ndarray),
        ("a number", (int, float, np.generic)),
        ("text", str),
        ("a list", (list, tuple)),
        ("a mapping", dict),
    ):
        if isinstance(value, types):
            return kind
    return None


def _check_kinds(saved, current, path: str, where: str) -> None:
    """Where this run's own state holds a value, the checkpoint must hold one of the same
    kind (or None), and a non-empty array the same dtype: a forged checkpoint is refused here
    rather than failing steps later. Shapes are checked by each owner's load_state_dict."""
    kind, saved_kind = _kind(current), _kind(saved)
    if kind is None or saved is None:
        return
    if saved_kind != kind:
        raise CheckpointError(
            f"{path}: {MISFIT}: {where or 'the state'} is "
            f"{saved_kind or 'None'} in the checkpoint but {kind} here"
        )
    if kind == "an array" and current.size and saved.dtype != current.dtype:  # shapes: below
        raise CheckpointError(
            f"{path}: {MISFIT}: {where} is {saved.dtype} in the checkpoint but {current.dtype} here"
        )
    if isinstance(current, dict):
        for key in current.keys() & saved.keys():
            _check_kinds(saved[key], current[key], path, f"{where}/{key}")
    elif isinstance(current, (list, tuple)):
        for i, (a, b) in enumerate(zip(saved, current)):
            _check_kinds(a, b, path, f"{where}/{i}")


def _restore(state, content: dict, path: str) -> None:
    keys = state.callbacks.keys()
    saved = list(content["callbacks"])
    if saved != keys:
        raise CheckpointError(
            f"{path}: the checkpoint was written with callbacks {saved} but this run "
            f"has {keys}; resume with the same callbacks, metrics and validation settings"
        )
    state.model.load_state_dict(content["model"])
    state.optimizer.load_state_dict(content["optimizer"])
    cr_random.set_state(content["random"])
    state.loader.load_state_dict(content["loader"])
    state.load_state_dict(content["loop"])
    state.history.load_state_dict(content["history"])
    for callback, callback_state in zip(
        state.callbacks.checkpointed, content["callbacks"].values()
    ):
        callback.load_state_dict(callback_state)
