"""JAX on the CPU as a benchmark peer, written as a performance-minded JAX user writes it.

The same network as backprop's (784-h-10 with biases, ``W`` of shape
``(n_out, n_in)``, the hidden activation, then a sigmoid output with MSE or a
softmax output with cross-entropy), the same initial weights, the same sample
order and batches (the last one smaller when the batch size does not divide
the data), plain SGD at the same rate.

Two ways of running the epoch:

``jax_scan``
    the whole epoch is one jitted function: ``jax.lax.scan`` over the full
    batches, each step gathering its rows from the data already on the device,
    with the parameters donated so XLA updates them in place; the smaller last
    batch is one call of the jitted step. This is JAX at its best: one
    dispatch per epoch, and XLA fuses the element-wise work into its kernels.
``jax_loop``
    the jitted (and donating) step called from a Python loop, once per batch,
    as most training scripts do.

Both are compiled ahead of time (``jit(...).lower(...).compile()``) so that
the compile time is measured on its own and the timed epoch runs compiled
code only. JAX is a benchmark extra (``pip install 'backprop[bench]'``);
nothing in the library imports it.
"""

from __future__ import annotations

import time

import numpy as np

from clock import Clock


def _functions(config: dict, lr: float):
    """The loss, one SGD step, and the step that gathers its own rows, as pure JAX functions."""
    import jax
    import jax.numpy as jnp

    hidden = {"sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu}[config["activation"]]
    cross_entropy = config["loss"] == "cross_entropy"

    def loss(params, x, y):
        (W1, b1), (W2, b2) = params
        a1 = hidden(x @ W1.T + b1)
        z2 = a1 @ W2.T + b2
        if cross_entropy:  # softmax output: C_i = -sum_j y_j log softmax(z)_j
            return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(z2), axis=1))
        return jnp.mean((jax.nn.sigmoid(z2) - y) ** 2)  # sigmoid output, mean over outputs and samples

    def step(params, x, y):
        grads = jax.grad(loss)(params, x, y)
        return jax.tree.map(lambda p, g: p - lr * g, params, grads)

    def step_rows(params, X, Y, rows):
        return step(params, X[rows], Y[rows])

    return step, step_rows


def _setup(X, Y, weights, config):
    import jax

    if config["dtype"] == "float64":
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    params = [(jnp.asarray(w["W"]), jnp.asarray(w["b"])) for w in weights]
    return jax, jnp, params, jnp.asarray(X), jnp.asarray(Y)


def time_jax(X, Y, weights, order, config, lr, scan: bool) -> dict:
    """Compile, then time one epoch; return seconds, compile seconds and the final weights."""
    jax, jnp, params, Xd, Yd = _setup(X, Y, weights, config)
    step, step_rows = _functions(config, lr)
    b, n = config["batch"], X.shape[0]
    n_full = n // b
    batches = jnp.asarray(order[:n_full * b].reshape(n_full, b).astype(np.int32))
    tail = jnp.asarray(order[n_full * b:].astype(np.int32)) if n % b else None

    def epoch(params, X, Y, batches):
        def body(params, rows):
            return step_rows(params, X, Y, rows), None
        return jax.lax.scan(body, params, batches)[0]

    started = time.perf_counter()
    step_full = jax.jit(step_rows, donate_argnums=0).lower(params, Xd, Yd, batches[0]).compile()
    step_tail = (jax.jit(step_rows, donate_argnums=0).lower(params, Xd, Yd, tail).compile()
                 if tail is not None else None)
    run_epoch = jax.jit(epoch, donate_argnums=0).lower(params, Xd, Yd, batches).compile() if scan else None
    compile_seconds = time.perf_counter() - started

    # Warm-up: a few steps through the compiled step, on a copy (the originals stay the initial weights).
    warm = jax.tree.map(jnp.copy, params)
    for i in range(min(8, n_full)):
        warm = step_full(warm, Xd, Yd, batches[i])
    jax.block_until_ready(warm)

    rows = [batches[i] for i in range(n_full)] if not scan else None  # device slices made before the clock
    with Clock() as clock:
        if scan:
            params = run_epoch(params, Xd, Yd, batches)
        else:
            for r in rows:
                params = step_full(params, Xd, Yd, r)
        if tail is not None:
            params = step_tail(params, Xd, Yd, tail)
        jax.block_until_ready(params)
    return {**clock.seconds(), "compile_seconds": compile_seconds,
            "weights": [{"W": np.asarray(W), "b": np.asarray(b_)} for W, b_ in params]}
