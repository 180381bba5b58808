"""GELU spelled out in elementary operators, recognized and read back as one Gelu node.

Before opset 20 ONNX has no Gelu operator, so exporters write 0.5·x·(1 + erf(x/√2)) or its
tanh approximation as Div, Erf, Tanh, Pow, Add, Mul (and Cast) nodes: torch.onnx.export and
cr.onnx.export (opset < 20, or float64) alike, in different orders. Each candidate output
is rewritten as an expression tree with products and sums flattened and sorted, and Casts
and integer powers expanded, so every such spelling has one canonical form; a region whose
form is GELU's, and whose intermediate tensors are used nowhere else, becomes one node.
"""

from __future__ import annotations

import math

_ELEMENTARY = {"Mul", "Add", "Div", "Pow", "Erf", "Tanh", "Cast"}
_COMMUTATIVE = {"Mul", "Add"}
_FLOAT_TYPES = {1, 11}  # Cast to float32 or float64: the value is unchanged for GELU's sake
_DEPTH = 12  # GELU's trees are 8 deep, and span at most 13 nodes (with Casts); bigger
_SPAN = 16  # trees of arithmetic are not GELU, and are not followed further


def _constant(value: float):
    return ("const", f"{value:.6g}")


def _gelu_forms():
    x = ("var",)
    erf = _product(
        [x, _constant(0.5), _sum([_constant(1.0), ("Erf", ("Div", x, _constant(math.sqrt(2))))])]
    )
    cubic = _sum([x, _product([x, x, x, _constant(0.044715)])])
    tanh = _product(
        [
            x,
            _constant(0.5),
            _sum([_constant(1.0), ("Tanh", _product([_constant(math.sqrt(2 / math.pi)), cubic]))]),
        ]
    )
    return {erf: "none", tanh: "tanh"}


def _flat(op, terms):
    out = []
    for term in terms:
        out.extend(term[1] if term[0] == op else (term,))
    return (op, tuple(sorted(out, key=repr)))


def _product(terms):
    return _flat("Mul", terms)


def _sum(terms):
    return _flat("Add", terms)


class _Trees:
    """Expression trees of tensors, with the nodes each one spans and its one leaf."""

    def __init__(self, nodes, constants):
        self.producer = {out: node for node in nodes for out in node.output}
        self.constants = constants

    def tree(self, name, region: list, leaves: set, depth: int = 0):
        if name in self.constants:
            value = self.constants[name]
            return _constant(float(value.reshape(-1)[0])) if value.size == 1 else None
        node = self.producer.get(name)
        if node is None or node.op_type not in _ELEMENTARY or depth > _DEPTH:
            leaves.add(name)
            return ("var",)
        if len(region) >= _SPAN:
            return None
        region.append(node)
        args = [self.tree(i, region, leaves, depth + 1) for i in node.input]
        if any(a is None for a in args):
            return None
        return _combine(node, args)


def _combine(node, args):
    op = node.op_type
    if op == "Cast":
        to = next((a.i for a in node.attribute if a.name == "to"), None)
        return args[0] if to in _FLOAT_TYPES else None
    if op == "Pow":
        base, exponent = args
        if exponent[0] == "const" and exponent[1] in ("2", "3"):
            return _product([base] * int(exponent[1]))
        return ("Pow", base, exponent)
    return _flat(op, args) if op in _COMMUTATIVE else (op, *args)


def fuse_gelu(nodes, constants, make_node):
    """`nodes` with every GELU region replaced by one Gelu node (made by make_node)."""
    nodes = list(nodes)
    forms = _gelu_forms()
    trees = _Trees(nodes, constants)
    consumers = {}
    for node in nodes:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    for final in [n for n in nodes if n.op_type == "Mul"]:
        region, leaves = [], set()
        form = trees.tree(final.output[0], region, leaves)
        if form not in forms or len(leaves) != 1 or final not in nodes:
            continue
        inner = {out for node in region if node is not final for out in node.output}
        if any(c not in region for name in inner for c in consumers.get(name, [])):
            continue  # an intermediate value is used elsewhere: not a self-contained GELU
        gelu = make_node(
            "Gelu", [leaves.pop()], [final.output[0]], name=final.name, approximate=forms[form]
        )
        nodes[nodes.index(final)] = gelu
        trees.producer[final.output[0]] = gelu  # a GELU of this GELU sees it as one node
        nodes = [n for n in nodes if n is gelu or all(n is not r for r in region)]
    return nodes
