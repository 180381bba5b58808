"""Two ranks as two hosts: network namespaces joined by a veth pair, MPI over TCP on that link.

Each "host" is a network namespace with its own address and (through the launcher) its own
hostname; mpiexec runs in the first, reads a hostfile with the two addresses, and starts the
second host's proxy through a launcher script standing in for ssh. UCX_TLS=tcp,self keeps
MPICH's UCX from using shared memory between the two, so every byte between ranks crosses
the veth link — the test checks that each side sent at least its gradients' bytes on it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from test_distributed import MPIEXEC, WORKER, assert_same_run, plain_env, train

ADDRESSES = ("10.77.0.1", "10.77.0.2")
LAUNCHER = """#!/bin/sh
# Hydra's ssh launcher calls: launcher -x HOST "COMMAND" ARGS... ; run it on HOST's namespace.
[ "$1" = "-x" ] && shift
host=$1; shift
case $host in {a}) ns={ns_a} ;; {b}) ns={ns_b} ;; *) echo "unknown host $host" >&2; exit 2 ;; esac
exec ip netns exec "$ns" unshare --uts sh -c "hostname $ns; $*"
"""


def _ip(*args):
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)


def _cannot_make_namespaces() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root (this test runs as another user)"
    if not shutil.which("ip") or not shutil.which("unshare"):
        return "the `ip` (iproute2) and `unshare` commands are not installed"
    return None


@pytest.fixture
def two_hosts(tmp_path):
    """(namespaces, interfaces, launcher script, hostfile); removed afterwards."""
    why = _cannot_make_namespaces()
    if why:
        pytest.skip(f"two hosts cannot be made here: {why}")
    tag = f"{os.getpid() % 100000}"
    names, links = (f"cr{tag}a", f"cr{tag}b"), (f"crv{tag}a", f"crv{tag}b")
    commands = [("netns", "add", names[0]), ("netns", "add", names[1]),
                ("link", "add", links[0], "type", "veth", "peer", "name", links[1])]
    for ns, link, address in zip(names, links, ADDRESSES):
        commands += [("link", "set", link, "netns", ns),
                     ("-n", ns, "addr", "add", f"{address}/24", "dev", link),
                     ("-n", ns, "link", "set", link, "up"), ("-n", ns, "link", "set", "lo", "up")]
    try:
        for command in commands:
            done = _ip(*command)
            if done.returncode != 0:
                pytest.skip(f"two hosts cannot be made here: ip {' '.join(command)}: "
                            f"{done.stderr.strip()}")
        launcher = tmp_path / "launcher.sh"
        launcher.write_text(LAUNCHER.format(a=ADDRESSES[0], b=ADDRESSES[1], ns_a=names[0],
                                            ns_b=names[1]))
        launcher.chmod(0o755)
        hostfile = tmp_path / "hosts"
        hostfile.write_text("".join(f"{address}:1\n" for address in ADDRESSES))
        yield names, links, launcher, hostfile
    finally:
        for ns in names:
            _ip("netns", "del", ns)  # deleting a namespace deletes its end of the veth pair


def _sent_bytes(ns, link) -> int:
    done = subprocess.run(["ip", "netns", "exec", ns, "cat",
                           f"/sys/class/net/{link}/statistics/tx_bytes"],
                          capture_output=True, text=True, timeout=30, check=True)
    return int(done.stdout)


def test_two_hosts_over_tcp_reproduce_one_process(tmp_path, two_hosts):
    names, links, launcher, hostfile = two_hosts
    config = {"batchnorm": True, "optimizer": "Adam", "epochs": 4}
    out = tmp_path / "two-hosts.npz"
    before = [_sent_bytes(ns, link) for ns, link in zip(names, links)]
    done = subprocess.run(
        ["ip", "netns", "exec", names[0], str(MPIEXEC), "-genv", "UCX_TLS", "tcp,self",
         "-f", str(hostfile), "-n", "2", "-launcher", "ssh", "-launcher-exec", str(launcher),
         "-localhost", ADDRESSES[0], sys.executable, str(WORKER), str(out), json.dumps(config)],
        capture_output=True, text=True, timeout=120, env=plain_env())
    assert done.returncode == 0, done.stderr[-3000:]
    sent = [_sent_bytes(ns, link) - b for ns, link, b in zip(names, links, before)]
    with np.load(out) as results:
        many = {key: results[key] for key in results.files}
    gradient_bytes = sum(v.size for k, v in many.items() if k.startswith("model.")
                         and "running" not in k and "num_batches" not in k) * 8
    steps = 4 * 4  # 61 rows in global batches of 16, 4 epochs
    assert min(sent) >= steps * gradient_bytes, (sent, steps * gradient_bytes)
    assert_same_run(train(tmp_path, 0, **config), many, 2)
