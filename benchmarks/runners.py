"""One training step of the same MLP in each library: `make_<library>(config) -> step()`.

Every step: forward on the next fixed batch, softmax cross-entropy (mean), backward, an Adam
update with lr 1e-3 (torch's formula), float32. `make_gemm` times the forward and backward
matrix products alone: the bound no implementation on the same BLAS can beat.
"""

from __future__ import annotations

import itertools

import numpy as np

from common import LR, batches, layer_sizes


def _cycle(config):
    return itertools.cycle(batches(config)).__next__


# --- chainrule ---------------------------------------------------------------------------

def _chainrule_model(config):
    import chainrule as cr

    cr.manual_seed(0)
    sizes = layer_sizes(config)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [cr.nn.Linear(a, b), cr.nn.ReLU()]
    return cr.nn.Sequential(*layers[:-1])


def make_chainrule(config):
    """The eager step a user writes (fused flat-buffer Adam)."""
    import chainrule as cr

    model = _chainrule_model(config)
    loss_fn = cr.nn.CrossEntropyLoss()
    opt = cr.optim.Adam(model.parameters(), lr=LR, fused=True)
    nxt = _cycle(config)

    def step():
        X, y = nxt()
        opt.zero_grad()
        loss_fn(model(cr.tensor(X)), y).backward()
        opt.step()
    return step


def make_chainrule_compiled(config):
    """chainrule.compile_step: one step's tape recorded once, replayed on fixed buffers."""
    import chainrule as cr
    from chainrule.compile import compile_step

    model = _chainrule_model(config)
    opt = cr.optim.Adam(model.parameters(), lr=LR, fused=True)
    step_fn = compile_step(model, cr.nn.CrossEntropyLoss(), opt)
    nxt = _cycle(config)
    return lambda: step_fn(*nxt())


# --- PyTorch eager -----------------------------------------------------------------------

def _torch_step(config, threads, **adam_options):
    import torch

    torch.manual_seed(0)
    sizes = layer_sizes(config)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=LR, **adam_options)
    data = itertools.cycle([(torch.from_numpy(X), torch.from_numpy(y))
                            for X, y in batches(config)]).__next__

    def step():
        X, y = data()
        opt.zero_grad()
        loss_fn(model(X), y).backward()
        opt.step()
    # Called before each timing window: on a loaded 2-core machine torch's 2 OpenMP threads
    # can spin-wait on each other and lose 30x, so both thread counts are measured.
    step.prepare = lambda: torch.set_num_threads(threads)
    return step


def make_torch(config):
    return _torch_step(config, 2)


def make_torch_1thread(config):
    return _torch_step(config, 1)


def make_torch_fused(config):
    return _torch_step(config, 1, fused=True)


# --- JAX jit -----------------------------------------------------------------------------

def make_jax(config):
    import jax
    import jax.numpy as jnp

    sizes = layer_sizes(config)
    rng = np.random.default_rng(0)
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(a)
        params.append((jnp.asarray(rng.uniform(-bound, bound, (b, a)), jnp.float32),
                       jnp.asarray(rng.uniform(-bound, bound, b), jnp.float32)))

    def loss(params, X, y):
        h = X
        for i, (W, b) in enumerate(params):
            h = h @ W.T + b
            if i < len(params) - 1:
                h = jax.nn.relu(h)
        logp = jax.nn.log_softmax(h)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    @jax.jit
    def train_step(params, m, v, t, X, y):
        grads = jax.grad(loss)(params, X, y)
        t = t + 1
        m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, v, grads)
        c1, c2 = 1 - 0.9 ** t, jnp.sqrt(1 - 0.999 ** t)
        params = jax.tree_util.tree_map(
            lambda p, m, v: p - (LR / c1) * m / (jnp.sqrt(v) / c2 + 1e-8), params, m, v)
        return params, m, v, t

    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    state = [params, zeros, zeros, jnp.float32(0)]
    data = itertools.cycle([(jnp.asarray(X), jnp.asarray(y.astype(np.int32)))
                            for X, y in batches(config)]).__next__

    def step():
        state[:] = train_step(*state, *data())
        state[0][0][0].block_until_ready()
    return step


# --- scikit-learn ------------------------------------------------------------------------

def make_sklearn(config):
    from sklearn.neural_network import MLPClassifier

    _, hidden, n_out, batch = _config(config)
    model = MLPClassifier(hidden_layer_sizes=tuple(hidden), solver="adam",
                          learning_rate_init=LR, batch_size=batch, alpha=0.0, random_state=0)
    classes = np.arange(n_out)
    nxt = _cycle(config)
    return lambda: model.partial_fit(*nxt(), classes=classes)


def _config(config):
    from common import CONFIGS

    return CONFIGS[config]


# --- hand-written NumPy, flat buffers ----------------------------------------------------

def make_numpy(config):
    """The hand-written step the issue compares against: flat parameter and Adam buffers."""
    sizes = layer_sizes(config)
    rng = np.random.default_rng(0)
    shapes = [s for a, b in zip(sizes[:-1], sizes[1:]) for s in ((b, a), (b,))]
    total = sum(int(np.prod(s)) for s in shapes)
    flat, grad = np.empty(total, np.float32), np.empty(total, np.float32)
    m, v, work = (np.zeros(total, np.float32) for _ in range(3))

    def views(buffer):
        out, at = [], 0
        for s in shapes:
            n = int(np.prod(s))
            out.append(buffer[at:at + n].reshape(s))
            at += n
        return out
    P, G = views(flat), views(grad)
    for p in P:
        p[...] = rng.uniform(-0.1, 0.1, p.shape)
    nxt, t = _cycle(config), [0]

    def step():
        X, y = nxt()
        acts = [X]
        for i in range(0, len(P), 2):
            z = acts[-1] @ P[i].T
            z += P[i + 1]
            if i + 2 < len(P):
                np.maximum(z, 0, out=z)
            acts.append(z)
        g = acts.pop()
        g -= g.max(axis=1, keepdims=True)
        np.exp(g, out=g)
        g /= g.sum(axis=1, keepdims=True)
        g[np.arange(len(y)), y] -= 1
        g /= len(y)
        for i in range(len(P) - 2, -1, -2):
            a = acts.pop()
            np.matmul(g.T, a, out=G[i])
            g.sum(axis=0, out=G[i + 1])
            if i:
                g = g @ P[i]
                g *= a > 0
        t[0] += 1
        np.multiply(m, 0.9, out=m)
        np.multiply(grad, 0.1, out=work)
        np.add(m, work, out=m)
        np.multiply(v, 0.999, out=v)
        np.multiply(grad, grad, out=work)
        np.multiply(work, 0.001, out=work)
        np.add(v, work, out=v)
        np.sqrt(v, out=work)
        np.multiply(work, 1 / (1 - 0.999 ** t[0]) ** 0.5, out=work)
        np.add(work, 1e-8, out=work)
        np.divide(m, work, out=work)
        np.multiply(work, LR / (1 - 0.9 ** t[0]), out=work)
        np.subtract(flat, work, out=flat)
    return step


# --- the GEMM bound ----------------------------------------------------------------------

def make_gemm(config):
    """Only the step's matrix products (forward, weight gradients, input gradients but the
    first layer's), into preallocated outputs: the roofline on numpy's BLAS."""
    sizes = layer_sizes(config)
    batch = _config(config)[3]
    rng = np.random.default_rng(0)
    Ws = [rng.standard_normal((b, a)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])]
    acts = [rng.standard_normal((batch, n)).astype(np.float32) for n in sizes]
    grads_w = [np.empty_like(W) for W in Ws]

    def step():
        for i, W in enumerate(Ws):
            np.matmul(acts[i], W.T, out=acts[i + 1])
        for i in range(len(Ws) - 1, -1, -1):
            np.matmul(acts[i + 1].T, acts[i], out=grads_w[i])
            if i:
                np.matmul(acts[i + 1], Ws[i], out=acts[i])
    return step


def numpy_threads(make, threads):
    """A runner whose timing windows run with numpy's BLAS limited to `threads` threads (set
    before each window, as torch's are: runners share one process, so each states its own)."""
    from threadpoolctl import threadpool_limits

    def make_with_threads(config):
        step = make(config)
        limits = []

        def prepare():
            if limits:
                limits.pop().restore_original_limits()
            limits.append(threadpool_limits(threads, user_api="blas"))
        step.prepare = prepare
        return step
    return make_with_threads


RUNNERS = {
    "chainrule eager 2 threads": numpy_threads(make_chainrule, 2),
    "chainrule eager 1 thread": numpy_threads(make_chainrule, 1),
    "chainrule compiled 2 threads": numpy_threads(make_chainrule_compiled, 2),
    "chainrule compiled 1 thread": numpy_threads(make_chainrule_compiled, 1),
    "PyTorch eager 2 threads": make_torch,
    "PyTorch eager 1 thread": make_torch_1thread,
    "PyTorch fused Adam 1 thread": make_torch_fused,
    "JAX jit": make_jax,
    "sklearn partial_fit": numpy_threads(make_sklearn, 2),
    "NumPy by hand (flat) 2 threads": numpy_threads(make_numpy, 2),
    "NumPy by hand (flat) 1 thread": numpy_threads(make_numpy, 1),
    "GEMM only 2 threads": numpy_threads(make_gemm, 2),
    "GEMM only 1 thread": numpy_threads(make_gemm, 1),
}

# Columns that report the better of two thread settings, round by round.
BEST_OF = {
    "PyTorch eager (best of 1, 2 threads)": ("PyTorch eager 2 threads", "PyTorch eager 1 thread"),
    "chainrule eager (best of 1, 2 threads)": ("chainrule eager 2 threads",
                                               "chainrule eager 1 thread"),
    "chainrule compiled (best of 1, 2 threads)": ("chainrule compiled 2 threads",
                                                  "chainrule compiled 1 thread"),
    "NumPy by hand (best of 1, 2 threads)": ("NumPy by hand (flat) 2 threads",
                                             "NumPy by hand (flat) 1 thread"),
    "GEMM only (best of 1, 2 threads)": ("GEMM only 2 threads", "GEMM only 1 thread"),
}
