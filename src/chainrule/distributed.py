"""Data parallelism over MPI (mpi4py): the processes of one `mpiexec -n N` job train together.

    mpiexec -n 2 python train.py          # cr.fit(...) inside shards every batch by itself

For a hand-written loop: `broadcast_parameters(model)` once, each process its slice of every
batch, and `average_gradients(model.parameters())` after backward, before the optimizer step.

Whether this process was started by an MPI launcher with several processes is read from the
launcher's environment variables; mpi4py is imported (and MPI initialised) only then, so a
plain run pays nothing. `pip install "chainrule[mpi]"` installs mpi4py with the `mpich`
wheel, whose `mpiexec` lands in the environment's bin/.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np

from .engine.backend import array_like, is_device_array, to_host
from .engine.primitive import primitive
from .engine.tensor import ChainruleError

__all__ = [
    "DistributedError",
    "average_gradients",
    "broadcast",
    "broadcast_parameters",
    "gather_rows",
    "is_distributed",
    "rank",
    "sum_over_ranks",
    "synchronized_batch_norm",
    "world_size",
]

# The number of processes, as each launcher tells it: MPICH/Hydra and Intel MPI (PMI),
# Open MPI, MVAPICH. A PMIx launcher (Open MPI 5's prterun, Slurm's srun --mpi=pmix) sets
# PMIX_RANK but no size: then MPI itself is asked.
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
_PMIX_VARIABLE = "PMIX_RANK"

_comm = None
_size = None
_sync_batch_norm = False


class DistributedError(ChainruleError, RuntimeError):
    """Data-parallel training was asked for where it cannot run."""


def launched_size() -> int | None:
    """The process count the launcher's environment gives, 1 for a plain run, None when a
    PMIx launcher started this process (only MPI knows the count)."""
    for name in _SIZE_VARIABLES:
        value = os.environ.get(name)
        if value is not None and value.strip().isdigit():
            return int(value)
    return None if _PMIX_VARIABLE in os.environ else 1


def communicator():
    """MPI.COMM_WORLD, importing mpi4py on first use; DistributedError without it."""
    global _comm
    if _comm is None:
        try:
            from mpi4py import MPI
        except ImportError as exc:
            raise DistributedError(
                f"data-parallel training needs mpi4py ({exc}); install it with "
                'pip install "chainrule[mpi]"'
            ) from None
        _comm = MPI.COMM_WORLD
    return _comm


def world_size() -> int:
    """How many processes train together (1 outside an MPI launch)."""
    global _size
    if _size is None:  # asked once: a launch does not change while the process runs
        size = launched_size()
        _size = communicator().Get_size() if size is None or size > 1 else 1
    return _size


def rank() -> int:
    """This process's number, 0 to world_size() - 1 (0 outside an MPI launch)."""
    return communicator().Get_rank() if world_size() > 1 else 0


def is_distributed() -> bool:
    return world_size() > 1


def _mpi():
    from mpi4py import MPI

    return MPI


def broadcast(array: np.ndarray, root: int = 0) -> np.ndarray:
    """`array` overwritten in place by root's copy (a contiguous array; returned)."""
    if world_size() > 1:
        communicator().Bcast(array, root=root)
    return array


def broadcast_parameters(model, root: int = 0) -> None:
    """Every parameter and buffer of `model` (a Module) set to root's values, in place."""
    if world_size() == 1:
        return
    arrays = [p.data for p in model.parameters()] + list(model.buffers())
    for array in arrays:
        if array.flags.c_contiguous:
            broadcast(array, root)
        else:
            array[...] = broadcast(np.ascontiguousarray(array), root)


def average_gradients(params, share: float | None = None, optimizer=None) -> None:
    """Each parameter's .grad replaced by the mean over processes, in place.

    share is this process's weight in the mean: its rows over the global batch's rows (its
    gradient is that of its rows' mean loss), so uneven slices still give the exact mean of
    the global batch; None is 1/world_size() (equal slices). One Allreduce per dtype over a
    flat buffer: the optimizer's own when it says the gradients are its views (the compiled
    step writes them so; pass `optimizer`), else a buffer gathered here and copied back (each
    .grad stays the same array). A parameter without a gradient counts as zeros. A no-op with
    one process.
    """
    size = world_size()
    if size == 1:
        return
    share = 1.0 / size if share is None else float(share)
    params = [p for p in params if p.requires_grad]
    for p in params:
        if p.grad is None:
            p.grad = np.zeros_like(p.data)
    for dtype in sorted({p.grad.dtype for p in params}, key=str):
        group = [p for p in params if p.grad.dtype == dtype]
        _flat_reducer().reduce(group, share, optimizer)


class _FlatReducer:
    """Allreduce over the one flat buffer that a list of gradients tiles, or over a gathered
    copy; the buffers are kept from step to step."""

    def __init__(self):
        self._gathered = {}  # dtype -> a buffer of our own

    def reduce(self, params, share, optimizer=None):
        grads = [p.grad for p in params]
        flat = getattr(optimizer, "flat_buffers", lambda params: None)(params)
        buffer = None if flat is None else flat.current_grad()
        if buffer is not None:
            _allreduce_scaled(buffer, share)
            return
        size = sum(g.size for g in grads)
        buffer = self._gathered.get(grads[0].dtype)
        if buffer is None or buffer.size != size:
            buffer = self._gathered[grads[0].dtype] = np.empty(size, grads[0].dtype)
        np.concatenate([g.ravel() for g in grads], out=buffer)
        _allreduce_scaled(buffer, share)
        start = 0
        for g in grads:
            g[...] = buffer[start : start + g.size].reshape(g.shape)
            start += g.size


def _allreduce_scaled(buffer, share):
    """buffer ← Σ over processes of share · buffer, in place."""
    buffer *= share
    communicator().Allreduce(_mpi().IN_PLACE, buffer, op=_mpi().SUM)


_reducer = None


def _flat_reducer() -> _FlatReducer:
    global _reducer
    if _reducer is None:
        _reducer = _FlatReducer()
    return _reducer


def sum_scalar(value: float) -> float:
    """The sum of one float over all processes."""
    if world_size() == 1:
        return float(value)
    buffer = np.array([value], np.float64)
    communicator().Allreduce(_mpi().IN_PLACE, buffer, op=_mpi().SUM)
    return float(buffer[0])


def gather_rows(array: np.ndarray) -> np.ndarray:
    """Every process's rows of `array`, concatenated in rank order, on every process."""
    if world_size() == 1:
        return array
    array = np.ascontiguousarray(array)
    comm = communicator()
    counts = np.empty(comm.Get_size(), np.int64)
    comm.Allgather(np.array([array.size], np.int64), counts)
    out = np.empty(int(counts.sum()), array.dtype)
    comm.Allgatherv(array.ravel(), [out, counts])
    rows = counts // max(1, int(np.prod(array.shape[1:])))
    return out.reshape(int(rows.sum()), *array.shape[1:])


# --- synchronized BatchNorm -----------------------------------------------------------------
@contextlib.contextmanager
def synchronized_batch_norm(enabled: bool = True):
    """Within it, BatchNorm in training mode normalizes by the statistics of the global batch
    (sums and sums of squares reduced over processes), so N processes compute what one
    process would on the whole batch."""
    global _sync_batch_norm
    before, _sync_batch_norm = _sync_batch_norm, bool(enabled) and world_size() > 1
    try:
        yield
    finally:
        _sync_batch_norm = before


def batch_norm_is_synchronized() -> bool:
    return _sync_batch_norm


@primitive
def sum_over_ranks(x, *, rows):
    """[x summed over processes..., the global rows]: x is this process's per-channel sums
    over its `rows` rows (static); the last entry is the sum of every process's rows."""
    # MPI reduces host memory: a GPU's sums make a round trip (a few numbers per channel).
    host = to_host(x)
    buffer = np.concatenate([np.ravel(host), [rows]]).astype(np.result_type(host, np.float32))
    if world_size() > 1:
        communicator().Allreduce(_mpi().IN_PLACE, buffer, op=_mpi().SUM)
    return array_like(buffer, x) if is_device_array(x) else buffer


@sum_over_ranks.vjp
def _(g, out, x, *, rows):
    # Each process's upstream gradient is that of its own rows' mean loss; fit weighs those by
    # share = rows / global rows, so the reduced gradient is weighted the same way, then
    # divided by this process's share (average_gradients multiplies it back).
    share = rows / to_host(out)[-1]
    grad = np.ascontiguousarray(to_host(g[:-1]) * share)
    if world_size() > 1:
        communicator().Allreduce(_mpi().IN_PLACE, grad, op=_mpi().SUM)
    grad = (grad / share).reshape(np.shape(x))
    return (array_like(grad, x) if is_device_array(x) else grad,)
