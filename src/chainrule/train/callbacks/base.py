"""The callback protocol: a handful of hooks, each given the one TrainingState.

fit() holds only the loop; history, logging, early stopping, checkpoints and monitoring are
callbacks. A hook a callback does not override costs nothing: CallbackList calls only the
overridden ones.
"""

from __future__ import annotations

__all__ = ["HOOKS", "Callback", "CallbackList"]

HOOKS = (
    "on_train_begin",
    "on_epoch_begin",
    "on_batch_begin",
    "on_after_backward",
    "on_batch_end",
    "on_epoch_end",
    "on_train_end",
)
PER_STEP_HOOKS = ("on_batch_begin", "on_after_backward", "on_batch_end")


class Callback:
    """Base class: override the hooks you need.

    on_after_backward runs after the gradients are computed and before they are clipped and
    applied, so a callback can read every parameter's .grad for the batch.

    rank_zero_only = True makes a callback that prints or writes files run on rank 0 alone
    when MPI processes train together (the others keep it, idle, so checkpoints match).

    `order` sorts callbacks (stable; lower first): fit's own logger runs first (-100) so that
    state.logs is complete at on_epoch_end, ModelCheckpoint last (100) so that a checkpoint
    holds every other callback's state after the hook.

    A callback with state that must survive a resume returns it from state_dict() (JSON
    values and ndarrays) and takes it back in load_state_dict().

    uses_hook(name) lets an instance decline a hook its class overrides (a per-step hook it
    does not need as configured), so that the hook is not called at every step for nothing.

    `needs_graph`: True for a callback that observes the forward pass itself (wraps module
    forwards, keeps intermediate tensors): fit then runs the eager step. Callbacks that read
    the loss, the output, the parameters and their .grad work with the compiled step.

    `step_interval`: None runs the per-step hooks (on_batch_begin, on_after_backward,
    on_batch_end) at every step; n runs them only at the steps where state.step % n == 0
    (state.step as on_batch_begin sees it; that step's on_batch_end sees it one higher), so
    a callback that samples a few steps is not called at the others. It is read once
    on_train_begin has run (a callback may set it there, e.g. from the epoch's length).
    """

    order = 0
    needs_graph = False
    step_interval: int | None = None
    rank_zero_only = False
    in_checkpoint = True  # False: a display, left out of checkpoints (a resume may differ)

    def on_train_begin(self, state): ...

    def on_epoch_begin(self, state): ...

    def on_batch_begin(self, state): ...

    def on_after_backward(self, state): ...

    def on_batch_end(self, state): ...

    def on_epoch_end(self, state): ...

    def on_train_end(self, state): ...

    def uses_hook(self, name: str) -> bool:
        return True

    def close(self) -> None:
        """Release what the callback holds (a progress bar, wrapped forwards); fit() calls it
        once when it returns or raises."""
        return None

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        return None


def _bound(callbacks, hook: str) -> list:
    """The bound `hook` of each callback that overrides it and uses it."""
    return [
        getattr(callback, hook)
        for callback in callbacks
        if getattr(type(callback), hook, None) is not getattr(Callback, hook)
        and callback.uses_hook(hook)
    ]


class CallbackList:
    """Callbacks sorted by `order`, with one list of bound hooks per hook name; on a rank
    other than 0, rank_zero_only callbacks get no hooks. The per-step lists hold, at each
    step, the hooks of the callbacks due then (Callback.step_interval)."""

    def __init__(self, callbacks, *, rank=0):
        self.callbacks = sorted(callbacks, key=lambda callback: callback.order)
        self.checkpointed = [c for c in self.callbacks if c.in_checkpoint]
        self._active = [
            c for c in self.callbacks if rank == 0 or not getattr(c, "rank_zero_only", False)
        ]
        for hook in HOOKS:
            setattr(self, "_" + hook, _bound(self._active, hook))
        self._intervals: list = []  # (callback, step_interval) of the sampling callbacks
        self._per_step: dict = {}  # which of them are due -> the per-step hook lists
        self._switch_at = None  # the next step whose due callbacks may differ

    def _schedule(self, state) -> None:
        """Read the callbacks' step_interval (once on_train_begin has run)."""
        intervals = [(c, getattr(c, "step_interval", None)) for c in self._active]
        self._intervals = [(c, every) for c, every in intervals if every and every > 1]
        self._per_step = {}
        self._switch_at = state.step if self._intervals else None

    def _switch(self, step: int) -> None:
        """Set the per-step hook lists for `step`, and the next step at which they change."""
        due = tuple(step % every == 0 for _, every in self._intervals)
        lists = self._per_step.get(due)
        if lists is None:
            skipped = [c for (c, _), now in zip(self._intervals, due) if not now]
            chosen = [c for c in self._active if not any(c is s for s in skipped)]
            lists = self._per_step[due] = [_bound(chosen, hook) for hook in PER_STEP_HOOKS]
        self._on_batch_begin, self._on_after_backward, self._on_batch_end = lists
        self._switch_at = (
            step + 1
            if any(due)
            else min(step + every - step % every for _, every in self._intervals)
        )

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)

    def keys(self) -> list[str]:
        """A stable name per checkpointed callback: '<position>.<class name>'."""
        return [f"{i}.{type(c).__name__}" for i, c in enumerate(self.checkpointed)]

    def on_train_begin(self, state):
        for hook in self._on_train_begin:
            hook(state)
        self._schedule(state)

    def on_epoch_begin(self, state):
        for hook in self._on_epoch_begin:
            hook(state)

    def on_batch_begin(self, state):
        if self._switch_at is not None and state.step >= self._switch_at:
            self._switch(state.step)
        for hook in self._on_batch_begin:
            hook(state)

    def on_after_backward(self, state):
        for hook in self._on_after_backward:
            hook(state)

    def on_batch_end(self, state):
        for hook in self._on_batch_end:
            hook(state)

    def on_epoch_end(self, state):
        for hook in self._on_epoch_end:
            hook(state)

    def on_train_end(self, state):
        for hook in self._on_train_end:
            hook(state)
