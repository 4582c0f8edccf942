"""The IDX format: round trips, gzip detection, and every malformed-file error."""

import gzip

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from backprop.data.mnist import IMAGES_MAGIC, LABELS_MAGIC, parse_idx, read_idx, write_idx

IDX_DTYPES = ["uint8", "int8", "int16", "int32", "float32", "float64"]


@given(
    array=st.sampled_from(IDX_DTYPES).flatmap(
        lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=5),
                              elements=hnp.from_dtype(np.dtype(dt), allow_nan=False))
    ),
    compress=st.booleans(),
)
def test_write_then_read_gives_the_array_back(tmp_path_factory, array, compress):
    path = tmp_path_factory.mktemp("idx") / "a.idx"
    write_idx(path, array, compress=compress)
    back = read_idx(path)
    assert back.dtype == array.dtype
    assert back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_gzip_and_raw_files_read_alike_and_are_told_apart_by_magic_bytes(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    raw = write_idx(tmp_path / "raw", array)
    packed = write_idx(tmp_path / "packed", array, compress=True)  # no .gz suffix: detection is by content
    assert packed.read_bytes()[:2] == b"\x1f\x8b"
    assert raw.read_bytes()[:4] == bytes([0, 0, 0x08, 3])
    np.testing.assert_array_equal(read_idx(raw), read_idx(packed))


def test_mnist_magic_numbers_are_the_published_ones(tmp_path):
    images = write_idx(tmp_path / "i", np.zeros((2, 28, 28), np.uint8))
    labels = write_idx(tmp_path / "l", np.zeros(2, np.uint8))
    assert int.from_bytes(images.read_bytes()[:4], "big") == IMAGES_MAGIC == 2051
    assert int.from_bytes(labels.read_bytes()[:4], "big") == LABELS_MAGIC == 2049
    assert read_idx(images, magic=IMAGES_MAGIC).shape == (2, 28, 28)


def test_big_endian_data_is_returned_in_native_order(tmp_path):
    path = write_idx(tmp_path / "f", np.array([1.5, -2.0], dtype=">f8"))
    assert path.read_bytes()[4 + 4:] == np.array([1.5, -2.0], dtype=">f8").tobytes()
    back = read_idx(path)
    assert back.dtype.isnative and back.tolist() == [1.5, -2.0]


def test_compressed_output_is_deterministic(tmp_path):
    a = np.arange(10, dtype=np.int32)
    assert write_idx(tmp_path / "1", a, compress=True).read_bytes() == \
        write_idx(tmp_path / "2", a, compress=True).read_bytes()


def test_wrong_magic_number_names_the_file_and_both_numbers(tmp_path):
    path = write_idx(tmp_path / "labels-as-images", np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="magic number 2049") as err:
        read_idx(path, magic=IMAGES_MAGIC)
    assert "2051" in str(err.value) and "labels-as-images" in str(err.value)


def test_a_file_that_is_not_idx_is_rejected(tmp_path):
    path = tmp_path / "text.idx"
    path.write_bytes(b"hello, world")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(path)


def test_unknown_type_byte_is_named(tmp_path):
    path = tmp_path / "odd"
    path.write_bytes(bytes([0, 0, 0x07, 1]) + (2).to_bytes(4, "big") + b"ab")
    with pytest.raises(ValueError, match="0x07"):
        read_idx(path)


def test_zero_dimensions_are_rejected():
    with pytest.raises(ValueError, match="0 dimensions"):
        parse_idx(bytes([0, 0, 0x08, 0]), "zero")


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_data_reports_declared_and_actual_sizes(tmp_path, compress):
    path = write_idx(tmp_path / "t", np.ones((4, 28, 28), np.uint8))
    data = path.read_bytes()[:-5]
    path.write_bytes(gzip.compress(data) if compress else data)
    with pytest.raises(ValueError, match="truncated") as err:
        read_idx(path)
    message = str(err.value)
    assert str(path) in message and "3136" in message and "3131" in message


def test_truncated_header_is_reported(tmp_path):
    path = tmp_path / "h"
    path.write_bytes(bytes([0, 0, 0x08, 3]) + (5).to_bytes(4, "big"))
    with pytest.raises(ValueError, match="truncated header"):
        read_idx(path)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(ValueError, match="too short"):
        read_idx(path)


def test_truncated_gzip_stream_is_a_value_error_naming_the_file(tmp_path):
    path = write_idx(tmp_path / "g", np.arange(1000, dtype=np.int32), compress=True)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(ValueError, match="gzip") as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_trailing_bytes_are_rejected(tmp_path):
    path = write_idx(tmp_path / "x", np.zeros(3, np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00\x00")
    with pytest.raises(ValueError, match="2 unexpected bytes"):
        read_idx(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")


@pytest.mark.parametrize("dtype", ["int64", "bool", "complex128", "uint16"])
def test_write_rejects_dtypes_idx_cannot_hold(tmp_path, dtype):
    with pytest.raises(ValueError, match=dtype):
        write_idx(tmp_path / "bad", np.zeros(2, dtype=dtype))


def test_write_rejects_a_scalar(tmp_path):
    with pytest.raises(ValueError, match="1 to 255 dimensions"):
        write_idx(tmp_path / "s", np.uint8(3))
