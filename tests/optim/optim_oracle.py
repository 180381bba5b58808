"""A fixed differentiable loss computed by chainrule and by torch on the same weights."""

import numpy as np
import torch

import chainrule as cr

SHAPES = [(6, 4), (6,), (1, 6), (1,)]


def make_problem(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(16, 4))
    y = rng.normal(size=(16, 1))
    weights = [rng.normal(scale=0.5, size=s) for s in SHAPES]
    return X, y, weights


def cr_loss(params, X, y, sign=1.0):
    """sign * mean((tanh(X W1ᵀ + b1) W2ᵀ + b2 − y)²)"""
    w1, b1, w2, b2 = params
    hidden = (cr.tensor(X) @ w1.T + b1).tanh()
    err = hidden @ w2.T + b2 - cr.tensor(y)
    return (err * err).mean() * sign


def torch_loss(params, X, y, sign=1.0):
    w1, b1, w2, b2 = params
    hidden = torch.tanh(torch.from_numpy(X) @ w1.T + b1)
    err = hidden @ w2.T + b2 - torch.from_numpy(y)
    return (err * err).mean() * sign


def cr_params(weights):
    return [cr.tensor(w.copy(), requires_grad=True) for w in weights]


def torch_params(weights):
    return [torch.tensor(w.copy(), requires_grad=True) for w in weights]
