"""Seconds per epoch of ``Network.fit`` on MNIST in one process, for comparing BLAS thread counts.

Run it once per setting, each in its own process, taking turns:

    OPENBLAS_NUM_THREADS=1 python benchmarks/blas_threads.py 784-300-10 32 sgd
    OPENBLAS_NUM_THREADS=2 python benchmarks/blas_threads.py 784-300-10 32 sgd

Arguments: layer sizes, batch size, optimizer, and optionally the input dropout rate and the
number of epochs (default 0 and 2). relu hidden layers, softmax and cross-entropy, float32, the
first 50,000 MNIST training images, read from ``$BACKPROP_DATA`` (default
``../shared/data/mnist``). Prints one JSON line: wall-clock and CPU seconds per epoch.
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

import backprop as bp
from backprop.data import load_mnist

if __name__ == "__main__":
    sizes = [int(s) for s in sys.argv[1].split("-")]
    batch, optimizer = int(sys.argv[2]), sys.argv[3]
    dropout = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    epochs = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    folder = os.environ.get("BACKPROP_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"))
    data = load_mnist("train", folder, download=False)
    X, Y = data.X.astype(np.float32), np.eye(10, dtype=np.float32)[data.y]
    net = bp.Network.from_sizes(sizes, activation="relu", output_activation="softmax", loss="cross_entropy",
                                seed=0, dtype="float32", input_dropout=dropout)
    wall, cpu = time.perf_counter(), time.process_time()
    net.fit(X, Y, epochs=epochs, batch_size=batch, optimizer=optimizer, lr=0.01, seed=0)
    print(json.dumps({"threads": os.environ.get("OPENBLAS_NUM_THREADS"), "sizes": sys.argv[1], "batch": batch,
                      "optimizer": optimizer, "wall": (time.perf_counter() - wall) / epochs,
                      "cpu": (time.process_time() - cpu) / epochs}))
