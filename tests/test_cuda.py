"""On a GPU (CuPy) chainrule computes what it computes on the CPU: every registered op and its
gradient, every layer, loss and optimizer, the compiled step (replayed as a CUDA graph), fit,
model files and the CLI. The CUDA cases skip where there is no GPU (CI has none; they run on a
GPU machine, see benchmarks/RESULTS.md); what a machine without CUDA does runs everywhere.

Tolerances: a GPU's matrix products and reductions add in another order than the CPU's, and
its exp/log/tanh may differ in the last bit: float64 results agree to 1e-9 relative.
"""

from __future__ import annotations

import pathlib
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import native, nn, optim
from chainrule.engine import backend
from chainrule.nn import functional as F

TESTS = pathlib.Path(__file__).parent
for folder in (TESTS, TESTS / "nn", TESTS / "optim"):
    sys.path.insert(0, str(folder))
from layer_examples import LAYER_EXAMPLES  # noqa: E402
from test_nn_losses import LOSS_MODULES  # noqa: E402
from test_ops import CASE_TABLES  # noqa: E402
from test_optimizers_vs_torch import CASES as OPTIMIZER_CASES  # noqa: E402
from training_steps import train_step  # noqa: E402

needs_cuda = pytest.mark.skipif(
    not cr.cuda_available(), reason="no CUDA device here (needs CuPy and an NVIDIA GPU)"
)


def host(a):
    a = a.data if isinstance(a, cr.Tensor) else a
    return backend.to_host(a)


def assert_close(device_value, cpu_value, rtol=1e-9, atol=1e-12, on_gpu=True):
    data = device_value.data if isinstance(device_value, cr.Tensor) else device_value
    assert backend.is_device_array(data) == on_gpu
    np.testing.assert_allclose(host(device_value), host(cpu_value), rtol=rtol, atol=atol)


def _loss_and_grads(fn, inputs, device):
    leaves = [cr.tensor(x, requires_grad=x.dtype.kind == "f", device=device) for x in inputs]
    cr.manual_seed(3)  # ops that draw (dropout) draw the same numbers on both devices
    out = fn(*leaves).sum()
    out.backward()
    return out, [t.grad for t in leaves if t.requires_grad]


# --- ops ----------------------------------------------------------------------------------------

@needs_cuda
@pytest.mark.parametrize("name", sorted(cr.REGISTRY))
def test_every_registered_op_and_its_gradient_equal_the_cpu(name):
    for fn, inputs, *_ in CASE_TABLES[name](np.random.default_rng(0)):
        cpu_out, cpu_grads = _loss_and_grads(fn, inputs, "cpu")
        gpu_out, gpu_grads = _loss_and_grads(fn, inputs, "cuda")
        assert_close(gpu_out, cpu_out, on_gpu=name != "to_device")  # its case moves to the CPU
        for gpu_grad, cpu_grad in zip(gpu_grads, cpu_grads):
            assert_close(gpu_grad, cpu_grad)


@needs_cuda
def test_tensors_move_and_their_gradient_comes_back():
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    on_gpu = x.to("cuda")
    assert on_gpu.device == "cuda:0" and on_gpu.is_cuda and x.device == "cpu"
    (on_gpu * on_gpu).sum().backward()
    assert not backend.is_device_array(x.grad)
    np.testing.assert_array_equal(x.grad, 2 * x.data)
    assert on_gpu.cpu().device == "cpu" and on_gpu.cuda() is on_gpu
    assert cr.zeros(2, 3, device="cuda").is_cuda and cr.randn(4, device="cuda").is_cuda
    with pytest.raises(cr.DeviceError, match="cpu"):
        on_gpu.numpy()


# --- layers and losses --------------------------------------------------------------------------

LAYER_PARAMS = [pytest.param(build, shape, id=f"{name}-{i}")
                for name, cases in LAYER_EXAMPLES.items()
                for i, (build, shape) in enumerate(cases)]


def _layer_run(build, X, device):
    cr.manual_seed(5)
    model = build().double().to(device)
    cr.manual_seed(6)
    inputs = cr.tensor(X, requires_grad=True, device=device)
    out = model(inputs)
    (out * out).sum().backward()
    model.eval()
    evaluated = model(cr.tensor(X, device=device))
    return model, out, evaluated, inputs.grad


@needs_cuda
@pytest.mark.parametrize("build, shape", LAYER_PARAMS)
def test_every_layer_forward_backward_and_eval_equal_the_cpu(build, shape):
    X = np.random.default_rng(2).normal(size=(4, *shape))
    cpu, cpu_out, cpu_eval, cpu_grad = _layer_run(build, X, "cpu")
    gpu, gpu_out, gpu_eval, gpu_grad = _layer_run(build, X, "cuda")
    assert_close(gpu_out, cpu_out)
    assert_close(gpu_eval, cpu_eval)
    assert_close(gpu_grad, cpu_grad)
    for p, q in zip(gpu.parameters(), cpu.parameters()):
        assert_close(p.grad, q.grad)
    for b, c in zip(gpu.buffers(), cpu.buffers()):  # BatchNorm's running statistics
        assert_close(b, c)


@needs_cuda
@pytest.mark.parametrize("make, make_torch, kind", LOSS_MODULES)
def test_every_loss_equals_the_cpu(make, make_torch, kind):
    rng = np.random.default_rng(3)
    x = rng.uniform(0.1, 0.9, (5, 3)) if kind == "probs" else rng.standard_normal((5, 3))
    target = np.array([0, 2, 1, 2, 1]) if kind == "labels" else rng.uniform(0, 1, (5, 3))
    results = {}
    for device in ("cpu", "cuda"):
        module = make().to(device)
        inputs = cr.tensor(x, requires_grad=True, device=device)
        loss = module(inputs, cr.tensor(target, device=device))
        loss.backward()
        results[device] = loss, inputs.grad
    assert_close(results["cuda"][0], results["cpu"][0])
    assert_close(results["cuda"][1], results["cpu"][1])


# --- optimizers ---------------------------------------------------------------------------------

def _optimizer_run(name, kwargs, fused, device, steps=20):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(16, 4)), rng.normal(size=(16, 1))
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 1)).double().to(device)
    opt = getattr(optim, name)(model.parameters(), fused=fused, **kwargs)
    X, y = cr.tensor(X, device=device), cr.tensor(y, device=device)
    sign = -1.0 if kwargs.get("maximize") else 1.0
    for _ in range(steps):
        opt.zero_grad()
        (F.mse_loss(model(X), y) * sign).backward()
        opt.step()
    return list(model.parameters())


@needs_cuda
@pytest.mark.parametrize("fused", [False, True], ids=["plain", "fused"])
@pytest.mark.parametrize("name, kwargs", OPTIMIZER_CASES, ids=[f"{n}-{k}" for n, k in OPTIMIZER_CASES])
def test_every_optimizer_equals_the_cpu(name, kwargs, fused):
    cr.manual_seed(0)
    cpu = _optimizer_run(name, kwargs, fused, "cpu")
    cr.manual_seed(0)
    gpu = _optimizer_run(name, kwargs, fused, "cuda")
    for p, q in zip(gpu, cpu):
        assert_close(p, q)


@needs_cuda
@pytest.mark.parametrize("name, kwargs", OPTIMIZER_CASES, ids=[f"{n}-{k}" for n, k in OPTIMIZER_CASES])
def test_the_cuda_kernels_give_the_numpy_paths_numbers_bit_for_bit(name, kwargs):
    runs = []
    for kernels in (True, False):
        previous = native.use_native(kernels)
        try:
            cr.manual_seed(0)
            runs.append([host(p) for p in _optimizer_run(name, kwargs, True, "cuda")])
        finally:
            native.use_native(previous)
    for p, q in zip(*runs):
        np.testing.assert_array_equal(p, q)


@needs_cuda
def test_a_model_moved_after_its_optimizers_first_steps_takes_its_state_along():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(16, 4)), rng.normal(size=(16, 1))
    runs = []
    for move_at in (None, 3):
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 1)).double()
        opt = optim.Adam(model.parameters(), lr=0.05)
        for i in range(6):
            if i == move_at:
                model.to("cuda")
            device = "cuda" if move_at is not None and i >= move_at else "cpu"
            opt.zero_grad()
            F.mse_loss(model(cr.tensor(X, device=device)), cr.tensor(y, device=device)).backward()
            opt.step()
        runs.append(list(model.parameters()))
    for p, q in zip(runs[1], runs[0]):
        assert_close(p, q)


# --- the compiled step --------------------------------------------------------------------------

def _mlp(batch_norm=False, dropout=0.0):
    layers = [nn.Linear(8, 16)]
    layers += [nn.BatchNorm1d(16)] if batch_norm else []
    layers += [nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else []) + [nn.Linear(16, 3)]
    return nn.Sequential(*layers).double()


def _train(compiled, device, batch_norm=False, dropout=0.0, batches=((32, 0), (32, 1), (32, 2),
                                                                     (32, 3), (20, 4), (32, 5))):
    cr.manual_seed(0)
    model = _mlp(batch_norm, dropout).to(device)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    step = cr.compile_step(model, F.cross_entropy, opt) if compiled else None
    losses = []
    for n, seed in batches:
        rng = np.random.default_rng(seed)
        X = cr.tensor(rng.normal(size=(n, 8)), device=device)
        y = cr.tensor(rng.integers(0, 3, n), device=device)
        losses.append(train_step(step, model, opt, F.cross_entropy, X, y))
    return step, model, losses


@needs_cuda
@pytest.mark.parametrize("batch_norm", [False, True], ids=["mlp", "batchnorm"])
def test_compiled_step_replays_as_a_cuda_graph_with_the_eager_numbers(batch_norm):
    step, model, losses = _train(True, "cuda", batch_norm=batch_norm)
    _, eager, eager_losses = _train(False, "cuda", batch_norm=batch_norm)
    assert step.replays >= 2 and step.compiled and step.graph_reason is None, step.graph_reason
    assert any(type(g).__name__ == "GraphProgram" for _, g in step.graphs.values())
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-12)
    for p, q in zip(model.parameters(), eager.parameters()):
        assert_close(p, q, rtol=1e-12)
    for b, c in zip(model.buffers(), eager.buffers()):
        assert_close(b, c, rtol=1e-12)
    _, cpu, cpu_losses = _train(False, "cpu", batch_norm=batch_norm)
    np.testing.assert_allclose(losses, cpu_losses, rtol=1e-9)


@needs_cuda
def test_dropout_replays_op_by_op_with_the_same_masks_as_the_cpu():
    step, model, losses = _train(True, "cuda", dropout=0.3)
    _, cpu, cpu_losses = _train(True, "cpu", dropout=0.3)
    assert step.replays >= 2 and "dropout" in step.graph_reason
    np.testing.assert_allclose(losses, cpu_losses, rtol=1e-9)


@needs_cuda
def test_a_label_out_of_range_is_named_by_the_graph_road_too():
    step, _, _ = _train(True, "cuda")
    X = cr.tensor(np.zeros((32, 8)), device="cuda")
    with pytest.raises(cr.ChainruleError, match="out of bounds"):
        step(X, cr.tensor(np.full(32, 7), device="cuda"))


@needs_cuda
def test_a_batch_with_ignored_labels_takes_the_checked_replay_with_the_eager_numbers():
    results = []
    for compiled in (True, False):
        cr.manual_seed(0)
        model = _mlp().to("cuda")
        opt = optim.SGD(model.parameters(), lr=0.1)
        step = cr.compile_step(model, F.cross_entropy, opt) if compiled else None
        losses = []
        for seed in range(5):
            rng = np.random.default_rng(seed)
            X = cr.tensor(rng.normal(size=(32, 8)), device="cuda")
            labels = rng.integers(0, 3, 32)
            labels[:4] = -100 if seed == 4 else labels[:4]  # ignored rows, once a graph exists
            y = cr.tensor(labels, device="cuda")
            losses.append(train_step(step, model, opt, F.cross_entropy, X, y))
        results.append((losses, [host(p) for p in model.parameters()]))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    for p, q in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(p, q, rtol=1e-12)


# --- fit, files, the CLI ------------------------------------------------------------------------

@needs_cuda
def test_fit_on_the_gpu_equals_the_cpu_and_its_model_file_is_the_same(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(96, 8)), rng.integers(0, 3, 96)
    runs = {}
    for device in ("cpu", "cuda"):
        cr.manual_seed(0)
        model = _mlp()
        history = cr.fit(model, F.cross_entropy, optim.Adam(model.parameters(), lr=1e-2), X, y,
                         epochs=3, batch_size=32, seed=0, verbose=0, device=device,
                         metrics=["accuracy"])
        runs[device] = model, history.history["loss"]
    gpu, cpu = runs["cuda"][0], runs["cpu"][0]
    assert next(gpu.parameters()).is_cuda
    np.testing.assert_allclose(runs["cuda"][1], runs["cpu"][1], rtol=1e-9)
    np.testing.assert_allclose(cr.predict(gpu, X), cr.predict(cpu, X), rtol=1e-9)
    cr.save(gpu, tmp_path / "gpu.safetensors")
    loaded = cr.load(tmp_path / "gpu.safetensors")
    np.testing.assert_allclose(cr.predict(loaded, X), cr.predict(cpu, X), rtol=1e-9)


@needs_cuda
def test_chainrule_train_on_the_gpu(tmp_path, capsys):
    from chainrule.cli import main

    out = tmp_path / "run"
    assert main(["train", "--dataset", "digits", "--epochs", "2", "--device", "cuda",
                 "--no-plots", "-q", "--out", str(out)]) == 0
    assert (out / "model.safetensors").is_file()


# --- without CUDA -------------------------------------------------------------------------------

@pytest.fixture
def without_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy raises ImportError
    monkeypatch.setattr(backend, "_cupy", None)


def test_without_cupy_moving_to_cuda_names_the_extra(without_cupy):
    with pytest.raises(cr.DeviceError, match=r"chainrule\[cuda\]"):
        cr.tensor([1.0]).to("cuda")
    with pytest.raises(cr.DeviceError, match=r"chainrule\[cuda\]"):
        nn.Linear(2, 3).cuda()
    assert not cr.cuda_available()


def test_without_cupy_the_cli_says_so_in_one_line(without_cupy, tmp_path, capsys):
    from chainrule.cli import main

    code = main(["train", "--dataset", "digits", "--epochs", "1", "--device", "cuda", "-q",
                 "--no-plots", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1 and "chainrule[cuda]" in err


def test_an_unknown_device_is_refused():
    with pytest.raises(cr.DeviceError, match="'tpu'"):
        cr.tensor([1.0]).to("tpu")


def test_to_takes_torchs_forms_on_the_cpu():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert x.to("cpu") is x and x.cpu() is x
    assert x.to(np.float64).dtype == np.float64 and x.to("cpu", np.float64).dtype == np.float64
    assert x.to(cr.tensor(np.zeros(1))).dtype == np.float64
    model = nn.Linear(2, 2).to("cpu", np.float64)
    assert all(p.data.dtype == np.float64 for p in model.parameters())


def test_the_cuda_kernels_decline_host_arrays():
    from chainrule import cuda_kernels

    p, g, s = np.zeros(3), np.ones(3), np.zeros(3)
    assert cuda_kernels.adagrad(p, s, g, 0.0, False, 1e-10, 0.1) is False
    assert not p.any()
