"""Tests for backprop.plots: real PNG files, the right set of them, and clear errors."""

from __future__ import annotations

import struct

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from backprop import plots  # noqa: E402
from backprop.plots import curves  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def assert_real_png(path) -> None:
    assert path.is_file() and path.stat().st_size > 1000
    width, height = png_size(path)
    assert 200 <= width <= 4000 and 200 <= height <= 4000
    image = mpimg.imread(path)
    assert image.shape[:2] == (height, width)
    assert np.ptp(image[..., :3]) > 0.2, f"{path} is a blank single-colour image"


def classification_history(n=12, **extra):
    epochs = [{"epoch": i, "loss": 2.0 / i, "val_loss": 2.2 / i + 0.01 * i,
               "accuracy": 1 - 0.5 / i, "val_accuracy": 1 - 0.6 / i, "lr": 0.1, "seconds": 0.01}
              for i in range(1, n + 1)]
    return {"task": "classification", "epochs": epochs, "best_epoch": 9, "stopped_early": True,
            "stop_reason": "no improvement in val_loss for 3 epochs", **extra}


def regression_history(n=8):
    epochs = [{"epoch": i, "loss": 10.0 ** (-i / 2), "r2": 1 - 2.0 / i, "mae": 1.0 / i, "lr": 0.01,
               "seconds": 0.01} for i in range(1, n + 1)]
    return {"task": "regression", "epochs": epochs, "best_epoch": None, "stopped_early": False,
            "stop_reason": None}


def names(paths):
    return sorted(p.name for p in paths)


# -- history ---------------------------------------------------------------

def test_classification_history_writes_loss_and_accuracy(tmp_path):
    paths = plots.plot_history(classification_history(), tmp_path / "a" / "b")
    assert names(paths) == ["accuracy.png", "loss.png"]
    for p in paths:
        assert p.parent == tmp_path / "a" / "b"
        assert_real_png(p)


def test_regression_history_writes_loss_and_r2_without_validation(tmp_path):
    paths = plots.plot_history(regression_history(), tmp_path)
    assert names(paths) == ["loss.png", "r2.png"]
    for p in paths:
        assert_real_png(p)


def test_loss_axis_is_logarithmic_only_beyond_two_decades():
    wide = plots.check_history(regression_history())  # loss from 0.3 down to 1e-4
    narrow = plots.check_history(classification_history())  # within one decade
    assert curves._loss_figure(wide).axes[0].get_yscale() == "log"
    assert curves._loss_figure(narrow).axes[0].get_yscale() == "linear"


def test_best_epoch_and_early_stop_are_shown():
    ax = curves._loss_figure(plots.check_history(classification_history())).axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:2] == ["train", "validation"]
    assert "best epoch (9)" in legend
    assert "stopped early after epoch 12: no improvement" in ax.get_title()


def test_metrics_missing_entirely_are_not_drawn(tmp_path):
    history = {"task": "classification", "epochs": [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.4}]}
    assert names(plots.plot_history(history, tmp_path)) == ["loss.png"]


def test_task_is_inferred_and_nulls_are_missing():
    history = {"epochs": [{"loss": 1.0, "r2": 0.1, "val_r2": None}, {"loss": 0.5, "r2": 0.4}]}
    checked = plots.check_history(history)
    assert checked["task"] == "regression"
    assert [e["epoch"] for e in checked["epochs"]] == [1, 2]
    assert "val_r2" not in checked["epochs"][0]


def test_single_epoch_and_nonfinite_loss_still_plot(tmp_path):
    history = {"task": "classification",
               "epochs": [{"epoch": 1, "loss": 1.0, "accuracy": 0.5},
                          {"epoch": 2, "loss": float("nan"), "accuracy": 0.5}]}
    paths = plots.plot_history(history, tmp_path)
    assert names(paths) == ["accuracy.png", "loss.png"]


@pytest.mark.parametrize("history, words", [
    ({}, "no 'epochs'"),
    ([], "JSON object"),
    ({"epochs": []}, "empty"),
    ({"epochs": "abc"}, "list"),
    ({"epochs": [3]}, "epochs'][0]"),
    ({"epochs": [{"epoch": 1}]}, "no 'loss'"),
    ({"epochs": [{"epoch": 1, "loss": "high"}]}, "'loss'] must be a number; got 'high'"),
    ({"epochs": [{"epoch": 1, "loss": 1.0, "val_accuracy": True}]}, "val_accuracy"),
    ({"epochs": [{"epoch": 1.5, "loss": 1.0}]}, "'epoch'] must be a non-negative integer"),
    ({"epochs": [{"epoch": 2, "loss": 1.0}, {"epoch": 1, "loss": 1.0}]}, "must increase"),
    ({"task": "ranking", "epochs": [{"loss": 1.0}]}, "'ranking'"),
    ({"epochs": [{"loss": 1.0}], "best_epoch": 5}, "best_epoch'] is 5"),
    ({"epochs": [{"loss": 1.0}], "best_epoch": "1"}, "best_epoch"),
    ({"epochs": [{"loss": 1.0}], "stopped_early": "yes"}, "stopped_early"),
    ({"epochs": [{"loss": 1.0}], "confusion_matrix": [[1]]}, "'labels' and 'matrix'"),
    ({"epochs": [{"loss": 1.0}], "confusion_matrix": {"labels": ["a"], "matrix": [[1, 2]]}}, "square"),
])
def test_bad_history_is_rejected_by_name(tmp_path, history, words):
    with pytest.raises(ValueError) as info:
        plots.write_plots(history, tmp_path / "out")
    assert words in str(info.value)
    assert not (tmp_path / "out").exists()  # validated before anything is created


# -- confusion matrix ------------------------------------------------------

def test_confusion_matrix_png(tmp_path):
    path = plots.plot_confusion_matrix([[5, 1, 0], [2, 7, 1], [0, 0, 9]], ["cat", "dog", "bird"],
                                       tmp_path / "cm.png", title="Animals")
    assert path == tmp_path / "cm.png"
    assert_real_png(path)


@pytest.mark.parametrize("matrix, labels, words", [
    ([[1, 2], [3, 4]], ["a"], "1 labels for a 2x2"),
    ([[1, -2], [3, 4]], ["a", "b"], "non-negative"),
    ([1, 2, 3], ["a", "b", "c"], "square"),
])
def test_confusion_matrix_rejects_bad_input(tmp_path, matrix, labels, words):
    with pytest.raises(ValueError, match=words):
        plots.plot_confusion_matrix(matrix, labels, tmp_path / "cm.png")


# -- decision boundary -----------------------------------------------------

def softmax_three_sectors(points):
    """Three classes by angle around the origin, as smooth probabilities."""
    angle = np.arctan2(points[:, 1], points[:, 0])
    centres = np.array([0.0, 2.1, -2.1])
    scores = 3 * np.cos(angle[:, None] - centres[None, :])
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_decision_boundary_multiclass(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    y = softmax_three_sectors(X).argmax(axis=1)
    path = plots.plot_decision_boundary(softmax_three_sectors, X, y, tmp_path / "db.png",
                                        classes=["a", "b", "c"], resolution=60)
    assert_real_png(path)


def test_decision_boundary_binary_sigmoid_with_one_hot_labels(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))

    def sigmoid(points):
        return 1 / (1 + np.exp(-(points[:, :1] + points[:, 1:])))

    Y = np.eye(2)[(X.sum(axis=1) > 0).astype(int)]
    assert_real_png(plots.plot_decision_boundary(sigmoid, X, Y, tmp_path / "db.png", resolution=40))


@pytest.mark.parametrize("X", [np.zeros((10, 3)), np.zeros(10), np.zeros((10, 2, 1)), np.zeros((0, 2))])
def test_decision_boundary_rejects_data_that_is_not_two_columns(tmp_path, X):
    with pytest.raises(ValueError, match="X "):
        plots.plot_decision_boundary(softmax_three_sectors, X, np.zeros(len(X)), tmp_path / "db.png")
    assert not (tmp_path / "db.png").exists()


def test_decision_boundary_rejects_labels_out_of_range(tmp_path):
    X = np.random.default_rng(2).normal(size=(10, 2))
    with pytest.raises(ValueError, match="class indices 0..2"):
        plots.plot_decision_boundary(softmax_three_sectors, X, np.full(10, 5), tmp_path / "db.png",
                                     resolution=10)


def test_decision_boundary_maps_labels_through_class_names(tmp_path):
    X = np.random.default_rng(5).normal(size=(30, 2))
    sectors = softmax_three_sectors(X).argmax(axis=1)
    names = np.array([3, 5, 7])[sectors]  # labels as the data set names them
    plots.plot_decision_boundary(softmax_three_sectors, X, names, tmp_path / "a.png", classes=[3, 5, 7],
                                 resolution=20)
    words = np.array(["a", "b", "c"])[sectors]
    plots.plot_decision_boundary(softmax_three_sectors, X, words, tmp_path / "b.png",
                                 classes=["a", "b", "c"], resolution=20)
    with pytest.raises(ValueError, match=r"not in classes \['a', 'b', 'c'\]: \['z'\]"):
        plots.plot_decision_boundary(softmax_three_sectors, X, np.where(sectors == 0, "z", words),
                                     tmp_path / "c.png", classes=["a", "b", "c"], resolution=20)
    with pytest.raises(ValueError, match="pass classes"):
        plots.plot_decision_boundary(softmax_three_sectors, X, words, tmp_path / "d.png", resolution=20)


def test_decision_boundary_rejects_bad_model_output(tmp_path):
    X = np.random.default_rng(3).normal(size=(10, 2))
    with pytest.raises(ValueError, match="predict_proba must return shape"):
        plots.plot_decision_boundary(lambda p: np.ones((3, 2)), X, None, tmp_path / "db.png",
                                     resolution=10)


# -- regression fit and write_plots ----------------------------------------

def test_regression_fit(tmp_path):
    X = np.linspace(-3, 3, 50)
    path = plots.plot_regression_fit(np.sin, X, np.sin(X) + 0.1, tmp_path / "fit.png")
    assert_real_png(path)
    with pytest.raises(ValueError, match="2-D with 1 column"):
        plots.plot_regression_fit(np.sin, np.zeros((5, 2)), np.zeros(5), tmp_path / "bad.png")


def test_write_plots_classification_with_everything(tmp_path):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 2))
    y = softmax_three_sectors(X).argmax(axis=1)
    history = classification_history(
        confusion_matrix={"labels": ["a", "b", "c"], "matrix": [[18, 2, 0], [1, 19, 0], [0, 3, 17]]})
    paths = plots.write_plots(history, tmp_path / "run", predict_proba=softmax_three_sectors, X=X, y=y,
                              classes=["a", "b", "c"])
    assert names(paths) == ["accuracy.png", "confusion_matrix.png", "decision_boundary.png", "loss.png"]
    for p in paths:
        assert_real_png(p)


def test_write_plots_skips_the_boundary_for_wider_inputs(tmp_path):
    X = np.zeros((5, 4))
    paths = plots.write_plots(classification_history(), tmp_path, predict_proba=softmax_three_sectors,
                              X=X, y=np.zeros(5))
    assert names(paths) == ["accuracy.png", "loss.png"]


def test_write_plots_regression_fit(tmp_path):
    X = np.linspace(0, 6, 30).reshape(-1, 1)
    paths = plots.write_plots(regression_history(), tmp_path, predict=np.sin, X=X, y=np.sin(X))
    assert names(paths) == ["loss.png", "r2.png", "regression_fit.png"]


def test_write_plots_needs_data_for_a_model(tmp_path):
    with pytest.raises(ValueError, match="need the data X"):
        plots.write_plots(classification_history(), tmp_path, predict_proba=softmax_three_sectors)


def test_write_plots_reports_an_unwritable_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError, match="file"):
        plots.write_plots(classification_history(), blocker)
    with pytest.raises(OSError):
        plots.write_plots(classification_history(), blocker / "sub")


def test_no_pyplot_figures_are_left_open(tmp_path):
    import sys

    plots.plot_history(classification_history(), tmp_path)
    if "matplotlib.pyplot" in sys.modules:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []
