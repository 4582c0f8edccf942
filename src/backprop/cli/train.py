"""``backprop train``: from data to a trained, saved, evaluated model.

Under ``mpiexec -n P backprop train ...`` the P processes train one model
together, data-parallel (:mod:`backprop.distributed`): each trains on its shard
of the training data, all hold the same weights, and rank 0 alone prints
progress and writes files.
"""

from __future__ import annotations

import contextlib
import shlex
import signal
import sys
import time
import traceback
from pathlib import Path

import numpy as np

from .._version import __version__
from ..checkpoint import CHECKPOINT_FILE, checkpoint_lock, load_checkpoint, save_checkpoint
from ..core import ACTIVATIONS, LOSSES, OPTIMIZERS, SCHEDULES, Momentum, NonFiniteError, TrainingInterrupted
from ..core.training import balanced_class_weights
from ..core.training.compiled import ENGINES
from ..data import DATASETS, PREPROCESSORS
from .defaults import auto_epochs, check_loss_suits, stop_summary
from .memory import check_training_fits
from ..distributed import share_cores, shard, world
from ..io.atomic import check_destination
from ..io.state import check_order
from ..model import Model
from ..modelfile import check_writable
from . import CLIError
from .common import add_table_options, float_list, int_list, print_json, stderr
from .progress import TrainingProgress
from .train_data import _absolute, data_source, load_training_data
from .train_report import _save_or_rescue, _summary, _write_plots
from .resume import check_data, data_sha256, record_outputs, resume_settings
from .train_refit import needs_search, refit_options, refit_reason, refit_record

# The defaults of every training option; a recipe replaces some, flags replace any.
DEFAULTS = {
    "dataset": "digits",
    "hidden": [64],
    "activation": "relu",
    "output_activation": None,
    "loss": None,
    "bias": True,
    "init": None,
    "optimizer": "adam",
    "lr": None,
    "momentum": None,
    "weight_decay": 0.0,
    "clip_norm": None,
    "schedule": None,
    "batch_size": 32,
    "epochs": 30,
    "seed": 0,
    "dtype": "float64",
    "validation_split": 0.2,
    "early_stopping": False,
    "patience": 10,
    "preprocess": "standardize",
    "n_samples": None,
    "dropout": [],
    "input_dropout": 0.0,
    "max_norm": None,
    "class_weight": None,
    "refit_all": False,
    "engine": "auto",
}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train", help="train a network and save it",
        description="Train a feed-forward network by backpropagation, show progress, save the model. "
                    "With no options: digits, one hidden layer of 64 relu units, softmax output, "
                    "cross-entropy, Adam, 20% held out for validation, and early stopping on it within "
                    "an epoch budget chosen from the data size (unless --epochs is given).",
    )
    src = p.add_argument_group("data (one of)")
    src.add_argument("--dataset", choices=sorted(DATASETS), help="a built-in data set (default: digits)")
    src.add_argument("--csv", type=Path, metavar="FILE",
                     help="your table: comma, semicolon, tab or whitespace separated, maybe .gz/.bz2/.xz/.zip; "
                          "text columns are one-hot encoded, missing values filled ('-' reads standard input)")
    src.add_argument("--npz", type=Path, metavar="FILE", help="your NPZ file with arrays X and y")
    p.add_argument("--target", metavar="COLUMN", help="the CSV column to predict (name or 0-based index)")
    add_table_options(p)
    p.add_argument("--ignore", metavar="COLUMN[,...]", help="table columns to leave out (identifiers, dates)")
    p.add_argument("--data-dir", type=Path, metavar="DIR", help="where MNIST files are (else $BACKPROP_DATA, "
                   "else the user cache folder)")
    p.add_argument("--n-samples", type=int, metavar="N", help="use a random subset of N training samples")
    p.add_argument("--recipe", metavar="NAME", help="a recipe from recipes/ (or a path to a .toml file) "
                   "setting every option; flags given here override it")

    net = p.add_argument_group("network")
    net.add_argument("--hidden", type=int_list, metavar="SIZES", help="hidden layer sizes, e.g. 300,100 (default 64)")
    net.add_argument("--activation", choices=sorted(ACTIVATIONS), help="hidden activation (default relu)")
    net.add_argument("--output-activation", choices=sorted(ACTIVATIONS),
                     help="output activation (default softmax for classes, identity for values)")
    net.add_argument("--loss", choices=sorted(LOSSES),
                     help="loss (default cross_entropy for classes, mse for values; sse is the article's)")
    net.add_argument("--no-bias", dest="bias", action="store_false", default=None, help="the article's model without biases")
    net.add_argument("--init", help="weight initializer (default: He for relu-like, Glorot otherwise)")
    net.add_argument("--dtype", choices=["float32", "float64"], help="default float64")
    net.add_argument("--dropout", type=float_list, metavar="RATE[,RATE...]",
                     help="dropout after the hidden layers while training: one rate for all, or one per "
                          "hidden layer, each in [0, 1) (default none)")
    net.add_argument("--input-dropout", type=float, metavar="RATE",
                     help="dropout on the inputs while training, in [0, 1) (default none)")

    opt = p.add_argument_group("training")
    opt.add_argument("--optimizer", choices=sorted(OPTIMIZERS), help="default adam")
    opt.add_argument("--lr", type=float, help="learning rate (default: the optimizer's)")
    opt.add_argument("--momentum", type=float, help="for momentum and nesterov (default 0.9)")
    opt.add_argument("--weight-decay", type=float, help="L2 penalty on weights (default 0)")
    opt.add_argument("--clip-norm", type=float, help="clip gradients to this global norm")
    opt.add_argument("--max-norm", type=float, metavar="C",
                     help="after each step, scale each unit's incoming weights back to norm at most C")
    opt.add_argument("--schedule", choices=sorted(SCHEDULES), help="learning-rate schedule (default constant)")
    opt.add_argument("--batch-size", type=int, help="default 32")
    opt.add_argument("--epochs", type=int, help="default: a budget from the data size, with early stopping")
    opt.add_argument("--seed", type=int, help="seeds the weights, shuffling and the split (default 0)")
    opt.add_argument("--validation-split", type=float, help="share held out for validation (default 0.2; "
                     "MNIST always uses its last 10,000 training images)")
    opt.add_argument("--early-stopping", action="store_true", default=None,
                     help="stop when the validation loss stops improving and keep the best weights")
    opt.add_argument("--patience", type=int, help="epochs without improvement before stopping (default 10)")
    opt.add_argument("--class-weight", choices=["balanced"],
                     help="weigh each class's samples so every class counts the same (classification)")
    opt.add_argument("--preprocess", choices=sorted(PREPROCESSORS), help="feature scaling (default standardize)")
    opt.add_argument("--engine", choices=ENGINES, help="auto (default), numpy, or compiled: each batch's "
                     "forward and backward pass compiled by Numba (pip install 'backprop[fast]')")

    opt.add_argument("--refit-all", action="store_true", default=None,
                     help="train the final model on every row, the validation split included (MNIST: all "
                          "60,000 training images), as papers report; with --early-stopping, first train on "
                          "the training split to find the best epoch, then refit for that many epochs")

    out = p.add_argument_group("output")
    out.add_argument("--out", type=Path, metavar="MODEL", help="write the model here (.safetensors)")
    out.add_argument("--plots", type=Path, metavar="DIR", help="write history.json and PNG plots here")
    out.add_argument("--json", action="store_true", help="print one JSON object: final metrics and history")
    out.add_argument("--quiet", action="store_true", help="no progress bar, no table")
    out.add_argument("--checkpoint", type=Path, metavar="DIR",
                     help="save the whole training state here after every epoch (or every N) and at the end")
    out.add_argument("--checkpoint-every", type=int, metavar="N", help="checkpoint every N epochs (default 1)")
    out.add_argument("--resume", type=Path, metavar="DIR",
                     help="go on from the checkpoint in DIR with its data and options (--epochs may extend it); "
                          "the result is the same, bit for bit, as a run never interrupted")
    p.set_defaults(run=run)


def resolve_options(args) -> dict:
    """Built-in defaults, then the recipe, then the flags given on the command line."""
    options = dict(DEFAULTS)
    recipe = {}
    if getattr(args, "recipe", None):
        from ..recipes import load_recipe

        recipe = load_recipe(args.recipe)
        options.update(recipe)
    recipe_epochs = "epochs" in recipe or "early_stopping" in recipe
    for key in DEFAULTS:
        value = getattr(args, key, None)
        if value is not None:
            options[key] = value
    # A recipe's momentum belongs to the recipe's optimizer: naming another one drops it.
    if getattr(args, "momentum", None) is None and not _takes_momentum(options["optimizer"]):
        options["momentum"] = None
    # Naming only the data asks for a model that fits it: the epoch budget is set from the data
    # size once it is loaded, with early stopping on the validation split (see cli/defaults.py).
    options["auto_epochs"] = getattr(args, "epochs", None) is None and not recipe_epochs \
        and getattr(args, "early_stopping", None) is None
    if args.csv is not None or args.npz is not None:
        options["dataset"] = None
    return options


def _takes_momentum(optimizer: str) -> bool:
    return optimizer in OPTIMIZERS and issubclass(OPTIMIZERS[optimizer], Momentum)


def _dropout(options: dict):
    """``--dropout``: one rate for every hidden layer, or one each."""
    rates = options["dropout"] or [0.0]
    return rates[0] if len(rates) == 1 else list(rates)


def _class_weights(options: dict, train, y) -> np.ndarray | None:
    """``--class-weight balanced``: each sample of ``y`` weighs n / (k * its class's count in ``train``)."""
    if options["class_weight"] is None:
        return None
    if train.task != "classification":
        raise CLIError("--class-weight balanced is for classification; this target is a regression target")
    labels, index = np.unique(train.y, return_inverse=True)
    return balanced_class_weights(index.reshape(-1), len(labels))[np.searchsorted(labels, y)]


def _check_options(options: dict) -> None:
    for key in ("epochs", "batch_size"):
        if options[key] < 1:
            raise CLIError(f"--{key.replace('_', '-')} must be a positive integer; got {options[key]}")
    if options["n_samples"] is not None and options["n_samples"] < 1:
        raise CLIError(f"--n-samples must be a positive integer; got {options['n_samples']}")
    rates = options["dropout"]
    if rates and (len(rates) not in (1, len(options["hidden"])) or not all(0 <= p < 1 for p in rates)):
        raise CLIError(f"--dropout takes one rate, or one per hidden layer ({len(options['hidden'])}), "
                       f"each in [0, 1); got {','.join(f'{p:g}' for p in rates)}")
    if not 0 <= options["input_dropout"] < 1:
        raise CLIError(f"--input-dropout must be in [0, 1); got {options['input_dropout']:g}")
    if options["max_norm"] is not None and not options["max_norm"] > 0:
        raise CLIError(f"--max-norm must be positive; got {options['max_norm']:g}")
    if options["momentum"] is not None and not _takes_momentum(options["optimizer"]):
        takers = " and ".join(name for name in OPTIMIZERS if _takes_momentum(name))
        raise CLIError(f"--momentum is for the {takers} optimizers; got --optimizer {options['optimizer']}")
    if options["lr"] is not None and not options["lr"] > 0:
        raise CLIError(f"--lr must be positive; got {options['lr']}")


class StopOnSignal:
    """SIGINT and SIGTERM ask training to stop after the current batch; a second one stops at once."""

    def __init__(self):
        self.signal = None
        self.previous = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum, frame):
        if self.signal is not None:
            raise KeyboardInterrupt
        self.signal = signum

    def __call__(self) -> bool:
        return self.signal is not None


def run(args) -> int:
    # Under mpiexec, the processes it started train together; alone, comm is None.
    try:
        comm = world()
    except ImportError as exc:
        raise CLIError(str(exc)) from None
    if comm is not None:
        share_cores(comm)
    # From here on, SIGINT and SIGTERM ask for a clean stop: a signal that arrives while the
    # data loads stops training after its first batch, with a checkpoint like any other.
    with StopOnSignal() as stop:
        if comm is None or comm.size == 1:
            return _train(args, stop, comm)
        try:
            return _train(args, stop, comm)
        except (CLIError, NonFiniteError):
            # Bad options, or a NaN in sums that every process shares: every process meets it at
            # the same point and can end normally. Rank 0 says what it was.
            if comm.rank == 0:
                raise
            return 2
        except BaseException as exc:
            # Anything else may have happened on this process alone, and the others would wait
            # for it in their next Allreduce for ever: say what it was, and end them all.
            if args.debug:
                traceback.print_exc()
            sys.stderr.write(f"backprop train: error on rank {comm.rank} of {comm.size}: "
                             f"{exc or type(exc).__name__}\n")  # one write: the abort may come before a second
            sys.stderr.flush()
            comm.abort(130 if isinstance(exc, KeyboardInterrupt) else
                       2 if isinstance(exc, (ValueError, TypeError, OSError, MemoryError)) else 1)
            raise


def _train(args, stop: StopOnSignal, comm=None) -> int:
    rank0 = comm is None or comm.rank == 0
    if args.resume is not None:
        state, model, saved = load_checkpoint(args.resume)
        options, source = resume_settings(args, state, saved, DEFAULTS)
    else:
        state, model, saved = None, None, {}
        options = resolve_options(args)
        source = data_source(args, options)
    _check_options(options)
    if args.checkpoint_every is not None and args.checkpoint_every < 1:
        raise CLIError(f"--checkpoint-every must be a positive integer; got {args.checkpoint_every}")
    inputs = [source["csv"], source["npz"], getattr(args, "recipe", None),
              None if args.resume is None else args.resume / CHECKPOINT_FILE]
    _check_outputs(args, inputs)  # before training, not after; on every process, so that all stop alike

    selection = saved.get("refit")
    if state is None and needs_search(options):
        # --refit-all with early stopping: the validation split says how many epochs, then a
        # second run trains on every row for that many (a run of its own, checkpointed as one).
        searched = _fit_once(args, options, source, None, None, {}, stop, comm, searching=True)
        if isinstance(searched, int):
            return searched
        options, selection = refit_options(options, searched[1], searched[3].n_samples, searched[2])
        if rank0 and not (args.quiet or args.json):
            stderr.print(f"backprop train: {selection['message']}", markup=False, highlight=False, soft_wrap=True)
    fitted = _fit_once(args, options, source, state, model, saved, stop, comm, selection=selection)
    if isinstance(fitted, int):
        return fitted
    model, history, seconds, train, validation = fitted
    if not rank0:
        return 0  # rank 0 alone evaluates, reports and writes files
    checkpoint_dir = args.checkpoint or args.resume
    refit = refit_record(options, selection, train.n_samples, len(history))
    if refit is not None:
        seconds += refit.get("search_seconds", 0.0)  # the command's training time: search and refit

    final = history.final
    result = history.to_dict()
    stop = stop_summary(history, options, validation is not None)
    if refit is not None:  # the epochs were chosen: a training loss still falling is no warning
        stop.update(reason=refit_reason(refit), warning=None)
    if validation is not None:
        scores = model.evaluate(validation.X, validation.y)
        if model.task == "classification":
            result["confusion_matrix"] = {"labels": scores["classes"], "matrix": scores["confusion_matrix"]}
    data_name = source["dataset"] or source["csv"] or source["npz"]
    model.metadata.update({
        "backprop_version": __version__,
        "training": {**options, "dataset": data_name, "target": source["target"],
                     "recipe": getattr(args, "recipe", None), "epochs_run": len(history),
                     "seconds": round(seconds, 3)},
        "final": final,
    })
    if refit is not None:
        model.metadata["training"]["refit"] = refit
    if comm is not None:
        model.metadata["training"]["processes"] = comm.size

    written = {}
    if args.out is not None:
        _save_or_rescue(model, args.out, checkpoint_dir)
        written["model"] = str(args.out)
    if args.plots is not None:
        written["plots"] = [str(p) for p in _write_plots(args.plots, result, model, validation or train)]
        written["history"] = str(args.plots / "history.json")
    if checkpoint_dir:
        written["checkpoint"] = str(checkpoint_dir)

    if args.json:
        print_json({**final, "dataset": data_name, "task": model.task, "sizes": model.network.sizes,
                    "n_parameters": model.network.n_parameters, "epochs_run": len(history),
                    "train_seconds": seconds, "final": final, "stop": stop, **written, "history": result,
                    **({"refit": refit} if refit is not None else {})})
    elif not args.quiet:
        _summary(model, history, final, seconds, data_name, train, validation, written, stop)
    if stop["warning"] and not args.quiet and rank0:
        stderr.print(f"backprop train: warning: {stop['warning']}", markup=False, highlight=False,
                     soft_wrap=True)
    return 0


def _fit_once(args, options, source, state, model, saved, stop, comm, *, searching=False, selection=None):
    """Load the data, build (or resume) the model and train it once.

    Returns ``(model, history, seconds, train, validation)``, or the exit code
    of a run stopped by a signal. ``searching`` marks the first run of
    ``--refit-all`` with early stopping: no checkpoints, and nothing to resume.
    """
    rank0 = comm is None or comm.rank == 0
    model = None if searching else model
    train, validation, extra = load_training_data(source, options, args.data_dir)
    digest = data_sha256(train, validation)
    if state is not None:
        check_data(saved, digest, source, args.resume)
        if state.order is not None and comm is None:
            check_order(state.order, train.n_samples, str(args.resume))
    if options.get("auto_epochs") and state is None:
        options.update(auto_epochs(train.n_samples, options["batch_size"], validation is not None))
    check_loss_suits(options, train, source)
    if comm is not None and train.n_samples < comm.size:
        raise CLIError(f"{comm.size} processes need at least {comm.size} training samples; got {train.n_samples}")
    if state is None:
        n_targets = 1 if train.y.ndim == 1 else train.y.shape[1]
        # At most one output per class (Model.build may use one for two classes): an upper bound.
        outputs = n_targets if train.classes is None else len(train.classes)
        check_training_fits([train.n_features, *options["hidden"], outputs], options["dtype"], options["optimizer"],
                            min(options["batch_size"], train.n_samples))
        model = Model.build(
            train.n_features, options["hidden"], task=train.task,
            classes=None if train.classes is None else list(train.classes), n_targets=n_targets,
            activation=options["activation"], output_activation=options["output_activation"],
            loss=options["loss"], bias=options["bias"], seed=options["seed"], dtype=options["dtype"],
            init=options["init"], preprocessing=options["preprocess"],
            dropout=_dropout(options), input_dropout=options["input_dropout"],
        )
        # The scaler is fitted here, before training, so that checkpoints carry it.
        model.fit_preprocessing(train.X, train.y)
    for key in ("columns", "data"):
        if extra[key] is not None:
            model.metadata[key] = extra[key]
    if train.feature_names is not None:
        model.metadata["feature_names"] = list(train.feature_names)
    checkpoint_dir = args.checkpoint or args.resume
    absolute = {key: None if source[key] is None else _absolute(source[key]) for key in ("csv", "npz")}
    keep = {"training": options, "source": {**source, **absolute}, "data_sha256": digest,
            "recipe": saved.get("recipe", getattr(args, "recipe", None)),
            "outputs": record_outputs(args)}  # on resume, args already hold the saved outputs
    if selection is not None:
        keep["refit"] = selection
    if searching:
        checkpoint_dir = None  # the search is not a run to resume: the refit after it is
    save = (lambda st: save_checkpoint(checkpoint_dir, st, model, keep)) if checkpoint_dir else None

    optimizer_options = {"momentum": options["momentum"]} if options["momentum"] is not None else {}
    if options["max_norm"] is not None:
        optimizer_options["max_norm"] = options["max_norm"]
    show = not (args.quiet or args.json) and rank0
    scaling = model.target_scaling
    mae_scale = float(scaling["scale"][0]) if scaling is not None and len(scaling["scale"]) == 1 else 1.0
    progress = TrainingProgress(stderr, mae_scale=mae_scale) if show else None
    # Each process trains on its shard (views, not copies); the scaler above has seen the
    # whole training set, as one process's would.
    X, y, validation_data = train.X, train.y, None if validation is None else (validation.X, validation.y)
    if comm is not None:
        rows = shard(train.n_samples, comm)
        X, y = train.X[rows], train.y[rows]
        if validation is not None:
            rows = shard(validation.n_samples, comm)
            validation_data = (validation.X[rows], validation.y[rows]) if rows.stop > rows.start else None
    started = time.perf_counter()
    held = contextlib.ExitStack()  # the checkpoint folder's lock, while training writes into it
    if checkpoint_dir and rank0:
        held.enter_context(checkpoint_lock(checkpoint_dir))
    try:
        history = model.fit(
            X, y, validation_data=validation_data, sample_weight=_class_weights(options, train, y),
            epochs=options["epochs"], batch_size=options["batch_size"], optimizer=options["optimizer"],
            lr=options["lr"], seed=options["seed"], schedule=options["schedule"],
            weight_decay=options["weight_decay"], clip_norm=options["clip_norm"],
            optimizer_options=optimizer_options, early_stopping=options["early_stopping"],
            patience=options["patience"], callbacks=[progress] if progress else [],
            checkpoint=save, checkpoint_every=args.checkpoint_every or 1, resume=state, should_stop=stop,
            comm=comm, engine=options.get("engine", "auto"),
        )
    except TrainingInterrupted as interrupted:
        if progress is not None:
            progress.close()
        folder = checkpoint_dir or _default_checkpoint_dir(args)
        signum = stop.signal
        if comm is not None:  # a signal to any process stopped them all: name the first one's
            signum = next((s for s in comm.allgather(signum) if s is not None), signal.SIGINT)
        if rank0 and searching:
            stderr.print(f"backprop train: stopped by {signal.Signals(signum).name} while the validation split "
                         "chose the epochs for --refit-all; nothing was written (run the command again)",
                         soft_wrap=True)
        elif rank0:
            if save is None:
                save_checkpoint(folder, interrupted.state, model, keep)
            name = signal.Signals(signum).name
            stderr.print(f"backprop train: stopped by {name} ({interrupted}); checkpoint written to {folder}. "
                         f"Resume with: backprop train --resume {shlex.quote(str(folder))}", soft_wrap=True)
        return 128 + signum
    finally:
        if progress is not None:
            progress.close()
        held.close()
    seconds = time.perf_counter() - started
    return model, history, seconds, train, validation


def _check_outputs(args, inputs) -> None:
    """Every destination is a writable folder on a real file system, and no output is one of the inputs."""
    if args.out is not None:
        check_writable(args.out, inputs)
    if args.plots is not None:
        try:
            args.plots.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CLIError(f"cannot create the plot folder {args.plots}: {exc.strerror}") from None
        check_destination(args.plots / "history.json", inputs)
    if args.checkpoint is not None:
        try:
            args.checkpoint.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CLIError(f"cannot create the checkpoint folder {args.checkpoint}: {exc.strerror}") from None
        # The checkpoint resumed from is an input that this run goes on writing: not a clash.
        resumed = None if args.resume is None else args.resume / CHECKPOINT_FILE
        check_destination(args.checkpoint / CHECKPOINT_FILE, [i for i in inputs if i != resumed])


def _default_checkpoint_dir(args) -> Path:
    """Where an interrupted run without --checkpoint saves its state."""
    if args.out is not None:
        return args.out.with_name(args.out.stem + ".checkpoint")
    return Path("backprop-checkpoint")
