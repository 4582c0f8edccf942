"""CSV and NPZ files: round trips, task inference, and each error a user can make."""

import csv
import io

import numpy as np
import pytest

from backprop.data import load_csv, load_features_csv, load_npz, write_predictions_csv


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def flowers(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(9, 3)).round(6)
    y = np.array(["setosa", "virginica", "versicolor"] * 3)
    path = tmp_path / "flowers.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["petal length", "label", "sepal width", "stem"])
        for row, label in zip(X, y):
            writer.writerow([row[0], label, row[1], row[2]])
    return path, X, y


def test_csv_round_trip_with_string_labels(flowers):
    path, X, y = flowers
    data = load_csv(path, "label")
    np.testing.assert_array_equal(data.X, X)
    assert data.y.tolist() == y.tolist()
    assert data.task == "classification"
    assert data.classes.tolist() == ["setosa", "versicolor", "virginica"]
    assert data.feature_names == ["petal length", "sepal width", "stem"]
    assert data.name == "flowers"


def test_target_by_index_counts_from_either_end(flowers, tmp_path):
    path, _, y = flowers
    assert load_csv(path, 1).y.tolist() == y.tolist()
    last = _write(tmp_path / "last.csv", "a,b,y\n1,2,u\n3,4,v\n")
    by_index, by_name = load_csv(last, -1), load_csv(last, "y")
    assert by_index.y.tolist() == by_name.y.tolist() == ["u", "v"]
    assert by_index.feature_names == ["a", "b"]


def test_whitespace_bom_and_blank_lines_are_tolerated(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("\ufeff x , y \n1, a\n\n2 ,b \n3,a\n".encode("utf-8"))
    data = load_csv(path, "y")
    assert data.X[:, 0].tolist() == [1.0, 2.0, 3.0]
    assert data.y.tolist() == ["a", "b", "a"]


def test_small_whole_number_targets_are_class_labels(tmp_path):
    path = _write(tmp_path / "c.csv", "x,y\n0.5,1\n1.5,0\n2.5,2.0\n3.5,1\n")
    data = load_csv(path, "y")
    assert data.task == "classification"
    assert data.y.dtype.kind == "i" and data.y.tolist() == [1, 0, 2, 1]
    assert data.classes.tolist() == [0, 1, 2]


def test_fractional_targets_are_regression(tmp_path):
    path = _write(tmp_path / "r.csv", "x,y\n1,0.5\n2,1.25\n3,0.5\n")
    data = load_csv(path, "y")
    assert data.task == "regression" and data.classes is None
    assert data.y.tolist() == [0.5, 1.25, 0.5]


def test_many_distinct_whole_numbers_are_regression_unless_told(tmp_path):
    rows = "".join(f"{i},{i * 3}\n" for i in range(25))
    path = _write(tmp_path / "m.csv", "x,y\n" + rows)
    assert load_csv(path, "y").task == "regression"
    forced = load_csv(path, "y", task="classification")
    assert forced.task == "classification" and forced.n_classes == 25


def test_regression_with_word_targets_names_the_line(tmp_path):
    path = _write(tmp_path / "w.csv", "x,y\n1,2.5\n2,cat\n")
    with pytest.raises(ValueError, match=r"line 3.*'cat' is not a number"):
        load_csv(path, "y", task="regression")


@pytest.mark.parametrize("text, target, error, pattern", [
    ("", "y", ValueError, "is empty"),
    ("\n\n", "y", ValueError, "is empty"),
    ("x,y\n", "y", ValueError, "header row but no data rows"),
    ("x,y\n1,a\n2,b,3\n", "y", ValueError, "line 3: 3 fields, but the header has 2 columns"),
    ("x,y\n1,a\n2\n", "y", ValueError, "line 3: 1 field, but the header has 2 columns"),
    ("x,y\n1,a\n2,b\n", "label", ValueError, "no column named 'label'; the columns are x, y"),
    ("x,y\n1,a\n2,b\n", 5, ValueError, "index 5 is out of range"),
    ("x,z,y\n1,2,a\n2,oops,b\n", "y", ValueError, "line 3, column 'z': 'oops' is not a number"),
    ("x,y\n1,a\n,b\n", "y", ValueError, "line 3, column 'x': missing value"),
    ("x,y\n1,a\nnan,b\n", "y", ValueError, "line 3, column 'x': missing value"),  # NaN spells a gap
    ("x,y\n1,a\n-inf,b\n", "y", ValueError, "non-finite value '-inf'"),
    ("x,y\n1,2\n2,inf\n", "y", ValueError, "line 3, column 'y': non-finite target 'inf'"),
    ("x,y\n1,a\n2,\n", "y", ValueError, "line 3, column 'y': the target is missing"),
    ("x,y\n1,a\n2,a\n", "y", ValueError, r"only one class \('a'\)"),
    ("x,y\n1,3\n2,3\n", "y", ValueError, "only one class"),
    ("y\n1\n2\n", "y", ValueError, "expected feature columns"),
    ("x,x,y\n1,2,a\n", "y", ValueError, "'x' more than once"),
    ("x,,y\n1,2,a\n", "y", ValueError, r"column 2 of the header row \(line 1\) has no name"),
])
def test_csv_errors_say_what_is_wrong(tmp_path, text, target, error, pattern):
    path = _write(tmp_path / "bad.csv", text)
    with pytest.raises(error, match=pattern) as err:
        load_csv(path, target)
    assert str(path) in str(err.value)


def test_missing_csv_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.csv"):
        load_csv(tmp_path / "nothing.csv", "y")


def test_a_folder_is_not_a_csv_file(tmp_path):
    with pytest.raises(ValueError, match="is not a file"):
        load_csv(tmp_path, "y")


def test_unknown_task_is_rejected_before_reading(tmp_path):
    with pytest.raises(ValueError, match="'clustering'"):
        load_csv(tmp_path / "whatever.csv", "y", task="clustering")


def test_features_csv_reads_feature_columns(tmp_path):
    path = _write(tmp_path / "p.csv", "b,a\n1,2\n3,4\n")
    np.testing.assert_array_equal(load_features_csv(path), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(load_features_csv(path, 2), [[1, 2], [3, 4]])
    # Named features come back in the model's order, whatever the file's order.
    np.testing.assert_array_equal(load_features_csv(path, feature_names=["a", "b"]), [[2, 1], [4, 3]])


def test_features_csv_with_the_target_column_left_in(tmp_path):
    path = _write(tmp_path / "p.csv", "a,b,label\n1,2,cat\n")
    with pytest.raises(ValueError, match="'label' are not inputs of the model"):
        load_features_csv(path, feature_names=["a", "b"])
    with pytest.raises(ValueError, match="has 3 columns but the model takes 2 features.*target column"):
        load_features_csv(path, 2)
    with pytest.raises(ValueError, match="'cat' is not a number; a prediction CSV holds the feature columns"):
        load_features_csv(path)


def test_features_csv_missing_a_feature(tmp_path):
    path = _write(tmp_path / "p.csv", "a\n1\n")
    with pytest.raises(ValueError, match="missing feature column\\(s\\) 'b'"):
        load_features_csv(path, feature_names=["a", "b"])
    with pytest.raises(ValueError, match="has 1 columns but the model takes 2"):
        load_features_csv(path, 2)


def test_predictions_csv_round_trip(tmp_path):
    predictions = np.array(["cat", "dog", "cat"])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]) + 1e-17 * np.pi
    path = tmp_path / "out.csv"
    write_predictions_csv(path, predictions, proba, classes=np.array(["cat", "dog"]))
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["prediction", "probability_cat", "probability_dog"]
    assert [r[0] for r in rows[1:]] == ["cat", "dog", "cat"]
    np.testing.assert_array_equal(np.array([r[1:] for r in rows[1:]], dtype=float), proba)


def test_predictions_to_an_open_file_and_regression_outputs():
    buffer = io.StringIO()
    write_predictions_csv(buffer, np.array([[0.1, 2.0], [3.5, -1.0]]))
    assert buffer.getvalue() == "prediction_0,prediction_1\n0.1,2.0\n3.5,-1.0\n"
    buffer = io.StringIO()
    write_predictions_csv(buffer, np.array([1, 0]), np.array([[0.3, 0.7], [0.6, 0.4]]))
    assert buffer.getvalue().splitlines() == ["prediction,probability_0,probability_1", "1,0.3,0.7", "0,0.6,0.4"]


def test_predictions_shape_errors():
    with pytest.raises(ValueError, match=r"shape \(2, n_classes\)"):
        write_predictions_csv(io.StringIO(), [0, 1], np.ones((3, 2)))
    with pytest.raises(ValueError, match="3 classes given for 2 columns"):
        write_predictions_csv(io.StringIO(), [0, 1], np.ones((2, 2)), classes=[0, 1, 2])


def test_npz_round_trip_with_labels_and_names(tmp_path):
    X = np.arange(12.0).reshape(4, 3)
    path = tmp_path / "set.npz"
    np.savez(path, X=X, y=np.array(["b", "a", "b", "a"]), feature_names=np.array(["p", "q", "r"]))
    data = load_npz(path)
    np.testing.assert_array_equal(data.X, X)
    assert data.y.tolist() == ["b", "a", "b", "a"] and data.classes.tolist() == ["a", "b"]
    assert data.feature_names == ["p", "q", "r"] and data.task == "classification"


def test_npz_targets_infer_their_task(tmp_path):
    path = tmp_path / "r.npz"
    np.savez(path, X=np.zeros((3, 1)), y=np.array([0.5, 1.5, 2.25]))
    assert load_npz(path).task == "regression"
    np.savez(path, X=np.zeros((3, 1)), y=np.array([1.0, 0.0, 1.0]))
    data = load_npz(path)
    assert data.task == "classification" and data.y.dtype.kind == "i"


def test_npz_refuses_pickled_objects(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, X=np.zeros((2, 1)), y=np.array(["a", None], dtype=object))
    with pytest.raises(ValueError, match="'y' is stored as Python objects"):
        load_npz(path)


@pytest.mark.parametrize("arrays, pattern", [
    ({"X": np.zeros((2, 2))}, "no array y; it holds X"),
    ({"data": np.zeros(2)}, "no array X or y"),
    ({"X": np.zeros(2), "y": np.zeros(2)}, "X must be a 2-D numeric array"),
    ({"X": np.zeros((3, 2)), "y": np.array([0, 1])}, r"y must have shape \(3,\)"),
    ({"X": np.array([[0.0], [np.nan]]), "y": np.array([0, 1])}, r"X\[1, 0\] is nan"),
    ({"X": np.zeros((2, 1)), "y": np.array([0.5, np.inf])}, "expected finite numbers"),
    ({"X": np.zeros((2, 1)), "y": np.array([1, 1])}, "only one class"),
])
def test_npz_errors(tmp_path, arrays, pattern):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=pattern):
        load_npz(path)


def test_npz_that_is_not_an_archive(tmp_path):
    text = _write(tmp_path / "text.npz", "x,y\n")
    with pytest.raises(ValueError, match="cannot be read as an .npz archive"):
        load_npz(text)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(ValueError, match="single array"):
        load_npz(single)
    with pytest.raises(FileNotFoundError):
        load_npz(tmp_path / "absent.npz")
