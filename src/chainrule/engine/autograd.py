"""The backward pass: backpropagate() for Tensor.backward, and grad() (torch.autograd.grad).

backpropagate() calls each recorded op's VJP once, newest node first. With create_graph=True
the VJPs run on Tensors (each primitive's `graph_vjp`) with recording on, so the gradients
are themselves Tensors with a graph and can be differentiated again (Hessian-vector products,
gradient penalties).
"""

from __future__ import annotations

import math
import operator
from heapq import heappop, heappush

from . import backend
from . import tensor as _t
from .backend import xp
from .tensor import RELEASED, ChainruleError, Tensor, as_array, enable_grad, unbroadcast


def backward(self, gradient=None, retain_graph=None, create_graph=False):
    """Accumulate d(self)/d(leaf) into .grad of every leaf that requires grad (Tensor.backward).

    With create_graph=True the backward pass is itself recorded and each .grad is a Tensor
    with a graph (as in PyTorch), so it can be differentiated again; retain_graph defaults
    to create_graph.
    """
    seed = seed_gradient(self, gradient, create_graph)
    keep = create_graph if retain_graph is None else retain_graph
    backpropagate((self,), (seed,), keep, create_graph)


Tensor.backward = backward  # type: ignore[attr-defined]  # bound here, not declared


def seed_gradient(output, gradient, create_graph):
    """The gradient that starts backward at `output`: ones for a scalar, else `gradient`."""
    if not isinstance(output, Tensor) or not output.requires_grad:
        raise ChainruleError("backward: tensor does not require grad and has no graph")
    if gradient is None:
        if output.data.size != 1:
            raise ChainruleError(
                f"backward: output of shape {output.shape} is not a scalar; "
                "pass gradient= (grad_outputs=) with that shape"
            )
        gradient = xp.ones_like(output.data)
    elif not (create_graph and isinstance(gradient, Tensor)):
        gradient = as_array(gradient, output.data.dtype)
    if gradient.shape != output.shape:
        raise ChainruleError(
            f"backward: gradient of shape {gradient.shape} does not match "
            f"output of shape {output.shape}"
        )
    return Tensor(gradient) if create_graph and not isinstance(gradient, Tensor) else gradient


def _creation_order(node):
    """When the node was made: its op's sequence number; leaves come last (-1)."""
    ctx = node._ctx
    if ctx is None:
        return -1
    return math.inf if ctx is RELEASED else ctx[4]


def backpropagate(roots, seeds, retain_graph=False, create_graph=False, capture=None):
    """Call every VJP once, newest node first.

    An op's output is always made after its inputs, so popping the newest node from a heap
    gives a topological order without a recursive (or any separate) graph walk: by the time
    a node is popped, every gradient flowing into it has arrived. grads maps id(node) ->
    (gradient, owned); an array not owned may alias another node's gradient or the caller's
    seed, so it is copied before it becomes a leaf's .grad. With `capture` (a dict keyed by
    id of the wanted tensors) gradients are returned there instead of stored in .grad.
    """
    grads, heap = {}, []
    for root, seed in zip(roots, seeds):
        _accumulate(grads, heap, root, seed, False)
    if create_graph:  # the VJPs' ops are recorded even under no_grad
        with enable_grad():
            _walk(grads, heap, retain_graph, True, capture)
    else:  # VJPs on arrays record nothing: no mode to switch
        _walk(grads, heap, retain_graph, False, capture)


def _walk(grads, heap, retain_graph, create_graph, capture):
    glue = _EAGER if _t._recorder is None else _t._recorder.glue
    versions = _t._stamped  # check versions only once something was changed in place
    homes = glue is _EAGER and capture is None  # gradients may go into their .grad's home
    if capture is not None and _t._recorder is not None:
        _t._recorder.problems.append("the step calls autograd.grad")
    while heap:
        _, key, node = heappop(heap)
        grad, owned = grads.pop(key)
        ctx = node._ctx
        if capture is None:
            if ctx is None or node._retain:
                glue.store(node, grad, owned)
        elif key in capture:
            capture[key] = grad if owned or create_graph else backend.module_of(grad).array(grad)
        if ctx is None:
            continue
        if ctx is RELEASED:
            raise ChainruleError(
                "backward: the graph was already freed by an earlier backward(); "
                "call backward(retain_graph=True) the first time to backpropagate twice"
            )
        _propagate(node, ctx, grad, grads, heap, create_graph, glue, versions, homes)
        if not retain_graph:
            node._ctx = RELEASED


def _propagate(node, ctx, grad, grads, heap, create_graph, glue, versions, homes):
    op, parents, arrays, options, sequence = ctx
    if versions:
        _check_versions(op, node, parents, sequence)
    if create_graph:
        _propagate_graph(node, op, parents, arrays, options, grad, grads, heap)
        return
    into = _homes(parents, grads) if homes and op._vjp_into else None
    input_grads = op.backward(grad, node, parents, arrays, options, into)
    handed = []  # ids of fresh arrays given to an input: a second input gets no ownership
    for parent, g in zip(parents, input_grads):
        if g is None or not isinstance(parent, Tensor) or not parent.requires_grad:
            continue
        if g.shape != parent.data.shape:
            g = glue.unbroadcast(g, parent.data.shape)
        owned = g is not grad and g.base is None and id(g) not in handed
        if owned:
            handed.append(id(g))
        key = id(parent)  # _accumulate, inlined: this is the hot loop of every backward
        previous = grads.get(key)
        if previous is None:
            grads[key] = (g, owned)
            heappush(heap, (-_creation_order(parent), key, parent))
        else:
            grads[key] = (glue.add(previous[0], g), True)


def _homes(parents, grads):
    """Per input, the array its VJP may write its gradient into, or None; None for all when
    none has one. A parameter's home is its slot of its optimizer's flat gradient buffer:
    `_grad_home` = (its .data view, its .grad view) set by optim/flat.py, offered while its
    .data is still that view (so shape, dtype and device fit), it is a leaf whose .grad is
    None and no other op gave it a gradient yet in this backward. Written there, the gradient
    becomes the .grad that the fused optimizer reads without gathering (a copy)."""
    into = None
    for i, p in enumerate(parents):
        if not isinstance(p, Tensor) or p._ctx is not None or not p.requires_grad:
            continue
        home = getattr(p, "_grad_home", None)
        if home is None or p.data is not home[0] or p.grad is not None or id(p) in grads:
            continue
        if into is None:
            into, given = [None] * len(parents), set()
        elif id(p) in given:
            continue  # one tensor given twice: one home
        given.add(id(p))
        into[i] = home[1]
    return into


def _propagate_graph(node, op, parents, arrays, options, grad, grads, heap):
    """create_graph: the op's graph VJP on Tensors, so the gradients carry a graph."""
    input_grads = op.graph_backward(grad, node, parents, options)
    for parent, g in zip(parents, input_grads):
        if g is None or not isinstance(parent, Tensor) or not parent.requires_grad:
            continue
        if not isinstance(g, Tensor):
            g = Tensor(g)  # a constant part of a recorded gradient
        if g.shape != parent.data.shape:
            g = unbroadcast(g, parent.data.shape)
        _accumulate(grads, heap, parent, g, True)


def _check_versions(op, node, parents, sequence):
    """Refuse to backpropagate through a value changed in place after the op used it."""
    if node._version > sequence:
        _changed_in_place(op, "output", node)
    for position, parent in enumerate(parents):
        if isinstance(parent, Tensor) and parent._version > sequence:
            _changed_in_place(op, f"input {position}", parent)


def _changed_in_place(op, which, tensor):
    raise ChainruleError(
        f"backward: the {which} of {op.name} (shape {tensor.shape}) was modified by an "
        "in-place operation after the op used it; clone() it before changing it in place, "
        "or change it after backward()"
    )


def _accumulate(grads, heap, node, g, owned):
    key = id(node)
    previous = grads.get(key)
    if previous is None:
        grads[key] = (g, owned)
        heappush(heap, (-_creation_order(node), key, node))
    else:
        grads[key] = (previous[0] + g, True)


def _store_grad(node, grad, owned):
    if isinstance(grad, Tensor):  # create_graph: .grad is a Tensor with a graph, as in torch
        node.grad = grad if node.grad is None else grad + node.grad
        return
    dtype = node.data.dtype
    if node.grad is not None:
        grad = node.grad + grad
        owned = True
    elif not owned:  # written into its home (see _homes): it becomes the .grad as it is
        home = getattr(node, "_grad_home", None)
        owned = home is not None and grad is home[1]
    host = type(grad) is xp.ndarray
    writable = grad.flags.writeable if host else backend.is_device_array(grad)
    if not (owned and grad.dtype == dtype and writable):
        grad = backend.module_of(grad).array(grad, dtype=dtype)  # aliases nothing
    node.grad = grad


class _Glue:
    """The array calls backward makes between VJPs; a recording compiler swaps in its own."""

    unbroadcast = staticmethod(unbroadcast)
    add = staticmethod(operator.add)
    store = staticmethod(_store_grad)


_EAGER = _Glue()


def _as_list(tensors):
    return list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]


def grad(
    outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False
):
    """d(outputs)/d(inputs) contracted with grad_outputs, as torch.autograd.grad.

    Returns a tuple with one Tensor per input (None for an input the outputs do not depend
    on, when allow_unused=True); .grad fields are left alone. With create_graph=True the
    results carry a graph, so they can be differentiated again. retain_graph defaults to
    create_graph.
    """
    outputs, inputs = _as_list(outputs), _as_list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    grad_outputs = _as_list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ChainruleError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise ChainruleError(f"grad: input {i} is not a Tensor that requires grad")
    seeds = [seed_gradient(o, g, create_graph) for o, g in zip(outputs, grad_outputs)]
    capture = {id(t): None for t in inputs}
    keep = create_graph if retain_graph is None else retain_graph
    backpropagate(outputs, seeds, keep, create_graph, capture)
    results = []
    for i, t in enumerate(inputs):
        g = capture[id(t)]
        if g is None and not allow_unused:
            raise ChainruleError(
                f"grad: input {i} (shape {t.shape}) was not used to compute "
                "the outputs; pass allow_unused=True to get None for it"
            )
        results.append(g if g is None or isinstance(g, Tensor) else Tensor(g))
    return tuple(results)
