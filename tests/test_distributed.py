"""Data-parallel training: P processes give the weights of one, and stop, checkpoint and resume together.

Two kinds of tests:

- ``fit(comm=...)`` with P ranks played by threads of this process (``ThreadGroup``),
  a communicator with the same four members as MPI's. They need no MPI, run in
  a second, and check the bookkeeping: shards, the split, metrics from sums,
  agreement on stopping, interruption and resume with another P.
- The real thing: ``mpiexec -n P`` for P = 1, 2, 3 (more processes than the 2
  cores is fine), through ``backprop train`` and from Python, compared with
  one process to relative 1e-6 in float64. Skipped, with the reason, where
  mpi4py or mpiexec is missing.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

import backprop as bp
from backprop.checkpoint import CHECKPOINT_FILE, load_checkpoint
from backprop.cli import main
from backprop.core.training import TrainingInterrupted
from backprop.distributed import shard

import distributed_fit

TOLERANCE = 1e-6  # relative, float64: what the issue asks; the sums differ only in their order


def relative_difference(a: list[dict], b: list[dict]) -> float:
    """The largest ``max|a - b| / max|b|`` over the parameter arrays."""
    return max(float(np.max(np.abs(x[k] - y[k])) / max(np.max(np.abs(y[k])), 1e-300))
               for x, y in zip(a, b) for k in x if x[k] is not None)


# -- P ranks as threads ------------------------------------------------------------


class ThreadGroup:
    """Run a function on ``size`` threads, each with a communicator of the group."""

    def __init__(self, size: int):
        self.size = size
        # A rank that fails alone leaves the others waiting: the timeout turns that into an error.
        self.barrier = threading.Barrier(size, timeout=20)
        self.slots: list = [None] * size

    def run(self, fn) -> tuple[list, list]:
        """``fn(comm)`` on every rank; returns the results and the exceptions, in rank order."""
        results, errors = [None] * self.size, [None] * self.size

        def target(rank):
            try:
                results[rank] = fn(ThreadComm(self, rank))
            except BaseException as exc:  # noqa: BLE001 - handed to the test
                errors[rank] = exc

        threads = [threading.Thread(target=target, args=(r,)) for r in range(self.size)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results, errors

    def results(self, fn) -> list:
        results, errors = self.run(fn)
        for error in errors:
            if error is not None:
                raise error
        return results


class ThreadComm:
    """rank, size, allreduce_sum and bcast, as :class:`backprop.core.training.Communicator` asks."""

    def __init__(self, group: ThreadGroup, rank: int):
        self.group, self.rank, self.size = group, rank, group.size

    def allreduce_sum(self, array):
        group = self.group
        group.slots[self.rank] = array.copy()
        group.barrier.wait()
        total = group.slots[0].copy()
        for part in group.slots[1:]:  # in rank order, so every rank gets the same bits
            total += part
        group.barrier.wait()  # all have read before any writes its slot again
        array[...] = total
        return array

    def bcast(self, obj):
        group = self.group
        if self.rank == 0:
            group.slots[0] = obj
        group.barrier.wait()
        value = copy.deepcopy(group.slots[0])
        group.barrier.wait()
        return value

    def allgather(self, obj) -> list:
        group = self.group
        group.slots[self.rank] = obj
        group.barrier.wait()
        values = [copy.deepcopy(v) for v in group.slots]
        group.barrier.wait()
        return values


def classification(n=157, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    labels = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int) + (X[:, 2] > 1).astype(int)
    return X, labels


def small_net(n_in=4, n_out=3, **kw):
    kw = {"activation": "tanh", "output_activation": "softmax", "loss": "cross_entropy", "seed": 1, **kw}
    return bp.Network.from_sizes([n_in, 8, n_out], **kw)


def fit_in_threads(P, X, Y, make_net, **options):
    """Train with P thread ranks, each on its shard; return every rank's (weights, history)."""

    def rank(comm):
        net = make_net()
        rows = shard(len(X), comm)
        history = net.fit(X[rows], Y[rows], comm=comm, **options)
        return net.get_weights(), history

    return ThreadGroup(P).results(rank)


def test_shards_are_contiguous_blocks_in_rank_order_that_cover_every_row():
    for n in (1, 7, 10, 64):
        for size in (1, 2, 3, 5):
            if n < size:
                continue
            blocks = [shard(n, ThreadComm(ThreadGroup(size), r)) for r in range(size)]
            assert [b.start for b in blocks] == [0] + [b.stop for b in blocks[:-1]]
            assert blocks[-1].stop == n
            assert max(b.stop - b.start for b in blocks) - min(b.stop - b.start for b in blocks) <= 1


@pytest.mark.parametrize("P", [1, 2, 3])
def test_thread_ranks_give_one_process_weights_history_and_early_stop(P):
    X, y = classification()
    options = dict(epochs=6, batch_size=5, optimizer="momentum", lr=0.1, seed=4, validation_split=0.2,
                   early_stopping=True, patience=1, reduce_lr_on_plateau={"patience": 0})
    reference = small_net()
    expected = reference.fit(X, y, **options)
    ranks = fit_in_threads(P, X, y, small_net, **options)
    for weights, history in ranks:
        assert relative_difference(weights, reference.get_weights()) < TOLERANCE
        assert all(np.array_equal(weights[i][k], ranks[0][0][i][k]) for i in range(2) for k in ("W", "b"))
        assert len(history) == len(expected) and history.best_epoch == expected.best_epoch
        assert history.stopped_early == expected.stopped_early
        for got, want in zip(history.epochs, expected.epochs):
            for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
                assert got[key] == pytest.approx(want[key], rel=1e-9), key


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("P", [2, 3])
def test_an_estimator_under_comm_learns_every_shards_classes_and_equals_one_process(P):
    from backprop.sklearn import MLPClassifier

    X, labels = classification(120)
    order = np.argsort(labels, kind="stable")  # sorted by class: the last shard lacks class 0
    X, labels = X[order], np.array(["low", "mid", "high"])[labels[order]]
    params = dict(hidden_layer_sizes=(8,), activation="tanh", solver="sgd", learning_rate_init=0.1,
                  batch_size=10, max_iter=8, random_state=2, class_weight="balanced",
                  early_stopping=True, validation_fraction=0.2, learning_rate="cosine", clip_norm=1.0)
    alone = MLPClassifier(**params).fit(X, labels)

    def rank(comm):
        rows = shard(len(X), comm)
        return MLPClassifier(**params).fit(X[rows], labels[rows], comm=comm)

    for est in ThreadGroup(P).results(rank):
        assert list(est.classes_) == list(alone.classes_)
        assert est.n_iter_ == alone.n_iter_
        assert relative_difference(est.network_.get_weights(), alone.network_.get_weights()) < TOLERANCE
        assert est.validation_scores_ == pytest.approx(alone.validation_scores_, abs=1e-12)


def test_regression_metrics_come_from_sums_and_equal_one_process():
    X, Y, _ = distributed_fit.problem()
    make = lambda: distributed_fit.problem()[2]  # noqa: E731
    reference = make()
    expected = reference.fit(X, Y, **distributed_fit.OPTIONS)
    (weights, history), *_ = fit_in_threads(3, X, Y, make, **distributed_fit.OPTIONS)
    assert relative_difference(weights, reference.get_weights()) < TOLERANCE
    for got, want in zip(history.epochs, expected.epochs):
        for key in ("loss", "r2", "mae", "val_loss", "val_r2", "val_mae"):
            assert got[key] == pytest.approx(want[key], rel=1e-9), key


def test_a_batch_that_misses_a_shard_and_uneven_validation_parts_are_fine():
    # Batches of 2 from 3 shards: every batch leaves at least one rank without rows.
    X, y = classification(n=31)
    options = dict(epochs=2, batch_size=2, optimizer="sgd", lr=0.2, seed=0)
    reference = small_net()
    expected = reference.fit(X, y, validation_data=(X[:4], y[:4]), **options)

    def rank(comm):
        net = small_net()
        rows = shard(len(X), comm)
        # Only ranks 0 and 1 hold validation rows (3 and 1 of them); rank 2 passes None.
        validation = [(X[:3], y[:3]), (X[3:4], y[3:4]), None][comm.rank]
        history = net.fit(X[rows], y[rows], validation_data=validation, comm=comm, **options)
        return net.get_weights(), history

    for weights, history in ThreadGroup(3).results(rank):
        assert relative_difference(weights, reference.get_weights()) < TOLERANCE
        for got, want in zip(history.epochs, expected.epochs):
            assert got["val_loss"] == pytest.approx(want["val_loss"], rel=1e-9)
            assert got["val_accuracy"] == want["val_accuracy"]


def test_a_stop_asked_on_one_rank_stops_all_after_the_same_batch_and_resumes_with_any_P():
    X, y = classification()
    options = dict(epochs=3, batch_size=8, optimizer="adam", lr=0.01, seed=2, validation_split=0.2)
    reference = small_net()
    reference.fit(X, y, **options)

    def interrupted(comm):
        net, asked = small_net(), []
        rows = shard(len(X), comm)

        def should_stop():  # only rank 1 is asked to stop, in the middle of epoch 2
            asked.append(1)
            return comm.rank == 1 and len(asked) >= 20
        saved = []
        with pytest.raises(TrainingInterrupted) as info:
            net.fit(X[rows], y[rows], comm=comm, should_stop=should_stop, checkpoint=saved.append, **options)
        return info.value.state, saved

    states = ThreadGroup(2).results(interrupted)
    (state, saved), (state1, saved1) = states
    # Epoch 1 asks 17 times (16 batches, then its end); the 20th question follows batch 3 of epoch 2.
    assert state.epoch == 1 and state.batch == 3
    assert len(saved) == 2 and saved1 == []  # the checkpoint is rank 0's business alone
    assert np.array_equal(state.outputs, state1.outputs) and np.array_equal(state.order, state1.order)

    # The state does not depend on P: it resumes with 3 ranks, or with one process.
    for weights, _ in fit_in_threads(3, X, y, small_net, resume=state, **options):
        assert relative_difference(weights, reference.get_weights()) < TOLERANCE
    alone = small_net()
    alone.fit(X, y, resume=state, **options)
    assert relative_difference(alone.get_weights(), reference.get_weights()) < TOLERANCE


def test_a_checkpoint_that_fails_on_rank_0_stops_every_rank():
    X, y = classification()

    def full_disk(state):
        raise OSError("no space left on device")

    def rank(comm):
        rows = shard(len(X), comm)
        small_net().fit(X[rows], y[rows], comm=comm, epochs=3, seed=0, checkpoint=full_disk)

    _, errors = ThreadGroup(2).run(rank)
    assert isinstance(errors[0], OSError)
    assert isinstance(errors[1], RuntimeError) and "no space left on device" in str(errors[1])


def test_a_callback_on_one_rank_stops_every_rank():
    X, y = classification()

    def rank(comm):
        net = small_net()
        rows = shard(len(X), comm)
        stop_on_rank_2 = lambda epoch, record: comm.rank == 2 and epoch == 2  # noqa: E731
        return net.fit(X[rows], y[rows], comm=comm, epochs=5, seed=0, callbacks=[stop_on_rank_2])

    for history in ThreadGroup(3).results(rank):
        assert len(history) == 2 and "callback" in history.stop_reason


def test_non_finite_values_stop_every_rank_at_the_same_batch():
    X, y = classification()
    Y = np.eye(3)[y] * 1e3

    def rank(comm):
        net = small_net(activation="relu", output_activation="identity", loss="sse", seed=0)
        rows = shard(len(X), comm)
        net.fit(X[rows], Y[rows], comm=comm, epochs=50, batch_size=4, lr=10.0, seed=0)

    _, errors = ThreadGroup(2).run(rank)
    assert all(isinstance(e, bp.NonFiniteError) for e in errors), errors
    assert errors[0].epoch == errors[1].epoch and errors[0].batch == errors[1].batch


def test_every_rank_starts_from_rank_0s_weights_and_shuffles_alike_without_a_seed():
    X, y = classification()
    ranks = fit_in_threads(2, X, y, lambda: small_net(seed=None), epochs=2, seed=None)
    assert all(np.array_equal(ranks[0][0][i][k], ranks[1][0][i][k]) for i in range(2) for k in ("W", "b"))


def test_model_fit_under_comm_wants_the_scaler_fitted_on_the_whole_set_first():
    X, y = classification()
    model = bp.Model.build(4, [8], task="classification", classes=[0, 1, 2], seed=0)

    def rank(comm):
        mine = copy.deepcopy(model)
        rows = shard(len(X), comm)
        with pytest.raises(ValueError, match="fit_preprocessing"):
            mine.fit(X[rows], y[rows], comm=comm, epochs=2, seed=0)
        # The split is drawn from all shards, so the scaler here has seen the validation rows too:
        # compare with one process given the same, already fitted, scaler.
        mine.fit_preprocessing(X, y)
        mine.fit(X[rows], y[rows], comm=comm, epochs=2, seed=0, validation_split=0.2)
        return mine.network.get_weights()

    alone = copy.deepcopy(model)
    alone.fit_preprocessing(X, y)
    alone.network.fit(alone.transform(X), alone.encode(y), epochs=2, seed=0, validation_split=0.2)
    for weights in ThreadGroup(2).results(rank):
        assert relative_difference(weights, alone.network.get_weights()) < TOLERANCE


# -- mpiexec ---------------------------------------------------------------------------


def _mpiexec() -> str | None:
    here = Path(sys.executable).parent  # pip install mpich puts it next to python in a virtualenv
    return shutil.which("mpiexec", path=str(here)) or shutil.which("mpiexec")


MPIEXEC = _mpiexec()
needs_mpi = pytest.mark.skipif(
    MPIEXEC is None or importlib.util.find_spec("mpi4py") is None,
    reason="needs mpi4py and an mpiexec (pip install 'backprop[mpi]'; make test installs them)")

TRAIN = ["train", "--dataset", "digits", "--hidden", "16", "--optimizer", "momentum", "--lr", "0.05",
         "--batch-size", "10", "--epochs", "3", "--seed", "3", "--early-stopping", "--patience", "1",
         "--quiet"]


def mpiexec(P, *argv, **kwargs):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_"))}
    if P > (os.cpu_count() or 1):
        # More ranks than cores: MPICH's waiting ranks spin; this makes them sleep instead.
        env["MPIR_CVAR_ENABLE_HEAVY_YIELD"] = "1"
    env.update(kwargs.pop("env", {}))
    return subprocess.Popen([MPIEXEC, "-n", str(P), sys.executable, *map(str, argv)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def weights_in(path) -> list[dict]:
    tensors = load_file(str(path))
    return [{"W": tensors[f"layers.{i}.W"], "b": tensors[f"layers.{i}.b"]} for i in range(2)]


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    out = tmp_path_factory.mktemp("alone") / "model.safetensors"
    assert main([*TRAIN, "--out", str(out)]) == 0
    return weights_in(out)


@needs_mpi
@pytest.mark.parametrize("P", [1, 2, 3])
def test_mpiexec_backprop_train_gives_the_weights_of_one_process(tmp_path, one_process, P):
    out = tmp_path / "model.safetensors"
    proc = mpiexec(P, "-m", "backprop", *[a for a in TRAIN if a != "--quiet"], "--json", "--out", out)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    result = json.loads(stdout)  # one JSON object: rank 0 alone printed
    assert result["epochs_run"] == 2  # stopped early, like one process
    assert relative_difference(weights_in(out), one_process) < TOLERANCE
    assert bp.load(out).metadata["training"]["processes"] == P


@needs_mpi
def test_every_rank_holds_the_same_weights_from_python(tmp_path):
    proc = mpiexec(3, Path(distributed_fit.__file__), tmp_path)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    X, Y, reference = distributed_fit.problem()
    expected = reference.fit(X, Y, **distributed_fit.OPTIONS).to_dict()
    ranks = [dict(np.load(tmp_path / f"rank{r}.npz")) for r in range(3)]
    assert all(r.keys() == ranks[0].keys() and all(np.array_equal(r[k], ranks[0][k]) for k in r) for r in ranks)
    got = [{k: ranks[0][f"{i}.{k}"] for k in ("W", "b")} for i in range(2)]
    assert relative_difference(got, reference.get_weights()) < TOLERANCE
    history = json.loads((tmp_path / "history0.json").read_text())
    assert [e["epoch"] for e in history["epochs"]] == [e["epoch"] for e in expected["epochs"]]
    assert history["epochs"][-1]["val_r2"] == pytest.approx(expected["epochs"][-1]["val_r2"], rel=1e-9)


@needs_mpi
def test_sigint_under_mpiexec_checkpoints_and_a_resume_with_other_P_gives_the_same_weights(tmp_path):
    run = ["-m", "backprop", "train", "--dataset", "digits", "--hidden", "16", "--optimizer", "adam",
           "--batch-size", "4", "--epochs", "12", "--seed", "1", "--quiet"]
    assert main([*run[2:], "--out", str(tmp_path / "alone.safetensors")]) == 0
    expected = weights_in(tmp_path / "alone.safetensors")

    # Three ranks on two cores are slow enough to be stopped in the middle of the run.
    checkpoint, out = tmp_path / "ckpt", tmp_path / "model.safetensors"
    proc = mpiexec(3, *run, "--checkpoint", checkpoint, "--out", out)
    deadline = time.monotonic() + 60
    while not (checkpoint / CHECKPOINT_FILE).exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # into the second epoch
    proc.send_signal(signal.SIGINT)  # mpiexec passes it to every rank
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGINT, stderr
    assert stderr.count("Resume with: backprop train --resume") == 1  # rank 0 alone said it
    assert not out.exists()
    state, _, _ = load_checkpoint(checkpoint)
    assert 1 <= state.epoch < 12

    resumed = mpiexec(2, "-m", "backprop", "train", "--resume", checkpoint, "--out", out, "--quiet")
    _, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr
    assert relative_difference(weights_in(out), expected) < TOLERANCE


@needs_mpi
def test_an_error_on_every_rank_is_reported_once_and_nothing_hangs(tmp_path):
    proc = mpiexec(2, "-m", "backprop", "train", "--dataset", "iris", "--epochs", "0")
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert stderr.count("--epochs must be a positive integer") == 1, stderr


@needs_mpi
def test_an_error_on_one_rank_ends_every_rank_instead_of_hanging(tmp_path):
    from backprop.checkpoint import checkpoint_lock

    # Rank 0 alone takes the checkpoint folder's lock; held here, it fails there and only there.
    with checkpoint_lock(tmp_path / "ckpt"):
        proc = mpiexec(2, "-m", "backprop", "train", "--dataset", "iris", "--epochs", "3", "--quiet",
                       "--checkpoint", tmp_path / "ckpt")
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "backprop train: error on rank 0" in stderr and "in use by another backprop train" in stderr, stderr


def test_sample_weights_given_on_some_ranks_only_count_the_others_as_one():
    # A rank given no sample_weight weighs its rows 1, as one process would with those ones.
    X, y = classification(60)
    w = np.random.default_rng(3).uniform(0.5, 2.0, size=60)
    options = dict(epochs=3, batch_size=7, optimizer="sgd", lr=0.1, seed=2)
    rows0 = shard(60, ThreadComm(ThreadGroup(2), 0))
    full = np.ones(60)
    full[rows0] = w[rows0]
    reference = small_net()
    reference.fit(X, y, sample_weight=full, **options)

    def rank(comm):
        net = small_net()
        rows = shard(len(X), comm)
        net.fit(X[rows], y[rows], comm=comm, sample_weight=w[rows] if comm.rank == 0 else None, **options)
        return net.get_weights()

    for weights in ThreadGroup(2).results(rank):
        assert relative_difference(weights, reference.get_weights()) < TOLERANCE
