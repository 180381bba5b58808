"""Model files: safetensors tensors, with the architecture as JSON in the header's metadata.

A safetensors file is an 8-byte little-endian header length, a JSON header naming each
tensor's dtype, shape and byte range, then the raw little-endian data. `cr.save` stores the
model's state_dict under PyTorch's key names (so `safetensors.torch.load_file` reads it into
the equivalent torch.nn model) and the architecture from `cr.nn.to_spec`, so `cr.load`
rebuilds built-in models with none of the user's code. Loading never runs anything from the
file: the header is checked here first, so every damaged file raises a ModelFileError that
names the file and the problem, and there is no pickle anywhere.
"""

from __future__ import annotations

import json
import os
import struct

import numpy as np

from .atomic import atomic_write_bytes
from .engine.backend import to_host
from .engine.tensor import ChainruleError, Tensor

__all__ = [
    "ModelFileError",
    "load",
    "load_metadata",
    "load_state_dict",
    "save",
    "save_state_dict",
]

ARCHITECTURE_KEY = "chainrule.architecture"
METADATA_KEY = "chainrule.metadata"
CUSTOM_MODEL_KEY = "chainrule.custom_model"
FORMAT_KEY = "chainrule.format"
FORMAT_VERSION = "1"

# Bytes per element of each dtype NumPy can hold; the names are safetensors'.
ITEMSIZE = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "C64": 8,
    "I64": 8,
    "U64": 8,
    "I32": 4,
    "U32": 4,
    "I16": 2,
    "U16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
}
# The same dtypes as NumPy's type codes without byte order (safetensors byte-swaps on save).
SAVABLE = {"f8", "f4", "f2", "c8", "i8", "u8", "i4", "u4", "i2", "u2", "i1", "u1", "b1"}
HEADER_LIMIT = 100_000_000  # safetensors' own cap on the header size
# A torch.save file is a zip archive (or, before PyTorch 1.6, a bare pickle).
FOREIGN_SIGNATURES = {b"PK\x03\x04": "a zip archive (torch.save format)", b"\x80": "a pickle"}


class ModelFileError(ChainruleError, ValueError):
    """A model file that cannot be read or written; the message names the file and why."""

    def __init__(self, path, problem: str):
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


# --- reading ------------------------------------------------------------------------------
def _read_prefix(path, whole: bool) -> tuple[bytes, int]:
    """The file's bytes (or its first header's worth when not `whole`) and its size."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if whole:
                return handle.read(), size
            head = handle.read(8)
            length = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
            return head + handle.read(min(length, HEADER_LIMIT)), size
    except OSError as error:
        raise ModelFileError(path, f"cannot read the file ({error.strerror or error})") from None


def _foreign_format(raw: bytes) -> str | None:
    for signature, name in FOREIGN_SIGNATURES.items():
        if raw.startswith(signature):
            return name
    return None


def _header_bytes(path, raw: bytes, size: int) -> tuple[bytes, int]:
    """The JSON header and the size of the data section after it."""
    if size < 8:
        raise ModelFileError(
            path,
            f"truncated: {size} bytes, shorter than the 8-byte header "
            "length every safetensors file starts with",
        )
    length = struct.unpack("<Q", raw[:8])[0]
    # A real header length may start with any byte, so signatures only explain a bad header.
    foreign = _foreign_format(raw)
    if foreign is not None and (length > size - 8 or raw[8:9] != b"{"):
        raise ModelFileError(
            path,
            f"not a safetensors file: it looks like {foreign}; chainrule "
            "never unpickles files (re-save it with safetensors.torch.save_file)",
        )
    if length > size - 8:
        raise ModelFileError(
            path,
            f"header length {length} is larger than the file ({size} "
            "bytes): the file is truncated or not safetensors",
        )
    if length > HEADER_LIMIT:
        raise ModelFileError(path, f"header length {length} exceeds the {HEADER_LIMIT}-byte limit")
    return raw[8 : 8 + length], size - 8 - length


def _reject_duplicates(pairs):
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        keys = [key for key, _ in pairs]
        raise ValueError(f"duplicate key {next(k for k in keys if keys.count(k) > 1)!r}")
    return mapping


def _parse_json(path, text, what: str):
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise ModelFileError(path, f"{what} is not valid JSON ({error})") from None


def _check_entry(path, name: str, entry, data_size: int) -> tuple[int, int]:
    """Check one tensor's dtype, shape and byte range; return the range."""
    where = f"tensor {name!r}"
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise ModelFileError(
            path, f"{where}: expected dtype, shape and data_offsets, got {entry!r}"
        )
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(dtype, str) or dtype not in ITEMSIZE:
        raise ModelFileError(
            path,
            f"{where}: dtype {dtype!r:.80} is not one NumPy can hold "
            f"(known: {', '.join(ITEMSIZE)})",
        )
    if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
        raise ModelFileError(path, f"{where}: shape {shape!r} is not a list of sizes")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(type(n) is int and n >= 0 for n in offsets)
    ):
        raise ModelFileError(path, f"{where}: data_offsets {offsets!r} is not [begin, end]")
    begin, end = offsets
    if not begin <= end <= data_size:
        raise ModelFileError(
            path,
            f"{where}: bytes [{begin}, {end}) lie outside the data "
            f"section of {data_size} bytes (truncated file or bad offsets)",
        )
    needed = ITEMSIZE[dtype] * int(np.prod(shape, dtype=object))
    if end - begin != needed:
        raise ModelFileError(
            path,
            f"{where}: dtype {dtype} and shape {shape} need {needed} "
            f"bytes, but its data_offsets hold {end - begin}",
        )
    return begin, end


def _check_layout(path, ranges: dict, data_size: int) -> None:
    """The tensors must tile the data section exactly: no overlap, no gap, nothing after."""
    covered, previous = 0, None
    for name, (begin, end) in sorted(ranges.items(), key=lambda item: item[1]):
        if begin < covered:
            raise ModelFileError(
                path, f"tensor {name!r} bytes [{begin}, {end}) overlap tensor {previous!r}"
            )
        if begin > covered:
            raise ModelFileError(
                path, f"gap of {begin - covered} unused bytes before tensor {name!r}"
            )
        covered, previous = end, name
    if covered != data_size:
        raise ModelFileError(
            path,
            f"data section has {data_size} bytes but the tensors "
            f"cover {covered}: the file is truncated or padded",
        )


def _parse_header(path, raw: bytes, size: int) -> dict[str, str]:
    """Validate the whole header against the file size; return its string metadata."""
    text, data_size = _header_bytes(path, raw, size)
    header = _parse_json(path, text, "header")
    if not isinstance(header, dict):
        raise ModelFileError(path, f"header is JSON {type(header).__name__}, not an object")
    metadata = header.pop("__metadata__", None)
    metadata = {} if metadata is None else metadata
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelFileError(path, "header __metadata__ is not a mapping of strings to strings")
    ranges = {name: _check_entry(path, name, entry, data_size) for name, entry in header.items()}
    _check_layout(path, ranges, data_size)
    return metadata


def read_safetensors(path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """All tensors of a validated safetensors file and its string metadata (ModelFileError
    names the file and what is wrong with it)."""
    raw, size = _read_prefix(path, whole=True)
    metadata = _parse_header(path, raw, size)
    import safetensors.numpy

    try:
        tensors = safetensors.numpy.load(raw)
    except Exception as error:
        raise ModelFileError(path, f"safetensors could not read it ({error})") from None
    return {k: v if v.flags.writeable else v.copy() for k, v in tensors.items()}, metadata


def load_state_dict(path) -> dict[str, np.ndarray]:
    """The arrays of a safetensors file by name (from chainrule, PyTorch or any other writer)."""
    return read_safetensors(path)[0]


def load_metadata(path) -> dict:
    """The extra metadata dict given to `save` / `save_state_dict` ({} when there is none)."""
    raw, size = _read_prefix(path, whole=False)
    return _extra_metadata(path, _parse_header(path, raw, size))


def _extra_metadata(path, header: dict[str, str]) -> dict:
    stored = header.get(METADATA_KEY)
    metadata = {} if stored is None else _parse_json(path, stored, "stored metadata")
    if not isinstance(metadata, dict):
        raise ModelFileError(
            path, f"stored metadata is JSON {type(metadata).__name__}, not an object"
        )
    return metadata


def load(path):
    """Rebuild a model saved by `cr.save` from its recorded architecture and weights.

    Like any freshly built model it is in training mode; call `.eval()` before predicting.
    model.preprocessor is the preprocessing stored with it by `chainrule train` (a
    cr.data.Preprocessor; None when the file has none): cr.predict and cr.evaluate apply it
    to a DataFrame or a table file, and cr.save stores it again.
    """
    tensors, metadata = read_safetensors(path)
    spec_text = metadata.get(ARCHITECTURE_KEY)
    if spec_text is None:
        raise ModelFileError(path, _no_architecture_message(metadata))
    from . import nn

    if len(spec_text) > nn.spec.MAX_SPEC_BYTES:
        raise ModelFileError(
            path,
            f"the architecture's {len(spec_text):,} characters exceed "
            f"the {nn.spec.MAX_SPEC_BYTES:,} a model of "
            f"{nn.spec.MAX_LAYERS:,} layers needs",
        )
    spec = _parse_json(path, spec_text, "architecture")

    try:
        parsed = nn.spec.parse_spec(spec)
    except nn.SpecError as error:
        raise ModelFileError(path, f"the architecture cannot be rebuilt: {error}") from None
    # Checked sizes, before anything is allocated: a small file cannot ask for a huge model.
    _check_size(path, parsed.state_size(), tensors)
    try:
        model = parsed.build()
    except (TypeError, ValueError, MemoryError) as error:  # a layer's check beyond its types
        raise ModelFileError(path, f"the architecture cannot be rebuilt: {error}") from None
    _check_dtypes(path, model.state_dict(), tensors)
    try:
        model.load_state_dict(tensors, strict=True)
    except ChainruleError as error:
        raise ModelFileError(path, f"the weights do not fit the architecture: {error}") from None
    model.preprocessor = _preprocessor(path, metadata)
    return model


def _preprocessor(path, header: dict[str, str]):
    """The Preprocessor in the file's metadata (written by `chainrule train`), or None."""
    stored = _extra_metadata(path, header).get("preprocessor")
    if stored is None:
        return None
    from .data.preprocessing import Preprocessor

    try:
        return Preprocessor.from_dict(stored)
    except (ChainruleError, TypeError, ValueError, KeyError, IndexError, AttributeError) as error:
        raise ModelFileError(
            path,
            f"its stored preprocessing is damaged, so the model cannot make predictions "
            f"from tables: {error!s:.300}",
        ) from None


def _check_size(path, needed: int, tensors: dict) -> None:
    held = sum(array.size for array in tensors.values())
    if needed > held:
        raise ModelFileError(
            path, f"the architecture needs {needed:,} weights but the file holds {held:,}"
        )


def _check_dtypes(path, expected: dict, tensors: dict) -> None:
    """The architecture records each layer's dtype; loading must not silently cast."""
    for name, array in tensors.items():
        if name in expected and expected[name].dtype != array.dtype:
            raise ModelFileError(
                path,
                f"tensor {name!r} is {array.dtype} but the architecture "
                f"makes it {expected[name].dtype}",
            )


def _no_architecture_message(metadata: dict[str, str]) -> str:
    custom = metadata.get(CUSTOM_MODEL_KEY)
    source = (
        f"a custom model ({custom}) that is not made of built-in layers only"
        if custom
        else "a writer other than cr.save (e.g. PyTorch)"
    )
    return (
        f"holds weights without an architecture: it was saved from {source}. Build the "
        "model in code and call model.load_state_dict(cr.load_state_dict(path)) instead"
    )


# --- writing ------------------------------------------------------------------------------
def _as_arrays(path, state) -> dict[str, np.ndarray]:
    if not isinstance(state, dict):
        raise ModelFileError(path, f"expected a dict of arrays, got {type(state).__name__}")
    arrays = {}
    for name, value in state.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise ModelFileError(path, f"tensor name {name!r} is not allowed")
        array = np.asarray(to_host(value.data if isinstance(value, Tensor) else value))
        if array.dtype.str[1:] not in SAVABLE:
            raise ModelFileError(
                path, f"tensor {name!r} has dtype {array.dtype}, which safetensors cannot store"
            )
        arrays[name] = np.asarray(array, order="C")  # ascontiguousarray would make 0-d 1-d
    return arrays


def _write(path, state, header: dict[str, str], metadata) -> None:
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise ModelFileError(path, f"metadata must be a dict, got {type(metadata).__name__}")
        try:
            header[METADATA_KEY] = json.dumps(metadata)
        except (TypeError, ValueError) as error:
            raise ModelFileError(path, f"metadata is not JSON-serialisable ({error})") from None
    arrays = _as_arrays(path, state)
    import safetensors.numpy

    data = safetensors.numpy.save(arrays, metadata={FORMAT_KEY: FORMAT_VERSION, **header})
    atomic_write_bytes(path, data)


def save_state_dict(state, path, metadata=None) -> None:
    """Write a dict of arrays (or Tensors) as a safetensors file, atomically."""
    _write(path, state, {}, metadata)


def save(model, path, metadata=None) -> None:
    """Write `model`'s weights and its architecture, atomically.

    The architecture names built-in layers and classes registered with @cr.nn.register; a
    model with any other layer is refused here (save its weights with cr.save_state_dict, or
    register the class).
    """
    from . import nn

    if not isinstance(model, nn.Module):
        raise ModelFileError(
            path,
            f"cr.save expects a cr.nn.Module, got {type(model).__name__}"
            "; use cr.save_state_dict for a dict of arrays",
        )
    try:
        header = {ARCHITECTURE_KEY: json.dumps(nn.to_spec(model))}
    except nn.SpecError as error:
        raise ModelFileError(
            path,
            f"cannot store the architecture of this {type(model).__name__}: {error}; or "
            "decorate the class with @cr.nn.register (and give it spec_args()) so cr.load "
            "can rebuild it",
        ) from None
    preprocessor = getattr(model, "preprocessor", None)  # cr.load's, kept
    if preprocessor is not None and (metadata is None or isinstance(metadata, dict)):
        metadata = {"preprocessor": preprocessor.to_dict(), **(metadata or {})}
    _write(path, model.state_dict(), header, metadata)
