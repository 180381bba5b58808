"""XOR with a 2-2-1 sigmoid network and a hand-written gradient-descent loop."""

import numpy as np

import chainrule as cr

cr.manual_seed(0)
rng = cr.random.generator()
X = cr.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
y = cr.tensor([[0], [1], [1], [0]], dtype=np.float64)
W1 = cr.tensor(rng.standard_normal((2, 2)), requires_grad=True)
b1 = cr.tensor(np.zeros(2), requires_grad=True)
W2 = cr.tensor(rng.standard_normal((2, 1)), requires_grad=True)
b2 = cr.tensor(np.zeros(1), requires_grad=True)

for step in range(3001):
    y_hat = ((X @ W1 + b1).sigmoid() @ W2 + b2).sigmoid()
    loss = ((y_hat - y) ** 2).mean()
    loss.backward()
    for p in (W1, b1, W2, b2):
        p.data -= 2.0 * p.grad  # θ := θ − η ∇J
        p.grad = None
    if step % 500 == 0:
        print(f"step {step:5d}  loss {loss.item():.5f}")
print("predictions:", np.round(y_hat.data.ravel(), 3))
