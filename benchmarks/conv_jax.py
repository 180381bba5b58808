"""The conv_results speed rows' training step in JAX: the torch model's layers and initial
parameters as a jax.jit-compiled step (forward, cross-entropy, grad, Adam as torch's).

Optional: `pip install -e ".[bench]"` brings jax; without it `jax_step` says why it is
skipped (a string instead of a step).
"""

from __future__ import annotations


def jax_step(torch_model, x, y, lr=1e-3):
    """A step() that trains a JAX copy of torch_model on (x, y); or why there is none."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as err:
        return f"JAX row skipped: {err} (pip install -e '.[bench]')"
    layers, params = _layers(torch_model, jnp)
    loss = _loss(layers, jax, jnp)

    @jax.jit
    def train(params, m, v, t, x, y):
        value, grads = jax.value_and_grad(loss)(params, x, y)
        t = t + 1
        m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, v, grads)
        step = lr / (1 - 0.9**t)
        scale = jnp.sqrt(1 - 0.999**t)

        def update(p, m, v):
            return p - step * m / (jnp.sqrt(v) / scale + 1e-8)

        return jax.tree_util.tree_map(update, params, m, v), m, v, t, value

    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    state = [params, zeros, zeros, jnp.asarray(0.0), jnp.asarray(x), jnp.asarray(y)]

    def step():
        state[:4] = train(*state)[:4]
        state[0][0][0].block_until_ready()  # JAX dispatches asynchronously

    return step


def _layers(model, jnp):
    """(layer descriptions, parameters) of a torch Sequential, parameters as jnp arrays."""
    layers, params = [], []
    for layer in model:
        kind = type(layer).__name__
        if kind in ("Conv1d", "Conv2d", "Linear"):
            params.append([jnp.asarray(layer.weight.detach().numpy()),
                           jnp.asarray(layer.bias.detach().numpy())])
        layers.append((kind, _options(kind, layer)))
    return layers, params


def _options(kind, layer):
    if kind in ("Conv1d", "Conv2d"):
        return layer.stride, layer.padding
    if kind == "MaxPool2d":
        return layer.kernel_size, layer.stride
    return tuple(layer.unflattened_size) if kind == "Unflatten" else None


def _loss(layers, jax, jnp):
    lax = jax.lax

    def forward(params, h):
        weights = iter(params)
        for kind, options in layers:
            if kind in ("Conv1d", "Conv2d"):
                w, b = next(weights)
                stride, padding = options
                h = lax.conv_general_dilated(h, w, stride, [(p, p) for p in padding])
                h = h + b.reshape(-1, *(1,) * (h.ndim - 2))
            elif kind == "Linear":
                w, b = next(weights)
                h = h @ w.T + b
            elif kind == "ReLU":
                h = jnp.maximum(h, 0)
            elif kind == "MaxPool2d":
                k, s = options
                h = lax.reduce_window(h, -jnp.inf, lax.max, (1, 1, k, k), (1, 1, s, s), "VALID")
            elif kind == "Flatten":
                h = h.reshape(h.shape[0], -1)
            elif kind == "Unflatten":
                h = h.reshape(h.shape[0], *options)
        return h

    def loss(params, x, y):
        logp = jax.nn.log_softmax(forward(params, x))
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    return loss
