"""One training step, compiled or eager: the loop of the tests that compare the two."""

import chainrule as cr


def train_step(step, model, opt, loss_fn, X, y) -> float:
    """step(X, y) for a compiled step; with step=None, zero_grad, forward, loss, backward and
    opt.step() eagerly. Returns the loss as a float."""
    if step is not None:
        return step(X, y)
    opt.zero_grad()
    loss = loss_fn(model(cr.tensor(X)), cr.tensor(y))
    loss.backward()
    opt.step()
    return float(loss.data)
