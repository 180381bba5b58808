"""The engine: Tensor, the recorded graph and backward(), no_grad, the op registry.

Nothing here imports nn, optim, train or the compiler; they are built on it.
"""
