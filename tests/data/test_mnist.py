"""MNIST loading through the normal path, on small generated files in the MNIST layout."""

import gzip
import hashlib
import io
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from backprop.data import mnist
from backprop.data.mnist import (
    SHA256, find_mnist_files, load_mnist, mnist_search_paths, read_uncompressed, resolve_data_dir,
    validation_size, write_idx,
)

TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"
REAL_DIR = Path("/work/shared/data/mnist")


def _digits(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8), rng.integers(0, 10, size=n, dtype=np.uint8)


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """12 training and 5 test images; a mix of gzip and raw files, as a data folder may hold."""
    monkeypatch.delenv("BACKPROP_DATA", raising=False)
    images, labels = _digits(12, 0)
    test_images, test_labels = _digits(5, 1)
    write_idx(tmp_path / f"{TRAIN_IMAGES}.gz", images, compress=True)
    write_idx(tmp_path / TRAIN_LABELS, labels)
    write_idx(tmp_path / TEST_IMAGES, test_images)
    write_idx(tmp_path / f"{TEST_LABELS}.gz", test_labels, compress=True)
    return tmp_path, images, labels, test_images, test_labels


@pytest.fixture
def no_network(monkeypatch):
    """Make every download fail as it does offline, and record the addresses tried."""
    tried = []

    def urlopen(url, timeout=None):
        tried.append(url)
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return tried


def test_splits_are_the_documented_slices_of_the_files(tiny):
    folder, images, labels, test_images, test_labels = tiny
    train = load_mnist("train", folder, download=False)
    validation = load_mnist("validation", folder, download=False)
    everything = load_mnist("all", folder, download=False)
    test = load_mnist("test", folder, download=False)
    assert validation_size(12) == 2
    assert (train.n_samples, validation.n_samples, everything.n_samples, test.n_samples) == (10, 2, 12, 5)
    np.testing.assert_array_equal(train.X, images[:10].reshape(10, 784) / 255.0)
    np.testing.assert_array_equal(validation.X, images[10:].reshape(2, 784) / 255.0)
    np.testing.assert_array_equal(train.y, labels[:10])
    np.testing.assert_array_equal(validation.y, labels[10:])
    np.testing.assert_array_equal(test.y, test_labels)
    np.testing.assert_array_equal(test.X, test_images.reshape(5, 784) / 255.0)
    for d in (train, validation, everything, test):
        assert d.X.dtype == np.float64 and d.X.min() >= 0.0 and d.X.max() <= 1.0
        assert d.y.dtype.kind == "i" and d.task == "classification"
        assert d.classes.tolist() == list(range(10))


def test_validation_size_follows_the_book_for_the_full_file():
    assert validation_size(60_000) == 10_000
    assert validation_size(600) == 100


def test_unknown_split_is_named(tiny):
    with pytest.raises(ValueError, match="'dev'"):
        load_mnist("dev", tiny[0], download=False)


def test_data_dir_from_the_environment_and_its_mnist_subfolder(tiny, tmp_path_factory, monkeypatch):
    folder = tiny[0]
    monkeypatch.setenv("BACKPROP_DATA", str(folder))
    assert resolve_data_dir() == folder
    assert load_mnist("all", download=False).n_samples == 12
    parent = tmp_path_factory.mktemp("data")
    (parent / "mnist").mkdir()
    for file in folder.iterdir():
        (parent / "mnist" / file.name).symlink_to(file)
    monkeypatch.setenv("BACKPROP_DATA", str(parent))
    assert mnist_search_paths() == [parent, parent / "mnist"]
    assert find_mnist_files()[TRAIN_IMAGES] == parent / "mnist" / f"{TRAIN_IMAGES}.gz"
    assert load_mnist("test", download=False).n_samples == 5


def test_data_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_DATA", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_dir() == tmp_path / "env"
    monkeypatch.delenv("BACKPROP_DATA")
    default = resolve_data_dir()
    assert default.name == "mnist" and "backprop" in default.parts
    assert mnist_search_paths() == [default]


def test_a_custom_checksum_mismatch_names_file_and_both_hashes(tiny):
    folder = tiny[0]
    wrong = "0" * 64
    with pytest.raises(ValueError, match="checksum mismatch") as err:
        load_mnist("train", folder, download=False, checksums={TRAIN_LABELS: wrong})
    actual = hashlib.sha256((folder / TRAIN_LABELS).read_bytes()).hexdigest()
    message = str(err.value)
    assert TRAIN_LABELS in message and wrong in message and actual in message


def test_a_matching_custom_checksum_passes_and_is_of_the_uncompressed_bytes(tiny):
    folder = tiny[0]
    digest = hashlib.sha256(read_uncompressed(folder / f"{TRAIN_IMAGES}.gz")).hexdigest()
    assert digest != hashlib.sha256((folder / f"{TRAIN_IMAGES}.gz").read_bytes()).hexdigest()
    data = load_mnist("train", folder, download=False, checksums={TRAIN_IMAGES: digest})
    assert data.n_samples == 10


def test_verify_false_skips_checksums(tiny):
    data = load_mnist("train", tiny[0], download=False, verify=False, checksums={TRAIN_IMAGES: "0" * 64})
    assert data.n_samples == 10


def test_published_hash_is_enforced_for_a_file_of_the_published_size(tiny, monkeypatch):
    folder = tiny[0]
    size = len(read_uncompressed(folder / TRAIN_LABELS))
    monkeypatch.setitem(mnist.SIZES, TRAIN_LABELS, size)  # make the tiny file "full size"
    with pytest.raises(ValueError, match=SHA256[TRAIN_LABELS]):
        load_mnist("train", folder, download=False)
    assert load_mnist("train", folder, download=False, verify=False).n_samples == 10


def test_images_and_labels_must_agree_in_number(tiny):
    folder = tiny[0]
    write_idx(folder / TRAIN_LABELS, np.zeros(11, np.uint8))
    with pytest.raises(ValueError, match="12 images") as err:
        load_mnist("all", folder, download=False)
    assert "11" in str(err.value) and TRAIN_LABELS in str(err.value)


def test_a_labels_file_in_place_of_images_is_caught_by_its_magic_number(tiny):
    folder = tiny[0]
    (folder / f"{TRAIN_IMAGES}.gz").unlink()
    write_idx(folder / TRAIN_IMAGES, np.zeros(12, np.uint8))
    with pytest.raises(ValueError, match="magic number 2049") as err:
        load_mnist("all", folder, download=False)
    assert TRAIN_IMAGES in str(err.value) and "2051" in str(err.value)


def test_images_must_be_28_by_28(tiny):
    folder = tiny[0]
    write_idx(folder / f"{TRAIN_IMAGES}.gz", np.zeros((12, 8, 8), np.uint8), compress=True)
    with pytest.raises(ValueError, match="8x8"):
        load_mnist("all", folder, download=False)


def test_labels_must_be_digits(tiny):
    folder = tiny[0]
    labels = np.zeros(12, np.uint8)
    labels[7] = 10
    write_idx(folder / TRAIN_LABELS, labels)
    with pytest.raises(ValueError, match="label 10 at index 7"):
        load_mnist("all", folder, download=False)


def test_a_truncated_file_fails_through_the_load_path(tiny):
    folder = tiny[0]
    path = folder / TRAIN_LABELS
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ValueError, match="truncated"):
        load_mnist("train", folder, download=False)


def test_offline_error_names_the_files_the_folders_and_the_remedies(tmp_path, monkeypatch, no_network):
    monkeypatch.delenv("BACKPROP_DATA", raising=False)
    with pytest.raises(FileNotFoundError) as err:
        load_mnist("train", tmp_path)
    message = str(err.value)
    for text in (TRAIN_IMAGES, TRAIN_LABELS, str(tmp_path), str(tmp_path / "mnist"), "--data-dir",
                 "BACKPROP_DATA", "network is unreachable"):
        assert text in message
    assert TEST_IMAGES not in message
    # Each mirror was tried for the first file; offline, the second would only wait out the same timeouts.
    assert no_network == [mirror + f"{TRAIN_IMAGES}.gz" for mirror in mnist.MIRRORS]
    assert list(tmp_path.iterdir()) == []


def test_only_the_missing_file_is_reported(tiny, no_network):
    folder = tiny[0]
    (folder / TEST_IMAGES).unlink()
    with pytest.raises(FileNotFoundError, match=TEST_IMAGES) as err:
        load_mnist("test", folder)
    assert TEST_LABELS not in str(err.value).split("searched")[0]


def test_download_false_does_not_touch_the_network(tmp_path, no_network):
    with pytest.raises(FileNotFoundError, match="turned off"):
        load_mnist("test", tmp_path, download=False)
    assert no_network == []


def _gunzip(data):
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _serve(files, fail_first_mirror=False):
    """A stand-in for urlopen that serves ``{name: gzip bytes}`` from the second mirror (or any)."""
    tried = []

    def urlopen(url, timeout=None):
        tried.append(url)
        assert timeout is not None and timeout > 0
        if fail_first_mirror and url.startswith(mnist.MIRRORS[0]):
            raise urllib.error.URLError("first mirror down")
        return io.BytesIO(files[url.rsplit("/", 1)[1][:-3]])

    return urlopen, tried


def test_download_verifies_then_places_the_files(tiny, tmp_path_factory, monkeypatch):
    source, labels = tiny[0], tiny[4]
    files = {TEST_IMAGES: (source / TEST_IMAGES).read_bytes(),
             TEST_LABELS: (source / f"{TEST_LABELS}.gz").read_bytes()}
    checksums = {name: hashlib.sha256(_gunzip(data)).hexdigest() for name, data in files.items()}
    urlopen, tried = _serve(files, fail_first_mirror=True)
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    target = tmp_path_factory.mktemp("cache") / "deep" / "mnist"
    test = load_mnist("test", target, checksums=checksums)
    np.testing.assert_array_equal(test.y, labels)
    assert sorted(p.name for p in target.iterdir()) == [f"{TEST_IMAGES}.gz", f"{TEST_LABELS}.gz"]
    assert all(url.endswith(".gz") for url in tried) and any(url.startswith(mnist.MIRRORS[1]) for url in tried)


def test_a_download_with_the_wrong_checksum_is_not_kept(tiny, tmp_path_factory, monkeypatch):
    source = tiny[0]
    files = {TEST_IMAGES: (source / TEST_IMAGES).read_bytes(),
             TEST_LABELS: (source / f"{TEST_LABELS}.gz").read_bytes()}
    urlopen, _ = _serve(files)
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    target = tmp_path_factory.mktemp("cache")
    with pytest.raises(FileNotFoundError, match="SHA-256 mismatch") as err:
        load_mnist("test", target)  # the published hashes: the tiny files cannot match
    assert SHA256[TEST_IMAGES] in str(err.value)
    assert list(target.iterdir()) == []


@pytest.mark.mnist
def test_the_real_training_files_load_and_verify():
    found = find_mnist_files(REAL_DIR)
    if found[TRAIN_IMAGES] is None or found[TRAIN_LABELS] is None:
        pytest.skip(f"the MNIST training files are not in {REAL_DIR}")
    validation = load_mnist("validation", REAL_DIR, download=False)  # verify=True: published hashes
    assert validation.X.shape == (10_000, 784)
    assert validation.X.min() == 0.0 and validation.X.max() == 1.0
    assert set(np.unique(validation.y)) == set(range(10))
    labels = mnist.read_idx(found[TRAIN_LABELS], magic=mnist.LABELS_MAGIC)
    assert labels.shape == (60_000,) and labels[:5].tolist() == [5, 0, 4, 1, 9]
    np.testing.assert_array_equal(validation.y, labels[50_000:])


@pytest.mark.mnist
def test_a_damaged_copy_of_a_real_file_fails_its_published_checksum(tmp_path):
    found = find_mnist_files(REAL_DIR)
    if found[TRAIN_IMAGES] is None or found[TRAIN_LABELS] is None:
        pytest.skip(f"the MNIST training files are not in {REAL_DIR}")
    (tmp_path / f"{TRAIN_IMAGES}.gz").symlink_to(found[TRAIN_IMAGES])  # a link, not a copy
    labels = mnist.read_idx(found[TRAIN_LABELS])
    labels[123] = (labels[123] + 1) % 10  # same size, one label changed
    write_idx(tmp_path / TRAIN_LABELS, labels)
    with pytest.raises(ValueError, match="checksum mismatch") as err:
        load_mnist("validation", tmp_path, download=False)
    assert SHA256[TRAIN_LABELS] in str(err.value)
