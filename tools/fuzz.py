"""Fuzz the readers of hostile files: model files (cr.load, load_state_dict, load_metadata),
training checkpoints (load_checkpoint, fit(resume_from=...)) and tables (cr.data.load_csv).

Targets: "model" and "checkpoint" get damaged bytes and tampered JSON; "forged-checkpoint"
gets tampered JSON whose checksum is recomputed, as a forger would, and is resumed without
training further (restoring must refuse it by name; what a forged optimizer state does to
later steps is up to each optimizer's load_state_dict, not checked here). "table" gets CSV
files with damaged bytes and hostile cells (huge or non-finite numbers, stray quotes, NUL,
impossible dates, long texts, missing or extra delimiters) and loads them with a target.

    python tools/fuzz.py --seconds 600                 # every target, 10 minutes in all
    python tools/fuzz.py --target checkpoint --seconds 60 --seed 3
    python tools/fuzz.py --write-seeds                 # rebuild the seed files of the corpus

The promise under test: every input loads, or raises the library's own error (ModelFileError,
CheckpointError, DataError) that names the file exactly once, within SLOW_SECONDS. Anything
else (another exception, a slow input) is a finding: it is saved under
tests/fuzz/corpus/<target>/ as finding-<hash>.<suffix>, and tests/fuzz/test_fuzz.py replays
every corpus file in CI, so a finding becomes a regression case once it is fixed. The same
mutators drive the short hypothesis runs of that test module.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import random
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fuzz" / "corpus"
SLOW_SECONDS = 2.0
ARCHITECTURE_KEY = "chainrule.architecture"
CHECKPOINT_KEY = "chainrule.checkpoint"
# Values a tampered JSON may hold where a layer argument or a state entry belongs.
HOSTILE = [
    "20000", 20000.0, 1e300, -1, 0, 2**63, 10**30, True, None, [], {}, [3], [[3]], {"a": 1},
    "float32", "object", "BatchNorm1d", "Linear", "Sequential", "ModuleList", float("nan"),
    "", "é\x00", [1, 2, 3] * 4, {"__array__": "missing"}, {"__tuple__": 5}, {"__items__": 7},
]


# --- the inputs: small valid files -----------------------------------------------------------
def seed_models() -> dict[str, bytes]:
    import chainrule as cr
    from chainrule import nn

    cr.manual_seed(0)
    models = {
        "every-layer": nn.Sequential(
            nn.Flatten(), nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Dropout(0.1),
            nn.Residual(nn.Sequential(nn.Linear(3, 3), nn.LayerNorm(3), nn.GELU("tanh"))),
            nn.LeakyReLU(0.2), nn.Sigmoid(), nn.Tanh(), nn.Identity(), nn.Softmax(-1),
            nn.LogSoftmax(1)),
        "module-list": nn.ModuleList([nn.Linear(2, 2, dtype=np.float64), nn.LayerNorm([2])]),
    }
    out = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, model in models.items():
            path = os.path.join(folder, name)
            cr.save(model, path, metadata={"classes": ["a", "b"]})
            out[name] = Path(path).read_bytes()
    return out


def _training_run(path, resume_from=None, epochs=2):
    """The run whose checkpoints the checkpoint target resumes (its callbacks must match)."""
    import chainrule as cr
    from chainrule import nn, optim

    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 3)).astype(np.float32), rng.integers(0, 2, size=12)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    callbacks = [cr.callbacks.ModelCheckpoint(path),
                 cr.callbacks.EarlyStopping(monitor="loss", patience=3)]
    return cr.fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=epochs, batch_size=5,
                  scheduler=optim.lr_scheduler.StepLR(opt, step_size=1), callbacks=callbacks,
                  verbose=0, resume_from=resume_from)


def seed_checkpoints() -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "ckpt")
        _training_run(path, epochs=1)
        return {"after-one-epoch": Path(path).read_bytes()}


def seed_tables() -> dict[str, bytes]:
    """A penguins-like table (text target, categories, missing cells, dates) and a numeric one."""
    rows = ["species,island,bill_mm,mass_g,sex,observed"]
    islands, kinds = ("Biscoe", "Dream", "Torgersen"), ("Adelie", "Gentoo", "Chinstrap")
    for i in range(30):
        mass = "NA" if i % 7 == 3 else str(3000 + 37 * i)
        sex = "" if i % 11 == 5 else ("male" if i % 2 else "female")
        rows.append(f"{kinds[i % 3]},{islands[i % 3]},{38 + i * 0.4:.1f},{mass},{sex},"
                    f"2008-{1 + i % 12:02d}-{1 + i % 28:02d}")
    numeric = ["a,b,species"] + [f"{i * 0.1:.2f},{(i * 7) % 5},{i % 2}" for i in range(30)]
    return {"penguins": "\n".join(rows).encode() + b"\n",
            "numeric": "\n".join(numeric).encode() + b"\n"}


SEEDS = {"model": seed_models, "checkpoint": seed_checkpoints,
         "forged-checkpoint": seed_checkpoints, "table": seed_tables}


# --- the targets: does one input keep the promise? ---------------------------------------------
def _named_once(error: Exception, path: str) -> str | None:
    count = str(error).count(path)
    return None if count == 1 else f"{type(error).__name__} names the file {count} times: {error}"


def _run(calls, own_error, path: str) -> str | None:
    """None when every call returns or raises own_error naming path once; else the finding."""
    for call in calls:
        start = time.perf_counter()
        try:
            call(path)
        except own_error as error:
            problem = _named_once(error, path)
            if problem:
                return f"{call.__name__}: {problem}"
        except Exception as error:  # noqa: BLE001 - any other exception is the finding
            return f"{call.__name__}: {type(error).__name__}: {error!s:.300}"
        if time.perf_counter() - start > SLOW_SECONDS:
            return f"{call.__name__}: took {time.perf_counter() - start:.1f} s"
    return None


def check_model(path: str) -> str | None:
    import chainrule as cr
    from chainrule.io import ModelFileError, load_metadata

    return _run([cr.load, cr.load_state_dict, load_metadata], ModelFileError, path)


def resume(path):
    """Resume the seed run from `path` and train one more epoch."""
    with tempfile.TemporaryDirectory() as folder:
        _training_run(os.path.join(folder, "next"), resume_from=path, epochs=2)


def restore(path):
    """Resume the seed run from `path` without training further."""
    with tempfile.TemporaryDirectory() as folder:
        _training_run(os.path.join(folder, "next"), resume_from=path, epochs=1)


def check_checkpoint(path: str) -> str | None:
    from chainrule.train import CheckpointError, load_checkpoint

    return _run([load_checkpoint, resume], CheckpointError, path)


def check_forged_checkpoint(path: str) -> str | None:
    from chainrule.train import CheckpointError

    return _run([restore], CheckpointError, path)


def load_table(path):
    """cr.data.load_csv with a target; its warnings (unseen categories) are answers, not faults."""
    import warnings

    import chainrule as cr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cr.data.DataWarning)
        cr.data.load_csv(path, target="species")


def check_table(path: str) -> str | None:
    from chainrule.data import DataError

    return _run([load_table], DataError, path)


CHECKS = {"model": check_model, "checkpoint": check_checkpoint,
          "forged-checkpoint": check_forged_checkpoint, "table": check_table}
SUFFIX = {"table": ".csv"}  # the others are safetensors files


def check(target: str, data: bytes) -> str | None:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "input" + SUFFIX.get(target, ".safetensors"))
        Path(path).write_bytes(data)
        return CHECKS[target](path)


# --- the mutators ---------------------------------------------------------------------------
def mutate_bytes(data: bytes, rnd: random.Random) -> bytes:
    """One to four byte flips, deletions or insertions anywhere in the file."""
    content = bytearray(data)
    for _ in range(rnd.randint(1, 4)):
        at = rnd.randrange(max(len(content), 1))
        action = rnd.randrange(3) if content else 2
        if action == 0:
            content[at] ^= 1 << rnd.randrange(8)
        elif action == 1:
            del content[at]
        else:
            content.insert(at, rnd.randrange(256))
    return bytes(content)


def _split(data: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    import safetensors.numpy

    length = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + length])["__metadata__"], safetensors.numpy.load(data)


def _nodes(tree, path=()):
    """(path, value) of every node of a JSON tree."""
    yield path, tree
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) \
        if isinstance(tree, list) else ()
    for key, value in items:
        yield from _nodes(value, (*path, key))


def _replace(tree, path, value):
    if not path:
        return value
    parent = tree
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return tree


def mutate_tree(tree, rnd: random.Random):
    """Replace, drop or repeat one node of a JSON tree with a hostile value."""
    path, node = rnd.choice(list(_nodes(tree)))
    action = rnd.randrange(4)
    if action == 0 and path:
        parent = tree
        for key in path[:-1]:
            parent = parent[key]
        del parent[path[-1]]
        return tree
    if action == 1 and isinstance(node, list) and node:
        return _replace(tree, path, node * rnd.choice([2, 50]))
    if action == 2:
        return _replace(tree, path, [node] * rnd.randint(1, 3) if rnd.random() < 0.3
                        else {"type": "Sequential", "children": [node]})
    return _replace(tree, path, copy.deepcopy(rnd.choice(HOSTILE)))  # never mutate HOSTILE


def mutate_metadata(data: bytes, key: str, rnd: random.Random, reseal: bool) -> bytes:
    """The same tensors with the JSON under metadata `key` tampered (and, for a checkpoint,
    optionally its checksum recomputed, as a forger would)."""
    import safetensors.numpy

    metadata, arrays = _split(data)
    tree = json.loads(metadata[key])
    for _ in range(rnd.randint(1, 3)):
        tree = mutate_tree(tree, rnd)
    metadata[key] = json.dumps(tree)
    if reseal:
        from chainrule.train.checkpoint import CHECKSUM_KEY, checksum

        metadata[CHECKSUM_KEY] = checksum(metadata[key], arrays)
    return safetensors.numpy.save(arrays, metadata=metadata)


# Cells a hostile table may hold.
HOSTILE_CELLS = [
    "1e400", "-1e400", "nan", "inf", "", '"', '""', "\x00", "x" * 5000, "2020-13-45",
    "0000-00-00", "9" * 400, "1,2", "\t", "\r", "é", "NA", "None", "True", "-0", "0x1F",
]


def mutate_cells(data: bytes, rnd: random.Random) -> bytes:
    """One to three cells of a CSV replaced by hostile values (the header too, sometimes)."""
    lines = data.decode("utf-8", "replace").split("\n")
    for _ in range(rnd.randint(1, 3)):
        row = rnd.randrange(len(lines))
        cells = lines[row].split(",")
        cells[rnd.randrange(len(cells))] = rnd.choice(HOSTILE_CELLS)
        lines[row] = ",".join(cells)
    return "\n".join(lines).encode("utf-8", "surrogatepass")


def mutate(target: str, data: bytes, rnd: random.Random) -> bytes:
    if target == "table":
        return mutate_bytes(data, rnd) if rnd.random() < 0.3 else mutate_cells(data, rnd)
    if target == "forged-checkpoint":
        return mutate_metadata(data, CHECKPOINT_KEY, rnd, reseal=True)
    if rnd.random() < 0.5:
        return mutate_bytes(data, rnd)
    key = ARCHITECTURE_KEY if target == "model" else CHECKPOINT_KEY
    return mutate_metadata(data, key, rnd, reseal=False)


# --- the corpus -----------------------------------------------------------------------------
def corpus(target: str) -> dict[str, bytes]:
    folder = CORPUS / target
    suffix = SUFFIX.get(target, ".safetensors")
    return {p.name: p.read_bytes() for p in sorted(folder.glob(f"*{suffix}"))}


def write_seeds() -> None:
    for target, make in SEEDS.items():
        (CORPUS / target).mkdir(parents=True, exist_ok=True)
        for name, data in make().items():
            suffix = SUFFIX.get(target, ".safetensors")
            (CORPUS / target / f"seed-{name}{suffix}").write_bytes(data)


def save_finding(target: str, data: bytes) -> Path:
    suffix = SUFFIX.get(target, ".safetensors")
    path = CORPUS / target / f"finding-{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
    path.write_bytes(data)
    return path


def fuzz(target: str, seconds: float, rnd: random.Random) -> int:
    """Mutate the corpus for `seconds`; report and save each finding; return their number."""
    inputs = [data for name, data in corpus(target).items() if name.startswith("seed-")]
    findings, runs, end = 0, 0, time.monotonic() + seconds
    while time.monotonic() < end:
        data = mutate(target, rnd.choice(inputs), rnd)
        runs += 1
        problem = check(target, data)
        if problem:
            findings += 1
            print(f"{target}: finding {save_finding(target, data).name}: {problem}")
    print(f"{target}: {runs} inputs in {seconds:.0f} s, {findings} findings")
    return findings


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=sorted(CHECKS), action="append")
    parser.add_argument("--seconds", type=float, default=60.0, help="in all (default 60)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write-seeds", action="store_true")
    args = parser.parse_args(argv)
    if args.write_seeds:
        write_seeds()
        return 0
    targets = args.target or sorted(CHECKS)
    rnd = random.Random(args.seed)
    findings = sum(fuzz(t, args.seconds / len(targets), rnd) for t in targets)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
