"""The fuzz harness in CI: every corpus file keeps the promise, then a fixed budget of fresh
mutations per target (tools/fuzz.py runs the same targets for as long as one likes).

The promise: an input loads, or raises the library's own error naming the file once, quickly.
"""

import importlib.util
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "fuzz.py"
_spec = importlib.util.spec_from_file_location("chainrule_fuzz", _SCRIPT)
fuzz = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fuzz)

# A fixed budget (about 10 s in all here); derandomized so CI sees the same inputs every run.
EXAMPLES = 150
CI = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])


def _corpus_files():
    return [(target, name) for target in sorted(fuzz.CHECKS) for name in fuzz.corpus(target)]


def test_every_target_has_seeds():
    for target in fuzz.CHECKS:
        assert any(name.startswith("seed-") for name in fuzz.corpus(target)), target


@pytest.mark.parametrize("target, name", _corpus_files())
def test_corpus_file_keeps_the_promise(target, name):
    assert fuzz.check(target, fuzz.corpus(target)[name]) is None


@pytest.mark.parametrize("target, name", [
    (t, n) for t, n in _corpus_files() if n.startswith(("seed-", "regression-"))])
def test_seeds_load_and_regression_cases_are_refused(tmp_path, target, name):
    """check() accepts both outcomes; here each file must have the one it was kept for."""
    import chainrule as cr
    from chainrule.data import DataError
    from chainrule.io import ModelFileError
    from chainrule.train import CheckpointError

    path = tmp_path / name
    path.write_bytes(fuzz.corpus(target)[name])
    load = {"model": cr.load, "checkpoint": fuzz.resume, "forged-checkpoint": fuzz.restore,
            "table": fuzz.load_table}
    if name.startswith("seed-"):
        load[target](str(path))
    else:
        with pytest.raises((ModelFileError, CheckpointError, DataError)):
            load[target](str(path))


def _seeds(target):
    return [data for name, data in sorted(fuzz.corpus(target).items())
            if name.startswith("seed-")]


@pytest.mark.parametrize("target", sorted(fuzz.CHECKS))
@CI
@given(data=st.data())
def test_mutated_inputs_keep_the_promise(target, data):
    seed = data.draw(st.sampled_from(_seeds(target)), label="seed file")
    rnd = random.Random(data.draw(st.integers(0, 2**32 - 1), label="mutation seed"))
    mutated = fuzz.mutate(target, seed, rnd)
    assert fuzz.check(target, mutated) is None
