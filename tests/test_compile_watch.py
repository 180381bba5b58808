"""What a compiled step's recordings assume of the model (compile/watch.py): a replaced
parameter or sub-module, a module added to a list, or a switched mode of one sub-module makes
the step record anew, for a Sequential and for a custom Module, and the step keeps computing
what the eager step computes; nothing else makes it walk the model again."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.compile import compile_step
from chainrule.nn import functional as F
from chainrule.nn.module import attribute_changes


class MLP(nn.Module):
    """Linear, ReLU, Linear from a forward of its own: the fused kernels, as a Sequential."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class Doubling(nn.Module):
    """A forward that reads a sub-module's mode: doubles the hidden layer in training."""

    def __init__(self):
        super().__init__()
        self.hidden, self.gate, self.out = nn.Linear(6, 8), nn.Identity(), nn.Linear(8, 3)

    def forward(self, x):
        h = self.hidden(x).tanh()
        return self.out(h * 2.0 if self.gate.training else h)


MODELS = {
    "sequential": lambda: nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3)),
    "custom": MLP,
}


def data(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 6)), rng.integers(0, 3, n)


def layers_of(model):
    return model.layers if isinstance(model, MLP) else model


def eager_loss(model, X, y):
    return float(F.cross_entropy(model(cr.tensor(X)), cr.tensor(y)).data)


def compiled(make):
    cr.manual_seed(0)
    model = make().double()
    step = compile_step(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.0))
    X, y = data()
    for _ in range(4):
        step(X, y)
    assert step.compiled and step.replays >= 2
    return model, step, X, y


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_replaced_parameter_is_read_by_the_next_steps(name):
    model, step, X, y = compiled(MODELS[name])
    first = layers_of(model)[0]
    first.weight = nn.Parameter(np.full((16, 6), 0.25))
    first.bias = None
    losses = [step(X, y) for _ in range(4)]
    np.testing.assert_allclose(losses, eager_loss(model, X, y), rtol=1e-13)
    assert first.weight.grad is not None and step.compiled  # recorded anew, then replayed
    assert step.params == list(model.parameters())


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_replaced_or_appended_sub_module_is_read_by_the_next_steps(name):
    model, step, X, y = compiled(MODELS[name])
    layers = layers_of(model)
    cr.manual_seed(1)
    setattr(layers, "0", nn.Linear(6, 16).double())
    layers.append(nn.Tanh())
    losses = [step(X, y) for _ in range(4)]
    np.testing.assert_allclose(losses, eager_loss(model, X, y), rtol=1e-13)
    assert layers[0].weight.grad is not None


def test_switching_one_sub_modules_mode_selects_another_recording():
    model, step, X, y = compiled(Doubling)
    replays = step.replays
    doubled = eager_loss(model, X, y)
    model.gate.eval()  # only this sub-module: the forward reads its mode
    # In eval mode the forward is a plain MLP: the fused kernels (the same up to rounding).
    plain = eager_loss(model, X, y)
    assert abs(plain - doubled) > 1e-3
    np.testing.assert_allclose([step(X, y) for _ in range(3)], plain, rtol=1e-13)
    assert step.replays == replays + 1  # two recordings for the new mode, then a replay
    model.gate.train()
    assert step(X, y) == doubled
    assert step.replays == replays + 2  # the first mode's program is still there


def test_the_model_is_walked_again_only_after_an_attribute_changed(monkeypatch):
    model, step, X, y = compiled(MLP)
    walks = []
    original = type(step.watch).unchanged

    def counting(watch):
        before = watch._seen
        result = original(watch)
        if watch._seen != before:
            walks.append(result)
        return result

    monkeypatch.setattr(type(step.watch), "unchanged", counting)
    for _ in range(3):
        step(X, y)
    assert walks == []
    before = attribute_changes()
    model.layers[0].in_features = 6  # any attribute set: looked at again, nothing replaced
    assert attribute_changes() == before + 1
    step(X, y)
    assert walks == [True] and step.replays >= 5


@pytest.mark.parametrize("make", [
    lambda: nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3)),
    MLP,
])
def test_a_layer_frozen_after_compiling_is_left_alone_and_unfrozen_trains_again(make):
    """requires_grad set to False on compiled parameters: the step records again, without
    gradients for them (as in PyTorch), the same numbers as the eager loop; set back, it
    records again and trains them."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((12, 6)), rng.integers(0, 3, 12)
    runs = []
    for compiled in (True, False):
        cr.manual_seed(0)
        model = make().double()
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        step = compile_step(model, F.cross_entropy, opt)
        first = next(model.parameters())

        def train(steps):
            for _ in range(steps):
                if compiled:
                    step(X, y)
                else:
                    opt.zero_grad()
                    F.cross_entropy(model(cr.tensor(X)), cr.tensor(y)).backward()
                    opt.step()

        train(2)
        first.requires_grad = False
        frozen = first.data.copy()
        train(3)
        np.testing.assert_array_equal(first.data, frozen)
        assert first.grad is None
        first.requires_grad = True
        train(2)
        assert not np.array_equal(first.data, frozen)
        if compiled:
            assert step.compiled and step.replays > 0
        runs.append([p.data.copy() for p in model.parameters()])
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
