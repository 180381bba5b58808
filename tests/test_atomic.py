"""Atomic writes: the final path is never half-written, even when the writer is killed."""

import os
import random
import signal
import stat
import subprocess
import sys
import time

import pytest

from chainrule import atomic
from chainrule.atomic import atomic_write, atomic_write_bytes, atomic_write_text


def _folder_names(folder):
    return sorted(os.listdir(folder))


def test_write_bytes_creates_and_replaces(tmp_path):
    path = tmp_path / "out.bin"
    atomic_write_bytes(path, b"first")
    assert path.read_bytes() == b"first"
    atomic_write_bytes(path, b"second, longer")
    assert path.read_bytes() == b"second, longer"
    assert _folder_names(tmp_path) == ["out.bin"]


def test_write_text_keeps_newlines_and_unicode(tmp_path):
    path = tmp_path / "notes.txt"
    text = "a\r\nb\nλ = 0.1\n"
    atomic_write_text(str(path), text)
    assert path.read_bytes() == text.encode("utf-8")


def test_context_manager_writes_in_pieces(tmp_path):
    path = tmp_path / "pieces.bin"
    with atomic_write(path) as handle:
        handle.write(b"ab")
        # Nothing reaches the final name before the block ends.
        assert not path.exists()
        handle.write(b"cd")
    assert path.read_bytes() == b"abcd"


def test_exception_mid_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"old content")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(path) as handle:
            handle.write(b"new half")
            raise RuntimeError("boom")
    assert path.read_bytes() == b"old content"
    assert _folder_names(tmp_path) == ["model.bin"]


def test_exception_on_new_file_leaves_nothing(tmp_path):
    path = tmp_path / "never.txt"
    with pytest.raises(KeyError):
        with atomic_write(path, "w") as handle:
            handle.write("partial")
            raise KeyError("stop")
    assert _folder_names(tmp_path) == []


def test_keyboard_interrupt_also_cleans_up(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(path) as handle:
            handle.write(b"new")
            raise KeyboardInterrupt
    assert path.read_bytes() == b"old"
    assert _folder_names(tmp_path) == ["model.bin"]


def test_bad_mode_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="mode"):
        with atomic_write(tmp_path / "x", "a"):
            pass
    assert _folder_names(tmp_path) == []


def test_missing_folder_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write_bytes(tmp_path / "no" / "such" / "file.bin", b"x")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_permissions_follow_umask_then_existing_file(tmp_path):
    path = tmp_path / "perm.bin"
    old_umask = os.umask(0o022)
    try:
        atomic_write_bytes(path, b"x")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    os.chmod(path, 0o600)
    atomic_write_bytes(path, b"y")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


# The writer loads chainrule/atomic.py by path so it starts fast (no numpy import). Each
# generation g writes SIZE bytes all equal to g % 256, in chunks so a kill can land mid-write.
_WRITER = r"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("atomic", sys.argv[1])
atomic = importlib.util.module_from_spec(spec)
spec.loader.exec_module(atomic)
path, size = sys.argv[2], int(sys.argv[3])
chunk = 1 << 16
generation = 1
while True:
    with atomic.atomic_write(path) as handle:
        block = bytes([generation % 256]) * chunk
        for _ in range(size // chunk):
            handle.write(block)
    if generation == 1:
        print("ready", flush=True)
    generation += 1
"""

_SIZE = 1 << 21  # 2 MiB


def _assert_whole_generation(path):
    content = path.read_bytes()
    assert len(content) == _SIZE, f"final file has {len(content)} bytes, expected {_SIZE}"
    first = content[0]
    assert content.count(bytes([first])) == _SIZE, "final file mixes two generations"


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_sigkill_mid_write_never_damages_final_file(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(bytes([0]) * _SIZE)
    chooser = random.Random(7)
    for _ in range(8):
        writer = subprocess.Popen(
            [sys.executable, "-c", _WRITER, atomic.__file__, str(path), str(_SIZE)],
            stdout=subprocess.PIPE,
        )
        try:
            assert writer.stdout.readline().strip() == b"ready"
            time.sleep(chooser.uniform(0.0, 0.05))
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait()
            writer.stdout.close()
        assert writer.returncode == -signal.SIGKILL
        _assert_whole_generation(path)
        # A killed writer may leave its temporary file; it never carries the final name.
        for name in _folder_names(tmp_path):
            assert name == "big.bin" or (name.startswith(".big.bin.") and name.endswith(".tmp"))


def test_a_full_disk_names_the_final_path_and_keeps_the_old_file(tmp_path, monkeypatch):
    import errno

    path = tmp_path / "model.safetensors"
    atomic_write_bytes(path, b"old")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(OSError) as caught:
        atomic_write_bytes(path, b"new")
    assert caught.value.errno == errno.ENOSPC
    assert str(caught.value) == f"[Errno 28] No space left on device: '{path}'"
    assert path.read_bytes() == b"old"
    assert _folder_names(tmp_path) == ["model.safetensors"]


def test_a_missing_folder_names_the_final_path(tmp_path):
    path = tmp_path / "no-such-folder" / "model.safetensors"
    with pytest.raises(FileNotFoundError) as caught:
        atomic_write_bytes(path, b"data")
    assert caught.value.filename == str(path)


def test_an_error_about_another_file_is_left_as_it_is(tmp_path):
    path = tmp_path / "out.bin"
    with pytest.raises(FileNotFoundError) as caught, atomic_write(path) as handle:
        handle.write((tmp_path / "missing-input").read_bytes())
    assert caught.value.filename == str(tmp_path / "missing-input")
    assert _folder_names(tmp_path) == []


def test_background_writer_runs_jobs_in_order_and_waits(tmp_path):
    writer = atomic.BackgroundWriter()
    done = []

    def slow_first():
        time.sleep(0.05)
        done.append("first")

    writer.submit(slow_first)
    writer.submit(lambda: done.append("second"))
    assert done[0] == "first"  # submit waited for the first job to finish
    writer.wait()
    assert done == ["first", "second"]


def test_background_writer_raises_a_failed_job_error_once(tmp_path):
    writer = atomic.BackgroundWriter()
    writer.submit(lambda: atomic_write_bytes(tmp_path / "no" / "such" / "out.bin", b"x"))
    with pytest.raises(FileNotFoundError, match="out.bin"):
        writer.wait()
    writer.wait()  # reported once
    writer.submit(lambda: atomic_write_bytes(tmp_path / "ok.bin", b"x"))
    writer.wait()
    assert (tmp_path / "ok.bin").read_bytes() == b"x"


def test_background_writer_close_waits_then_ends_its_thread(tmp_path):
    import threading

    before = {t.ident for t in threading.enumerate()}
    writer = atomic.BackgroundWriter()
    started = [t for t in threading.enumerate() if t.ident not in before]
    assert [t.name.startswith("chainrule-writer") for t in started] == [True]  # at once
    done = []
    writer.submit(lambda: (time.sleep(0.05), done.append("written")))
    writer.close()
    assert done == ["written"]
    started[0].join(timeout=5)
    assert not started[0].is_alive()


def test_background_writer_close_raises_a_failed_job_error(tmp_path):
    writer = atomic.BackgroundWriter()
    writer.submit(lambda: atomic_write_bytes(tmp_path / "no" / "such" / "out.bin", b"x"))
    with pytest.raises(FileNotFoundError, match="out.bin"):
        writer.close()
