"""trajectory.safetensors: the weights after each epoch of a `chainrule train` run, kept so
that `chainrule landscape --model` can project the path onto its PCA plane."""

from __future__ import annotations

import os

__all__ = ["TRAJECTORY_FILE", "load_trajectory", "save_trajectory"]

TRAJECTORY_FILE = "trajectory.safetensors"


def _key(snapshot: int, parameter: int) -> str:
    return f"{snapshot:05d}.{parameter:03d}"


def save_trajectory(folder: str, snapshots: list, resumed: bool) -> None:
    """Write the snapshots (lists of parameter arrays); a resumed run appends to the
    snapshots already in the folder (its first snapshot repeats their last one)."""
    from ..io import save_state_dict

    path = os.path.join(folder, TRAJECTORY_FILE)
    if resumed and os.path.exists(path):
        snapshots = load_trajectory(path)[:-1] + list(snapshots)
    state = {
        _key(i, j): array for i, weights in enumerate(snapshots) for j, array in enumerate(weights)
    }
    save_state_dict(state, path, metadata={"snapshots": len(snapshots)})


def load_trajectory(path) -> list:
    from ..io import load_state_dict

    arrays = load_state_dict(path)
    snapshots: dict[int, dict[int, object]] = {}
    for key, array in arrays.items():
        snapshot, parameter = (int(part) for part in key.split("."))
        snapshots.setdefault(snapshot, {})[parameter] = array
    return [[weights[j] for j in sorted(weights)] for _, weights in sorted(snapshots.items())]
