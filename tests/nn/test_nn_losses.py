"""Every loss, option and reduction against torch.nn.functional in float64, and gradcheck."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from nn_oracle import assert_close

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

REDUCTIONS = ["mean", "sum", "none"]


def as_torch(value, grad):
    if isinstance(value, np.ndarray):
        return torch.tensor(value, requires_grad=grad and value.dtype.kind == "f")
    return value


def compare(fn, torch_fn, differentiable, fixed=(), kwargs=None, torch_kwargs=None):
    """fn(*differentiable, *fixed, **kwargs) against torch: value and every input's gradient."""
    kwargs = kwargs or {}
    torch_kwargs = kwargs if torch_kwargs is None else torch_kwargs
    ours = [cr.tensor(x, requires_grad=True) for x in differentiable]
    theirs = [as_torch(x, True) for x in differentiable]
    out = fn(*ours, *fixed, **kwargs)
    out_t = torch_fn(*theirs, *[as_torch(f, False) for f in fixed], **{
        k: as_torch(v, False) for k, v in torch_kwargs.items()})
    upstream = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(upstream)
    out_t.backward(torch.from_numpy(upstream))
    assert_close(out.data, out_t, "loss value")
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert_close(a.grad, b.grad, f"gradient of input {i}")
    return out


def gradcheck(fn, *inputs):
    assert cr.gradcheck(fn, *inputs), cr.gradcheck(fn, *inputs)


PAIRS = [(F.mse_loss, TF.mse_loss), (F.l1_loss, TF.l1_loss)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ours, theirs", PAIRS, ids=["mse", "l1"])
def test_regression_losses(ours, theirs, reduction, rng):
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    compare(ours, theirs, [x, y], kwargs={"reduction": reduction})
    gradcheck(lambda a, b: ours(a, b, reduction=reduction), x, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("delta", [1.0, 0.5, 2.5])
def test_huber_loss(reduction, delta, rng):
    x, y = rng.standard_normal(40) * 2, rng.standard_normal(40)
    x[:2] = y[:2] + np.array([delta, -delta])  # exactly on the switch between the pieces
    kwargs = {"reduction": reduction, "delta": delta}
    compare(F.huber_loss, TF.huber_loss, [x, y], kwargs=kwargs)
    x2 = y[:6] + np.array([0.1, -0.2, 0.3, 3.0, -4.0, 5.0]) * delta
    gradcheck(lambda a, b: F.huber_loss(a, b, **kwargs), x2, y[:6])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(reduction, weighted, rng):
    p, y = rng.uniform(0.01, 0.99, (6, 2)), rng.uniform(0, 1, (6, 2))
    weight = rng.uniform(0.5, 2, (6, 2)) if weighted else None
    compare(F.binary_cross_entropy, TF.binary_cross_entropy, [p, y],
            kwargs={"weight": weight, "reduction": reduction})
    gradcheck(lambda a, b: F.binary_cross_entropy(a, b, weight, reduction), p, y)


def test_binary_cross_entropy_clamps_the_log_at_minus_100_like_torch():
    p = np.array([0.0, 1.0, 0.0, 1.0, 1e-50, 1 - 1e-17, 0.5])
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    compare(F.binary_cross_entropy, TF.binary_cross_entropy, [p, y],
            kwargs={"reduction": "none"})
    with pytest.raises(nn.LossError, match=r"\[0, 1\]"):
        F.binary_cross_entropy(cr.tensor(np.array([1.5])), cr.tensor(np.array([1.0])))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weighted", [False, True])
def test_binary_cross_entropy_with_logits(reduction, weighted, pos_weighted, rng):
    z, y = rng.standard_normal((6, 3)) * 4, rng.uniform(0, 1, (6, 3))
    z[0] = [60.0, -60.0, 800.0]  # saturated logits stay finite and exact
    weight = rng.uniform(0.5, 2, (6, 3)) if weighted else None
    pos_weight = rng.uniform(0.5, 3, 3) if pos_weighted else None
    kwargs = {"weight": weight, "reduction": reduction, "pos_weight": pos_weight}
    compare(F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits, [z, y],
            kwargs=kwargs)
    kwargs["weight"] = None if weight is None else weight[1:]  # gradcheck without row 0
    gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, **kwargs), z[1:], y[1:])


def test_binary_cross_entropy_with_logits_gradient_is_sigmoid_minus_y_over_m(rng):
    z, y = rng.standard_normal((4, 5)), (rng.uniform(size=(4, 5)) > 0.5) * 1.0
    logits = cr.tensor(z, requires_grad=True)
    F.binary_cross_entropy_with_logits(logits, cr.tensor(y)).backward()
    np.testing.assert_allclose(logits.grad, (1 / (1 + np.exp(-z)) - y) / z.size, rtol=1e-12)


CE_OPTIONS = [{}, {"weight": True}, {"ignore_index": 1}, {"label_smoothing": 0.2},
              {"weight": True, "ignore_index": 2, "label_smoothing": 0.1},
              {"ignore_index": -100, "label_smoothing": 1.0}]


def _ce_args(options, rng, classes=4):
    kwargs = dict(options)
    if kwargs.get("weight"):
        kwargs["weight"] = rng.uniform(0.5, 2, classes)
    else:
        kwargs.pop("weight", None)
    return kwargs


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", CE_OPTIONS, ids=str)
@pytest.mark.parametrize("batch", [(7,), (3, 5), ()])
def test_cross_entropy_with_class_indices(batch, options, reduction, rng):
    kwargs = {**_ce_args(options, rng), "reduction": reduction}
    if not batch:
        kwargs.pop("ignore_index", None)
    if batch == (3, 5):  # (N, C, d): classes on axis 1
        logits = rng.standard_normal((3, 4, 5)) * 2
    else:
        logits = rng.standard_normal((*batch, 4)) * 2
    labels = rng.integers(0, 4, batch)
    if batch:
        labels.flat[0] = 1  # at least one label for ignore_index=1 to drop
    compare(F.cross_entropy, TF.cross_entropy, [logits], fixed=[labels], kwargs=kwargs)
    gradcheck(lambda z: F.cross_entropy(z, labels, **kwargs), logits)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"weight": True}, {"label_smoothing": 0.3},
                                     {"weight": True, "label_smoothing": 0.1}], ids=str)
def test_cross_entropy_with_probability_targets(options, reduction, rng):
    kwargs = {**_ce_args(options, rng), "reduction": reduction}
    logits, probs = rng.standard_normal((6, 4)) * 2, rng.dirichlet(np.ones(4), 6)
    compare(F.cross_entropy, TF.cross_entropy, [logits, probs], kwargs=kwargs)
    gradcheck(lambda z, q: F.cross_entropy(z, q, **kwargs), logits, probs)
    logits3, probs3 = rng.standard_normal((2, 4, 3)), rng.dirichlet(np.ones(4), (2, 3))
    probs3 = probs3.transpose(0, 2, 1).copy()  # (N, C, d) like the logits
    compare(F.cross_entropy, TF.cross_entropy, [logits3, probs3], kwargs=kwargs)


def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_m(rng):
    z, labels = rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    logits = cr.tensor(z, requires_grad=True)
    F.cross_entropy(logits, labels).backward()
    softmax = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(logits.grad, (softmax - np.eye(3)[labels]) / 5, rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"weight": True}, {"ignore_index": 0},
                                     {"weight": True, "ignore_index": 3}], ids=str)
@pytest.mark.parametrize("shape", [(6, 4), (2, 4, 3)])
def test_nll_loss(shape, options, reduction, rng):
    kwargs = {**_ce_args(options, rng), "reduction": reduction}
    log_probs = rng.standard_normal(shape)
    labels = rng.integers(0, 4, (shape[0], *shape[2:]))
    labels.flat[0] = 0
    compare(F.nll_loss, TF.nll_loss, [log_probs], fixed=[labels], kwargs=kwargs)
    gradcheck(lambda x: F.nll_loss(x, labels, **kwargs), log_probs)


LOSS_MODULES = [
    (lambda: nn.MSELoss(reduction="sum"), lambda: torch.nn.MSELoss(reduction="sum"), "real"),
    (lambda: nn.L1Loss(), lambda: torch.nn.L1Loss(), "real"),
    (lambda: nn.HuberLoss(delta=0.5), lambda: torch.nn.HuberLoss(delta=0.5), "real"),
    (lambda: nn.BCELoss(weight=np.full(3, 0.5)),
     lambda: torch.nn.BCELoss(weight=torch.full((3,), 0.5, dtype=torch.float64)), "probs"),
    (lambda: nn.BCEWithLogitsLoss(pos_weight=np.arange(1.0, 4.0)),
     lambda: torch.nn.BCEWithLogitsLoss(pos_weight=torch.arange(1.0, 4.0,
                                                                dtype=torch.float64)), "real"),
    (lambda: nn.CrossEntropyLoss(weight=np.arange(1.0, 4.0), label_smoothing=0.1),
     lambda: torch.nn.CrossEntropyLoss(weight=torch.arange(1.0, 4.0, dtype=torch.float64),
                                       label_smoothing=0.1), "labels"),
    (lambda: nn.NLLLoss(ignore_index=2), lambda: torch.nn.NLLLoss(ignore_index=2), "labels"),
    (lambda: nn.SmoothL1Loss(beta=0.5), lambda: torch.nn.SmoothL1Loss(beta=0.5), "real"),
    (lambda: nn.KLDivLoss(reduction="batchmean"),
     lambda: torch.nn.KLDivLoss(reduction="batchmean"), "probs"),
]


@pytest.mark.parametrize("make, make_torch, kind", LOSS_MODULES)
def test_loss_modules_match_torch_modules(make, make_torch, kind, rng):
    x = rng.uniform(0.1, 0.9, (5, 3)) if kind == "probs" else rng.standard_normal((5, 3))
    target = (np.array([0, 2, 1, 2, 1]) if kind == "labels"
              else rng.uniform(0, 1, (5, 3)))
    module, reference = make(), make_torch()
    compare(module, reference, [x], fixed=[target])
    assert sorted(module.state_dict()) == sorted(reference.state_dict())


def test_every_registered_loss_is_compared_with_torch():
    compared = {type(make()).__name__ for make, _, _ in LOSS_MODULES}
    assert compared == set(nn.LOSSES)
    assert all(hasattr(torch.nn, name) for name in nn.LOSSES)


def test_each_task_has_its_loss():
    assert type(nn.loss_for_task("classification")) is nn.CrossEntropyLoss
    assert type(nn.loss_for_task("regression")) is nn.MSELoss
    with pytest.raises(nn.LossError, match="unknown task 'ranking'"):
        nn.loss_for_task("ranking")


@pytest.mark.parametrize("call, message", [
    (lambda x: F.mse_loss(x, np.zeros((4, 1))), r"\(4,\).*\(4, 1\)"),
    (lambda x: F.l1_loss(x, np.zeros(4), reduction="average"), "'average'"),
    (lambda x: F.cross_entropy(x.reshape(2, 2), np.array([0, 5])), "target 5 is out of bounds"),
    (lambda x: F.cross_entropy(x.reshape(2, 2), np.array([0, 1, 1])), r"target of shape \(3,\)"),
    (lambda x: F.huber_loss(x, np.zeros(4), delta=0), "delta"),
    (lambda x: F.cross_entropy(x.reshape(2, 2), np.array([0, 1]), label_smoothing=2),
     "label_smoothing"),
])
def test_losses_name_what_is_wrong(call, message):
    with pytest.raises(cr.ChainruleError, match=message):
        call(cr.tensor(np.zeros(4)))


def test_l2_penalty_covers_weights_not_biases_or_norm_parameters():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2),
                          nn.LayerNorm(2)).double()
    lam = 0.01
    penalty = nn.l2_penalty(model, lam)
    weights = [model[0].weight.data, model[2].weight.data]
    np.testing.assert_allclose(penalty.data, lam * sum((w**2).sum() for w in weights),
                               rtol=1e-12)
    penalty.backward()
    np.testing.assert_allclose(model[0].weight.grad, 2 * lam * weights[0], rtol=1e-12)
    assert model[0].bias.grad is None and model[1].weight.grad is None
    chosen = nn.l2_penalty(model, lam, params=[model[0].bias])
    np.testing.assert_allclose(chosen.data, lam * (model[0].bias.data**2).sum(), rtol=1e-12)


# --- float32 by default, float64 on request, through every loss ---------------------------
LABELS = np.array([0, 1, 2, 3, 0, 1])
DTYPE_LOSSES = {
    "mse": lambda z, y: F.mse_loss(z, y), "l1": lambda z, y: F.l1_loss(z, y),
    "huber": lambda z, y: F.huber_loss(z, y, delta=0.5),
    "bce": lambda z, y: F.binary_cross_entropy(z.sigmoid(), y),
    "bce_with_logits": lambda z, y: F.binary_cross_entropy_with_logits(
        z, y, pos_weight=np.ones(4, z.dtype)),
    "cross_entropy": lambda z, y: F.cross_entropy(z, LABELS, weight=np.ones(4, z.dtype),
                                                  label_smoothing=0.1),
    "cross_entropy probabilities": lambda z, y: F.cross_entropy(z, y / y.sum(1, keepdims=True)),
    "nll": lambda z, y: F.nll_loss(z.log_softmax(), LABELS),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(DTYPE_LOSSES))
def test_every_loss_keeps_the_dtype(name, dtype):
    rng = np.random.default_rng(2)
    z = cr.tensor(rng.standard_normal((6, 4)).astype(dtype), requires_grad=True)
    loss = DTYPE_LOSSES[name](z, rng.uniform(0.1, 1, (6, 4)).astype(dtype))
    loss.backward()
    assert loss.dtype == dtype and z.grad.dtype == dtype


# --- loss modules: every reduction against torch.nn ----------------------------------------
LOSS_MODULES_BY_REDUCTION = {
    "MSELoss": (lambda r: nn.MSELoss(reduction=r), lambda r: torch.nn.MSELoss(reduction=r)),
    "L1Loss": (lambda r: nn.L1Loss(reduction=r), lambda r: torch.nn.L1Loss(reduction=r)),
    "HuberLoss": (lambda r: nn.HuberLoss(reduction=r, delta=0.7),
                  lambda r: torch.nn.HuberLoss(reduction=r, delta=0.7)),
    "BCELoss": (lambda r: nn.BCELoss(weight=np.arange(1.0, 4.0), reduction=r),
                lambda r: torch.nn.BCELoss(weight=torch.arange(1.0, 4.0, dtype=torch.float64),
                                           reduction=r)),
    "BCEWithLogitsLoss": (
        lambda r: nn.BCEWithLogitsLoss(pos_weight=np.arange(1.0, 4.0), reduction=r),
        lambda r: torch.nn.BCEWithLogitsLoss(
            pos_weight=torch.arange(1.0, 4.0, dtype=torch.float64), reduction=r)),
    "CrossEntropyLoss": (
        lambda r: nn.CrossEntropyLoss(weight=np.arange(1.0, 4.0), ignore_index=1,
                                      label_smoothing=0.2, reduction=r),
        lambda r: torch.nn.CrossEntropyLoss(weight=torch.arange(1.0, 4.0, dtype=torch.float64),
                                            ignore_index=1, label_smoothing=0.2, reduction=r)),
    "NLLLoss": (lambda r: nn.NLLLoss(weight=np.arange(1.0, 4.0), reduction=r),
                lambda r: torch.nn.NLLLoss(weight=torch.arange(1.0, 4.0, dtype=torch.float64),
                                           reduction=r)),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(LOSS_MODULES_BY_REDUCTION))
def test_loss_modules_with_every_reduction_match_torch(name, reduction):
    rng = np.random.default_rng(3)
    x = rng.uniform(0.1, 0.9, (5, 3)) if name == "BCELoss" else rng.standard_normal((5, 3))
    labels = name in ("CrossEntropyLoss", "NLLLoss")
    target = np.array([0, 2, 1, 2, 1]) if labels else rng.uniform(0, 1, (5, 3))
    ours, theirs = (make(reduction) for make in LOSS_MODULES_BY_REDUCTION[name])
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, out_t = ours(xc, target), theirs(xt, torch.from_numpy(target))
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    out_t.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(xc.grad, xt.grad.numpy(), rtol=1e-7, atol=1e-10)


def test_cross_entropy_under_no_grad_keeps_no_reference_to_its_logits():
    """The forward keeps what its VJP will reuse only when a backward can follow."""
    import gc
    import weakref

    rng = np.random.default_rng(0)
    logits, labels = rng.standard_normal((50, 7)), rng.integers(0, 7, 50)
    alive = weakref.ref(logits)
    with cr.no_grad():
        F.cross_entropy(cr.tensor(logits), cr.tensor(labels))
    del logits
    gc.collect()
    assert alive() is None


@pytest.mark.parametrize("options", [{}, {"weight": np.array([0.5, 2.0, 1.0])},
                                     {"label_smoothing": 0.2, "ignore_index": 1}], ids=str)
def test_cross_entropy_backward_twice_gives_the_same_gradient(options):
    """The first VJP writes the gradient over the forward's buffers (taking them from the
    forward); a second backward of the same graph computes them again."""
    rng = np.random.default_rng(4)
    logits = cr.tensor(rng.standard_normal((6, 3)), requires_grad=True)
    loss = F.cross_entropy(logits, cr.tensor(np.array([0, 1, 2, 1, 0, 2])), **options)
    loss.backward(retain_graph=True)
    first = logits.grad.copy()
    logits.grad = None
    loss.backward()
    assert np.array_equal(logits.grad, first) and np.abs(first).sum() > 0


@pytest.mark.parametrize(
    "options", [{}, {"label_smoothing": 0.1}, {"weight": np.array([1.0, 2.0, 3.0])}]
)
def test_cross_entropy_with_every_row_ignored_is_nan_with_zero_gradient_as_torch(options):
    z = np.array([[0.1, 0.2, 0.3], [1.0, 2.0, 3.0]])
    y = np.array([-100, -100])
    theirs = torch.tensor(z, requires_grad=True)
    torch_options = {k: torch.tensor(v) if k == "weight" else v for k, v in options.items()}
    TF.cross_entropy(theirs, torch.tensor(y), **torch_options).backward()
    ours = cr.tensor(z, requires_grad=True)
    loss = F.cross_entropy(ours, cr.tensor(y), **options)  # no warning (errors in this suite)
    loss.backward()
    assert np.isnan(loss.data) and loss.data.dtype == z.dtype
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())
    np.testing.assert_array_equal(_recorded_gradient(z, y, options), theirs.grad.numpy())


def _recorded_gradient(z, y, options):
    """The gradient through the differentiable VJP (create_graph), as an array."""
    logits = cr.tensor(z, requires_grad=True)
    loss = F.cross_entropy(logits, cr.tensor(y), **options)
    (grad,) = cr.autograd.grad(loss, [logits], create_graph=True)
    return grad.data


@pytest.mark.parametrize(
    "options", [{}, {"label_smoothing": 0.1}, {"weight": np.array([1.0, 2.0, 3.0])}]
)
def test_cross_entropy_skips_the_logits_of_an_ignored_row_even_nan(options):
    z = np.array([[0.1, 0.2, 0.3], [np.nan, np.inf, 2.0], [1.0, 2.0, 3.0]])
    y = np.array([0, -100, 2])
    torch_options = {k: torch.tensor(v) if k == "weight" else v for k, v in options.items()}
    expected = TF.cross_entropy(torch.tensor(z), torch.tensor(y), **torch_options).item()
    ours = cr.tensor(z, requires_grad=True)
    loss = F.cross_entropy(ours, cr.tensor(y), **options)
    loss.backward()
    assert float(loss.data) == pytest.approx(expected, rel=1e-12)
    kept = [0, 2]  # the kept rows' gradient is torch's; the ignored row has none
    theirs = torch.tensor(z[kept], requires_grad=True)
    TF.cross_entropy(theirs, torch.tensor(y[kept]), **torch_options).backward()
    assert np.isfinite(ours.grad).all()
    np.testing.assert_allclose(ours.grad[kept], theirs.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(ours.grad[1], 0.0)
    recorded = _recorded_gradient(z, y, options)
    np.testing.assert_allclose(recorded, ours.grad, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(recorded[1], 0.0)
