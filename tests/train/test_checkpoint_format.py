"""The checkpoint codec: nested state with arrays round-trips exactly, with no pickle."""

import json

import numpy as np
import pytest

from chainrule.train.checkpoint import CheckpointError, decode, encode, load_checkpoint


def test_a_list_of_plain_values_is_copied_into_the_tree():
    """A list of JSON values (a history's series) is copied whole: appending to it later
    does not change the snapshot; a list with anything else is encoded item by item."""
    series = [0.5, 2, True, "relu", 2**100]
    tree = encode({"series": series}, "", {})
    series.append(1.0)
    assert tree == {"series": [0.5, 2, True, "relu", 2**100]}
    arrays = {}
    mixed = encode([0.5, np.float32(2.0), None, [1.0]], "m", arrays)
    assert mixed == [0.5, {"__scalar__": "m/1"}, None, [1.0]]
    assert decode(mixed, arrays)[1] == np.float32(2.0)


def test_nested_state_round_trips_bit_for_bit(rng):
    state = {
        "state": {0: {"step": 3, "exp_avg": rng.normal(size=(2, 3)).astype(np.float32)},
                  1: {"scalar": np.float32(0.1), "count": np.int64(7)}},
        "param_groups": [{"lr": 0.1 + 0.2, "betas": (0.9, 0.999), "params": [0, 1],
                          "maximize": False, "name": None}],
        "big": 2**100, "best": float("inf"),
    }
    arrays = {}
    tree = encode(state, "", arrays)
    text = json.dumps(tree)  # everything but arrays is JSON
    back = decode(json.loads(text), arrays)
    assert back["param_groups"][0]["betas"] == (0.9, 0.999)
    assert back["param_groups"][0]["lr"] == 0.1 + 0.2
    assert set(back["state"]) == {0, 1}
    np.testing.assert_array_equal(back["state"][0]["exp_avg"], state["state"][0]["exp_avg"])
    assert type(back["state"][1]["scalar"]) is np.float32
    assert back["state"][1]["count"] == 7 and back["big"] == 2**100 and back["best"] == np.inf


def test_unstorable_value_is_named():
    with pytest.raises(CheckpointError, match="'/a/b'"):
        encode({"a": {"b": object()}}, "", {})


def test_bad_files_are_named(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(CheckpointError, match="bad.safetensors"):
        load_checkpoint(bad)
    from safetensors.numpy import save_file

    plain = tmp_path / "plain.safetensors"
    save_file({"w": np.zeros(2, np.float32)}, str(plain))
    with pytest.raises(CheckpointError, match="not a chainrule checkpoint"):
        load_checkpoint(plain)
