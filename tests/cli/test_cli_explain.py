"""`chainrule explain`: its numbers recomputed here with PyTorch's autograd and with central
differences, from the weights and data it prints (JSON)."""

import json

import numpy as np
import pytest
import torch

ACTIVATE = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
            "identity": lambda z: z, "softmax": lambda z: torch.softmax(z, dim=0)}


def per_example_loss(loss, y_hat, y):
    if loss == "bce":
        return -(y * torch.log(y_hat) + (1 - y) * torch.log(1 - y_hat)).sum(dim=0)
    if loss == "ce":
        return -(y * torch.log(y_hat)).sum(dim=0)
    if loss == "mse":
        return ((y_hat - y) ** 2).mean(dim=0)
    return 0.5 * ((y_hat - y) ** 2).sum(dim=0)


def forward(trace, Ws, bs):
    """z(ℓ), a(ℓ) and the objective J = mean over examples, examples as columns."""
    net = trace["network"]
    a = torch.tensor(trace["x"], dtype=torch.float64)
    y = torch.tensor(trace["y"], dtype=torch.float64)
    zs, acts = [], []
    for i, (W, b) in enumerate(zip(Ws, bs)):
        z = W @ a + b
        last = i == len(Ws) - 1
        a = ACTIVATE[net["output_activation"] if last else net["hidden_activation"]](z)
        zs.append(z)
        acts.append(a)
    return zs, acts, per_example_loss(net["loss"], a, y).mean()


def parameters(trace, key="parameters"):
    layers = trace[key] if key == "parameters" else trace["update"]["layers"]
    Ws = [torch.tensor(l["W"], dtype=torch.float64, requires_grad=True) for l in layers]
    bs = [torch.tensor(l["b"], dtype=torch.float64, requires_grad=True) for l in layers]
    return Ws, bs


def central_difference(trace, Ws, bs, which, index, eps=1e-6):
    def J(shift):
        Wc = [W.detach().clone() for W in Ws]
        bc = [b.detach().clone() for b in bs]
        target = Wc if which == "W" else bc
        target[index[0]][index[1:]] += shift
        return forward(trace, Wc, bc)[2].item()
    return (J(eps) - J(-eps)) / (2 * eps)


def run_explain(run_main, *argv):
    code, out, err = run_main("explain", "--format", "json", *argv)
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("argv", [
    [],
    ["--examples", "0,1,2,3"],
    ["--sizes", "2,3,2", "--activation", "tanh", "--loss", "ce", "--examples", "0,1,2,3"],
    ["--sizes", "3,4,2", "--activation", "relu", "--loss", "mse_half", "--seed", "3"],
    ["--loss", "mse", "--lr", "0.1"],
])
def test_numbers_agree_with_torch_and_central_differences(run_main, argv):
    trace = run_explain(run_main, *argv)
    assert trace["all_checks_passed"] is True
    Ws, bs = parameters(trace)
    zs, acts, J = forward(trace, Ws, bs)
    J.backward()
    assert trace["loss"] == pytest.approx(J.item(), rel=1e-12)
    for layer, z, a in zip(trace["forward"], zs, acts):
        np.testing.assert_allclose(layer["z"], z.detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(layer["a"], a.detach().numpy(), rtol=1e-12, atol=1e-14)
    backward = {l["layer"]: l for l in trace["backward"]["layers"]}
    lr = trace["update"]["lr"]
    for i, (W, b) in enumerate(zip(Ws, bs)):
        mine = backward[i + 1]
        np.testing.assert_allclose(mine["dW"], W.grad.numpy(), rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(mine["db"], b.grad.numpy(), rtol=1e-10, atol=1e-13)
        for index in np.ndindex(W.shape):
            numeric = central_difference(trace, Ws, bs, "W", (i, *index))
            assert mine["dW"][index[0]][index[1]] == pytest.approx(numeric, abs=1e-8)
        new = trace["update"]["layers"][i]
        np.testing.assert_allclose(new["W"], (W - lr * W.grad).detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(new["b"], (b - lr * b.grad).detach().numpy(), rtol=1e-12)
    new_Ws, new_bs = parameters(trace, "update")
    assert trace["update"]["loss_after"] == pytest.approx(
        forward(trace, new_Ws, new_bs)[2].item(), rel=1e-12)


def test_text_uses_the_texts_notation(run_main):
    code, out, _ = run_main("explain")
    assert code == 0
    for formula in ("z(1) = W(1) a(0) + b(1)", "δ(2) = ŷ − y", "∂L/∂W(1) = δ(1) a(0)ᵀ",
                    "δ(1) = (W(2)ᵀ δ(2)) ⊙ sigmoid′(z(1))", "W(1) ← W(1) − η ∂L/∂W(1)"):
        assert formula in out
    assert "agrees with autodiff and central differences" in out


def test_says_when_delta_is_not_y_hat_minus_y(run_main):
    code, out, _ = run_main("explain", "--loss", "mse", "--format", "markdown")
    assert code == 0
    assert "| formula | value |" in out
    assert "not ŷ − y" in out


def test_bad_configuration_is_one_line(run_main):
    code, _, err = run_main("explain", "--loss", "bce", "--output", "identity")
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "identity" in err


def test_writes_a_file(run_main, tmp_path):
    path = tmp_path / "trace.md"
    code, out, _ = run_main("explain", "--format", "markdown", "--out", path)
    assert code == 0 and out == ""
    assert path.read_text(encoding="utf-8").startswith("# Backpropagation")
