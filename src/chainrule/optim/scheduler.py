"""LRScheduler, the base of the torch-compatible schedulers in lr_scheduler.py."""

from __future__ import annotations

import copy

from .optimizer import Optimizer


class LRScheduler:
    """Base: subclasses give `lr_at(base_lr, step)`, the learning rate at a step."""

    # torch computes these schedules' first value from the lr the optimizer holds (its
    # "chainable" form): a scheduler made for a resumed optimizer keeps the resumed lr.
    scales_held_lr = False

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        resumed = last_epoch == -1 and all("initial_lr" in g for g in optimizer.param_groups)
        held = [group["lr"] for group in optimizer.param_groups]
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(
                    f"param 'initial_lr' is not specified in param_groups[{i}] "
                    "when resuming a scheduler with last_epoch >= 0"
                )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()
        if resumed and self.scales_held_lr:
            self._set_lrs([lr * self.lr_at(1.0, 0) for lr in held])

    def lr_at(self, base_lr, step):
        raise NotImplementedError

    def get_lr(self):
        """The learning rates of the groups at `last_epoch`."""
        return [self.lr_at(base_lr, self.last_epoch) for base_lr in self.base_lrs]

    def step(self):
        self.last_epoch += 1
        self._set_lrs(self.get_lr())

    def _set_lrs(self, lrs):
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = list(lrs)

    def get_last_lr(self):
        return list(self._last_lr)

    def state_dict(self):
        """Every attribute but the optimizer (numbers and lists: JSON-serialisable)."""
        return copy.deepcopy({k: v for k, v in self.__dict__.items() if k != "optimizer"})

    def load_state_dict(self, state_dict):
        self.__dict__.update(copy.deepcopy(state_dict))
