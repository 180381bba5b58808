"""cr.autograd: gradients as values (grad), and Jacobians and Hessians of small functions.

(g,) = cr.autograd.grad(loss, x, create_graph=True)    # a Tensor with a graph
penalty = (g * g).sum(); penalty.backward()             # differentiates through g
"""

from ..engine.autograd import grad
from . import functional

__all__ = ["functional", "grad"]
