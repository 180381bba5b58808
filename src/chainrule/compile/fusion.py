"""The fusion pass: a recorded program that is a plain MLP runs on the fused road.

A custom Module whose forward is Linear layers and activations applied in a chain, under a
loss the fused kernels know, records the same program as the Sequential of those layers; this
pass reads that chain off the recording (which Linear owns each weight, which activation with
which options follows it) and hands the layers to the fused road, so writing the model the
PyTorch way costs nothing. Anything else in the program (a branch, a norm, a second input,
a loss option the kernels lack, a tap) leaves it on the traced road.
"""

from __future__ import annotations

# Forward primitives of the activations the fused kernels run -> the layer that makes them.
_ACTIVATIONS = {
    "relu": lambda nn, options: nn.ReLU(),
    "tanh": lambda nn, options: nn.Tanh(),
    "sigmoid": lambda nn, options: nn.Sigmoid(),
    "leaky_relu": lambda nn, options: nn.LeakyReLU(**options),
    "gelu": lambda nn, options: nn.GELU(**options),
}


def mlp_layers(recorder, model, params):
    """(layers, loss module) when the recorded forward chains Linear layers and activations
    into a cross-entropy with default options, or None."""
    from .. import nn

    owners = {
        id(p): m
        for m in model.modules()
        if isinstance(m, nn.Linear)
        for p in m.parameters(recurse=False)
    }
    if any(ins.label[:2] == ("call", "tap") for ins in recorder.program):
        return None  # a callback observes an activation: the fused kernels would not call it
    param_slots = {2 + i: p for i, p in enumerate(params)}
    forward = [ins for ins in recorder.program if ins.label[0] == "forward"]
    layers, current = [], 0  # slot 0 is the batch
    for ins in forward:
        name, options = ins.label[1], ins.label[2]
        if name == "linear":
            layer = _linear_of(ins, current, param_slots, owners)
            if layer is None:
                return None
            layers.append(layer)
        elif name in _ACTIVATIONS and ins.args == (current,) and layers:
            layers.append(_ACTIVATIONS[name](nn, options))
        else:
            break
        current = ins.out
    rest = forward[len(layers) :]
    if not layers or not _is_default_cross_entropy(recorder, rest, current):
        return None
    return layers, nn.CrossEntropyLoss(reduction=rest[0].label[2].get("reduction", "mean"))


def _linear_of(ins, current, param_slots, owners):
    x, weight, *bias = ins.args
    layer = owners.get(id(param_slots.get(weight)))
    if x != current or layer is None or param_slots[weight] is not layer.weight:
        return None
    expected_bias = None if layer.bias is None else layer.bias
    given = param_slots.get(bias[0]) if bias else None
    return layer if given is expected_bias else None


def _is_default_cross_entropy(recorder, rest, logits):
    """The rest of the forward is cross-entropy of the chain's output with default options."""
    if len(rest) != 1 or rest[0].label[1] != "label_cross_entropy":
        return False
    options, args = rest[0].label[2], rest[0].args
    weights = recorder.values[args[2]] if len(args) > 2 else None
    return (
        args[0] == logits
        and weights is None
        and options.get("ignore_index", -100) == -100
        and not options.get("label_smoothing")
        and options.get("reduction", "mean") in ("mean", "sum")
    )
