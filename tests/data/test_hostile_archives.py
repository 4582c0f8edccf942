"""Issue 17, case 5 (NPZ, IDX and output CSVs): sizes checked before decompressing, formulas neutralised.

An NPZ whose X has 0 rows exited 1 (IndexError); an NPZ member that is a raw
pickle exited 1 (AttributeError); a small archive or gzipped IDX file expanded
to gigabytes before anything was checked; prediction CSVs wrote ``=cmd|...``
cells as they were. Memory is measured with tracemalloc (bytes allocated, not
time) to show that a bomb is refused before it is decompressed.
"""

from __future__ import annotations

import csv
import gzip
import io
import pickle
import tracemalloc
import zipfile

import numpy as np
import pytest

from backprop.cli import main
from backprop.data import load_npz, read_idx, write_predictions_csv


def npy_bytes(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_an_npz_with_no_rows_is_refused_in_words(tmp_path):
    np.savez(tmp_path / "empty.npz", X=np.zeros((0, 3)), y=np.zeros(0))
    with pytest.raises(ValueError, match=r"X has shape \(0, 3\); expected at least one row"):
        load_npz(tmp_path / "empty.npz")


def test_an_npz_member_that_is_a_raw_pickle_is_refused_not_loaded(tmp_path):
    path = tmp_path / "pickled.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("X.npy", pickle.dumps({"not": "an array"}))
        zf.writestr("y.npy", npy_bytes(np.zeros(2)))
    with pytest.raises(ValueError, match="'X' is not stored in the .npy format .*pickle"):
        load_npz(path)


def test_an_npz_bomb_is_refused_before_it_is_decompressed(tmp_path, monkeypatch):
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_BZIP2) as zf:
        zf.writestr("X.npy", npy_bytes(np.zeros((100_000, 100), dtype=np.uint8)))  # 10 MB of zeros
        zf.writestr("y.npy", npy_bytes(np.zeros(100_000, dtype=np.uint8)))
    assert path.stat().st_size < 10_000
    import backprop.data.npz as npz

    monkeypatch.setattr(npz, "ALWAYS_READ", 1_000_000)  # a smaller bound than the real 64 MB: a small test
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="decompression bomb"):
            load_npz(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000


def test_an_npz_member_whose_size_disagrees_with_its_header_is_refused(tmp_path):
    path = tmp_path / "lies.npz"
    data = npy_bytes(np.zeros((4, 3)))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("X.npy", data[:-8])  # one value short of what the header declares
        zf.writestr("y.npy", npy_bytes(np.zeros(4)))
    with pytest.raises(ValueError, match=r"declares shape \(4, 3\)"):
        load_npz(path)


def idx_header(shape, type_code=0x08) -> bytes:
    return bytes([0, 0, type_code, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape)


def test_a_gzipped_idx_with_a_wrong_magic_number_is_refused_before_decompressing(tmp_path):
    path = tmp_path / "junk.gz"
    path.write_bytes(gzip.compress(b"\xff" * 4 + bytes(30_000_000), mtime=0))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="magic number"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000  # the 30 MB were never decompressed


def test_a_gzipped_idx_that_expands_past_its_declared_size_is_stopped_there(tmp_path):
    path = tmp_path / "bomb-idx.gz"
    path.write_bytes(gzip.compress(idx_header((10,)) + bytes(30_000_000), mtime=0))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="expands to more than"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000


def test_a_well_formed_gzipped_idx_still_reads(tmp_path):
    array = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)
    path = tmp_path / "ok.gz"
    path.write_bytes(gzip.compress(idx_header(array.shape) + array.tobytes(), mtime=0))
    assert np.array_equal(read_idx(path), array)


FORMULAS = ["=cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "+1+1", "-2+3", "\tTAB", "\uff1dfullwidth"]


def test_formula_cells_are_neutralised_in_prediction_csvs(tmp_path):
    out = tmp_path / "p.csv"
    probabilities = np.full((len(FORMULAS), len(FORMULAS)), 1 / len(FORMULAS))
    write_predictions_csv(out, np.array(FORMULAS, dtype=object), probabilities=probabilities, classes=FORMULAS)
    rows = list(csv.reader(out.open(newline="")))
    assert [row[0] for row in rows[1:]] == ["'" + f for f in FORMULAS]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t")) for row in rows[1:] for cell in row)


def test_numbers_that_look_like_formulas_stay_numbers(tmp_path):
    out = tmp_path / "p.csv"
    write_predictions_csv(out, np.array([-1.5, 2.0]))
    assert out.read_text().splitlines()[1:] == ["-1.5", "2.0"]
    write_predictions_csv(out, np.array(["-1.5", "-inf"]))
    assert out.read_text().splitlines()[1:] == ["-1.5", "-inf"]


def test_predict_neutralises_formula_labels_from_training_data(capsys, tmp_path):
    import backprop as bp

    model = bp.Model.build(2, [3], task="classification", classes=["=HYPERLINK(\"http://x\")", "@A1"], seed=0)
    model.preprocessor.fit(np.random.default_rng(0).normal(size=(6, 2)))
    model.save(tmp_path / "m.safetensors")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n-3,4\n")
    assert main(["predict", str(tmp_path / "m.safetensors"), str(tmp_path / "x.csv")]) == 0
    out = capsys.readouterr().out
    cells = [row[0] for row in csv.reader(out.splitlines()[1:])]
    assert cells and all(cell.startswith("'") for cell in cells)


def test_a_gzipped_idx_declaring_more_than_the_memory_is_refused_before_decompressing(tmp_path):
    path = tmp_path / "huge-idx.gz"
    path.write_bytes(gzip.compress(idx_header((2**32 - 1,) * 4) + bytes(100), mtime=0))
    with pytest.raises(ValueError, match="more than this machine's memory"):
        read_idx(path)
