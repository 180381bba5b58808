"""Checkpoints on resume: a checksum refuses damaged files by name, keep_last deletes only the
callback's own files and never the one the run resumed from, bad files are named once."""

import json
import os
import struct

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train import CheckpointError, load_checkpoint
from chainrule.train.checkpoint import CHECKSUM_KEY, METADATA_KEY


def _fit(path, epochs=3, keep_last=1, resume_from=None, width=8):
    cr.manual_seed(1)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=30)
    model = nn.Sequential(nn.Linear(4, width), nn.Tanh(), nn.Linear(width, 3))
    opt = optim.Adam(model.parameters(), lr=0.01)
    saver = cr.callbacks.ModelCheckpoint(path, keep_last=keep_last)
    cr.fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=epochs, batch_size=10,
           callbacks=[saver], verbose=0, resume_from=resume_from)
    return model


def _split(path):
    raw = path.read_bytes()
    length = struct.unpack("<Q", raw[:8])[0]
    return raw, 8 + length


def _flip_data_bit(path, offset_from_end):
    raw, data_start = _split(path)
    position = len(raw) - offset_from_end
    assert position >= data_start
    damaged = bytearray(raw)
    damaged[position] ^= 0x10
    path.write_bytes(bytes(damaged))


def _assert_named_once(error, path):
    assert isinstance(error, CheckpointError)
    assert str(error).count(str(path)) == 1, str(error)


@pytest.mark.parametrize("offset_from_end", [1, 17, 200])
def test_a_bit_flip_in_the_data_section_is_refused(tmp_path, offset_from_end):
    path = tmp_path / "ckpt.safetensors"
    _fit(str(path), epochs=1)
    load_checkpoint(path)  # intact: loads
    _flip_data_bit(path, offset_from_end)
    with pytest.raises(CheckpointError, match="checksum mismatch") as caught:
        _fit(str(tmp_path / "other.safetensors"), resume_from=str(path))
    _assert_named_once(caught.value, path)


def _rewrite_state(path, change):
    """Alter the JSON state and keep the safetensors layout valid (only the checksum can tell)."""
    import safetensors.numpy

    arrays = safetensors.numpy.load_file(str(path))
    raw, data_start = _split(path)
    metadata = json.loads(raw[8:data_start])["__metadata__"]
    header = json.loads(metadata[METADATA_KEY])
    change(header["state"])
    metadata[METADATA_KEY] = json.dumps(header)
    path.write_bytes(safetensors.numpy.save(arrays, metadata=metadata))


def test_an_altered_state_is_refused_before_anything_is_restored(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    _fit(str(path), epochs=2)
    _rewrite_state(path, lambda state: state["loop"].update(epoch=0))
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    before = model.state_dict()
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        cr.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()),
               np.zeros((4, 4), np.float32), np.zeros(4, np.int64), epochs=3, verbose=0,
               callbacks=[cr.callbacks.ModelCheckpoint(str(path))], resume_from=str(path))
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name])


def test_the_previous_checkpoint_stays_usable_when_the_newest_is_damaged(tmp_path):
    pattern = str(tmp_path / "ckpt-{epoch}.safetensors")
    _fit(pattern, epochs=3, keep_last=2)
    newest, previous = tmp_path / "ckpt-3.safetensors", tmp_path / "ckpt-2.safetensors"
    _flip_data_bit(newest, 5)
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        load_checkpoint(newest)
    resumed = _fit(str(tmp_path / "again-{epoch}.safetensors"), epochs=3,
                   resume_from=str(previous))
    reference = _fit(str(tmp_path / "reference.safetensors"), epochs=3)
    for name, array in reference.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[name], array, err_msg=name)


def test_resuming_with_the_checkpoint_pointed_elsewhere_deletes_none_of_the_old_files(tmp_path):
    first = tmp_path / "first.safetensors"
    _fit(str(first), epochs=2)
    _fit(str(tmp_path / "second-{epoch}.safetensors"), epochs=5, resume_from=str(first))
    assert sorted(os.listdir(tmp_path)) == ["first.safetensors", "second-5.safetensors"]
    assert load_checkpoint(first)["loop"]["epoch"] == 1  # untouched


def test_rotation_never_deletes_the_file_the_run_resumed_from(tmp_path):
    pattern = str(tmp_path / "ckpt-{epoch}.safetensors")
    _fit(pattern, epochs=2, keep_last=1)
    assert os.listdir(tmp_path) == ["ckpt-2.safetensors"]
    _fit(pattern, epochs=4, keep_last=1, resume_from=str(tmp_path / "ckpt-2.safetensors"))
    assert sorted(os.listdir(tmp_path)) == ["ckpt-2.safetensors", "ckpt-4.safetensors"]


def test_rotation_goes_on_deleting_the_files_of_its_own_earlier_run(tmp_path):
    pattern = str(tmp_path / "ckpt-{epoch}.safetensors")
    _fit(pattern, epochs=2, keep_last=2)
    (tmp_path / "notes-1.safetensors").write_bytes(b"not ours")
    _fit(pattern, epochs=5, keep_last=2, resume_from=str(tmp_path / "ckpt-2.safetensors"))
    assert sorted(os.listdir(tmp_path)) == [
        "ckpt-2.safetensors", "ckpt-4.safetensors", "ckpt-5.safetensors", "notes-1.safetensors"]


def test_a_checkpoint_of_another_model_is_named(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    _fit(str(path), epochs=1)
    with pytest.raises(CheckpointError, match="does not fit this run") as caught:
        _fit(str(tmp_path / "wide.safetensors"), resume_from=str(path), width=9)
    _assert_named_once(caught.value, path)


@pytest.mark.parametrize("metadata, problem", [
    ({METADATA_KEY: "{not json"}, "not valid JSON"),
    ({METADATA_KEY: "[1, 2]"}, "not a JSON object"),
    ({METADATA_KEY: "[" * 100_000}, "not valid JSON"),
    ({METADATA_KEY: json.dumps({"format": "chainrule-checkpoint", "version": 1})},
     "version 1"),
    ({METADATA_KEY: json.dumps({"format": "chainrule-checkpoint", "version": 2,
                                "state": {"a": {"__array__": "missing"}}})},
     "checksum mismatch"),
])
def test_a_damaged_header_is_named(tmp_path, metadata, problem):
    import safetensors.numpy

    path = tmp_path / "bad.safetensors"
    path.write_bytes(safetensors.numpy.save({"w": np.zeros(2, np.float32)}, metadata=metadata))
    with pytest.raises(CheckpointError, match=problem) as caught:
        load_checkpoint(path)
    _assert_named_once(caught.value, path)


def test_a_damaged_state_with_a_matching_checksum_is_named(tmp_path):
    import safetensors.numpy

    from chainrule.train.checkpoint import checksum

    text = json.dumps({"format": "chainrule-checkpoint", "version": 2,
                       "state": {"a": {"__array__": ["not", "a", "key"]}}})
    arrays = {"w": np.zeros(2, np.float32)}
    path = tmp_path / "forged.safetensors"
    path.write_bytes(safetensors.numpy.save(
        arrays, metadata={METADATA_KEY: text, CHECKSUM_KEY: checksum(text, arrays)}))
    with pytest.raises(CheckpointError, match="damaged state") as caught:
        load_checkpoint(path)
    _assert_named_once(caught.value, path)


def test_a_model_with_a_0d_buffer_resumes_exactly(tmp_path):
    """BatchNorm1d's num_batches_tracked is 0-d; a checkpoint once stored it with shape (1,)."""

    def run(path, epochs, resume_from=None):
        cr.manual_seed(2)
        rng = np.random.default_rng(3)
        X, y = rng.normal(size=(20, 3)).astype(np.float32), rng.integers(0, 2, size=20)
        model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
        cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
               epochs=epochs, batch_size=5, verbose=0, resume_from=resume_from,
               callbacks=[cr.callbacks.ModelCheckpoint(path)])
        return model.state_dict()

    reference = run(str(tmp_path / "reference.safetensors"), epochs=3)
    path = str(tmp_path / "ckpt.safetensors")
    run(path, epochs=1)
    resumed = run(path, epochs=3, resume_from=path)
    assert resumed["1.num_batches_tracked"] == 12
    for name, array in reference.items():
        np.testing.assert_array_equal(resumed[name], array, err_msg=name)
