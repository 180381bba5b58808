"""explain(): the hand-computed backprop agrees with PyTorch, autodiff and central differences."""

import json

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.explain import ExplainError, explain

CASES = [  # sizes, hidden, output, loss, examples
    ((2, 2, 1), "sigmoid", "sigmoid", "bce", None),
    ((2, 2, 1), "sigmoid", "sigmoid", "bce", [0, 1, 2, 3]),
    ((3, 4, 3), "tanh", "softmax", "ce", [0, 1, 2]),
    ((2, 3, 2, 1), "relu", "identity", "mse", [0, 1, 2, 3]),
    ((2, 3, 2), "sigmoid", "identity", "mse_half", [1, 3]),
    ((2, 3, 1), "tanh", "sigmoid", "mse", [0, 2]),
    ((3, 4, 3), "sigmoid", "softmax", "mse", [0, 1]),
]


def _torch_activation(name, z):
    if name == "softmax":
        return torch.softmax(z, dim=0)
    return z if name == "identity" else getattr(torch, name)(z)


def _torch_objective(loss, y_hat, y):
    if loss == "bce":
        per_example = -(y * y_hat.log() + (1 - y) * (1 - y_hat).log()).sum(0)
    elif loss == "ce":
        per_example = -(y * y_hat.log()).sum(0)
    elif loss == "mse":
        per_example = ((y_hat - y) ** 2).mean(0)
    else:
        per_example = 0.5 * ((y_hat - y) ** 2).sum(0)
    return per_example.mean()


def _torch_trace(result):
    """z's gradients (retain_grad), parameter gradients and one torch.optim.SGD step."""
    weights = [torch.tensor(lay.W, requires_grad=True) for lay in result.layers]
    biases = [torch.tensor(lay.b, requires_grad=True) for lay in result.layers]
    a, zs = torch.tensor(result.x), []
    for W, b, layer in zip(weights, biases, result.layers):
        z = W @ a + b
        z.retain_grad()
        zs.append(z)
        a = _torch_activation(layer.activation, z)
    J = _torch_objective(result.loss, a, torch.tensor(result.y))
    J.backward()
    sgd = torch.optim.SGD(weights + biases, lr=result.lr)
    sgd.step()
    return J.item(), zs, weights, biases


def _close(ours, theirs):
    np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("sizes, hidden, output, loss, examples", CASES)
def test_numbers_agree_with_torch(sizes, hidden, output, loss, examples):
    result = explain(sizes, hidden, output, loss, examples=examples, lr=0.3, seed=3)
    J, zs, weights, biases = _torch_trace(result)
    _close(result.loss_value, J)
    m = result.m
    for layer, z, W, b in zip(result.layers, zs, weights, biases):
        _close(layer.z, z.detach().numpy())
        _close(layer.delta, m * z.grad.numpy())  # ∂J/∂z(ℓ) = δ(ℓ)/m
        _close(layer.dW, W.grad.numpy())
        _close(layer.db, b.grad.numpy())
        _close(layer.W_new, W.detach().numpy())
        _close(layer.b_new, b.detach().numpy())
    assert result.passed, result.render("text")


def _cr_activation(name, z):
    if name == "softmax":
        return z.softmax(axis=0)
    return z if name == "identity" else getattr(z, name)()


def _cr_objective(loss, y_hat, y):
    if loss == "bce":
        per_example = -(y * y_hat.log() + (1.0 - y) * (1.0 - y_hat).log()).sum(axis=0)
    elif loss == "ce":
        per_example = -(y * y_hat.log()).sum(axis=0)
    else:
        per_example = ((y_hat - y) * (y_hat - y)).mean(axis=0)
    return per_example.mean()


@pytest.mark.parametrize("sizes, hidden, output, loss, examples", CASES[:4])
def test_gradients_agree_with_cr_gradcheck(sizes, hidden, output, loss, examples):
    """The engine's gradients pass cr.gradcheck, and explain's hand gradients equal them."""
    result = explain(sizes, hidden, output, loss, examples=examples, seed=1)
    for position, layer in enumerate(result.layers):

        def objective(W, b, position=position):
            a = cr.tensor(result.x)
            for i, other in enumerate(result.layers):
                Wl, bl = (W, b) if i == position else (cr.tensor(other.W), cr.tensor(other.b))
                a = _cr_activation(other.activation, Wl @ a + bl)
            return _cr_objective(loss, a, cr.tensor(result.y))

        W = cr.tensor(layer.W.copy(), requires_grad=True)
        b = cr.tensor(layer.b.copy(), requires_grad=True)
        assert cr.gradcheck(objective, W, b, atol=1e-8, rtol=1e-6)
        objective(W, b).backward()
        _close(layer.dW, W.grad)
        _close(layer.db, b.grad)


def test_checks_cover_every_quantity_against_both_oracles():
    result = explain()
    names = {(c.quantity, c.oracle) for c in result.checks}
    for n in (1, 2):
        for q in (f"δ({n})", f"∂L/∂W({n})", f"∂L/∂b({n})"):
            assert (q, "autodiff") in names and (q, "central differences") in names
        assert (f"z({n})", "autodiff") in names and (f"a({n})", "autodiff") in names
    assert all(c.max_abs_error < 1e-7 for c in result.checks)


def test_checks_catch_a_wrong_number():
    result = explain()
    result.layers[0].dW[0, 0] += 1e-3
    from chainrule.explain.checks import run_checks

    failed = {c.quantity for c in run_checks(result) if not c.passed}
    assert failed == {"∂L/∂W(1)"}


def test_default_is_xor_2_2_1_sigmoid_one_example():
    result = explain()
    assert result.sizes == (2, 2, 1) and result.m == 1
    assert result.hidden_activation == result.output_activation == "sigmoid"
    x = result.x[:, 0].tolist()
    assert x in cr.explain.XOR_X.tolist()
    assert result.y[0, 0] == float(x[0] != x[1])
    assert result.pairing == "exact" and result.delta_rule == "δ(L) = ŷ − y"
    _close(result.layers[-1].delta, result.layers[-1].a - result.y)


def test_text_and_markdown_have_every_section():
    result = explain()
    text, markdown = result.render("text"), result.render("markdown")
    for title in ("Parameters", "Forward pass", "Backward pass", "Gradient-descent update",
                  "Checks"):
        assert f"\n{title}" in text
        assert f"\n## {title}" in markdown
    for formula in ("z(1) = W(1) a(0) + b(1)", "δ(2) = ŷ − y",
                    "δ(1) = (W(2)ᵀ δ(2)) ⊙ sigmoid′(z(1))", "∂L/∂W(1) = δ(1) a(0)ᵀ",
                    "∂L/∂b(2) = δ(2)"):
        assert formula in text and formula in markdown
    assert "Every number agrees" in text and "| quantity |" in markdown
    assert str(result) == text


def test_json_parses_and_holds_the_numbers():
    result = explain(examples=[0, 1, 2, 3])
    data = json.loads(result.render("json"))
    assert data["network"]["sizes"] == [2, 2, 1] and data["batch_size"] == 4
    assert data["all_checks_passed"] is True
    _close(np.array(data["backward"]["layers"][0]["delta"]), result.layers[-1].delta)
    _close(np.array(data["forward"][0]["z"]), result.layers[0].z)
    _close(np.array(data["update"]["layers"][1]["W"]), result.layers[1].W_new)
    assert data["update"]["loss_after"] == result.loss_after
    assert "(1/m) δ(1) a(0)ᵀ" in result.render("text")


@pytest.mark.parametrize("output, loss, pairing, rule", [
    ("sigmoid", "bce", "exact", "δ(L) = ŷ − y"),
    ("softmax", "ce", "exact", "δ(L) = ŷ − y"),
    ("identity", "mse_half", "exact", "δ(L) = ŷ − y"),
    ("identity", "mse", "scaled", "δ(L) = (2/2)(ŷ − y)"),
    ("sigmoid", "mse", "general", "sigmoid′(z(L))"),
    ("softmax", "bce", "general", "ŷ ⊙ (g − ŷᵀg)"),
])
def test_says_which_delta_is_used(output, loss, pairing, rule):
    result = explain((2, 3, 2), "tanh", output, loss, examples=[0, 1])
    assert result.pairing == pairing and rule in result.delta_rule
    text = result.render("text")
    assert result.delta_rule in text
    assert result.delta_note[1:] in text
    assert ("not" in result.delta_note) == (pairing != "exact")
    assert result.passed


def test_identity_mse_single_output_states_factor_two():
    result = explain((2, 2, 1), "sigmoid", "identity", "mse")
    assert result.delta_rule == "δ(L) = 2(ŷ − y)"
    _close(result.layers[-1].delta, 2 * (result.layers[-1].a - result.y))


def test_one_step_lowers_the_loss_with_a_small_rate():
    result = explain(examples=[0, 1, 2, 3], lr=0.1)
    assert result.loss_after < result.loss_value


def test_given_params_and_data():
    W1, b1 = np.array([[1.0, -1.0], [0.5, 2.0]]), np.array([0.0, 0.1])
    W2, b2 = np.array([[1.5, -0.5]]), np.array([0.2])
    result = explain(params=[(W1, b1), (W2, b2)], X=[[1.0, 2.0]], y=[1.0])
    _close(result.layers[0].z[:, 0], W1 @ [1.0, 2.0] + b1)
    assert result.passed


@pytest.mark.parametrize("kwargs, message", [
    (dict(output="identity", loss="bce"), "needs outputs in (0, 1)"),
    (dict(loss="hinge"), "unknown loss"),
    (dict(activation="swish"), "unknown activation"),
    (dict(examples=[7]), "out of range"),
    (dict(sizes=(3, 2, 1), X=[[0.0, 1.0]], y=[1.0]), "2 features"),
    (dict(params=[(np.zeros((3, 2)), np.zeros(3)), (np.zeros((1, 3)), np.zeros(1))]),
     "layer 1 needs W (2, 2)"),
])
def test_bad_input_is_named(kwargs, message):
    with pytest.raises(ExplainError, match=message.replace("(", r"\(").replace(")", r"\)")):
        explain(**kwargs)


def test_unknown_format():
    with pytest.raises(ExplainError, match="unknown format"):
        explain().render("html")
