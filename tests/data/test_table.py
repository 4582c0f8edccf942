"""Reading tables as people have them: delimiters, compression, headers, missing values, limits."""

import bz2
import gzip
import io
import lzma
import zipfile

import numpy as np
import pytest

from backprop.data import table as table_module
from backprop.data.columns import numbers_of
from backprop.data.table import MISSING, read_table

ROWS = [["x1", "x2", "animal"], ["1.5", "2", "cat"], ["3", "-4e-1", "dog"], ["5", "6", "cat"]]


def text_with(sep: str) -> str:
    return "\n".join(sep.join(row) for row in ROWS) + "\n"


def check_frame(t):
    assert t.columns == ["x1", "x2", "animal"]
    assert t.frame["x1"].tolist() == [1.5, 3.0, 5.0]
    assert t.frame["x2"].tolist() == [2.0, -0.4, 6.0]
    assert t.frame["animal"].tolist() == ["cat", "dog", "cat"]
    assert t.lines.tolist() == [2, 3, 4]


@pytest.mark.parametrize("sep, name", [(",", ","), (";", ";"), ("\t", "tab"), ("|", "|"), ("   ", "whitespace"),
                                       (" ", "whitespace")])
def test_every_delimiter_is_detected(tmp_path, sep, name):
    path = tmp_path / "t.csv"
    path.write_text(text_with(sep))
    t = read_table(path)
    check_frame(t)
    assert t.options["delimiter"] == name


@pytest.mark.parametrize("sep, name", [(";", ";"), ("\t", "tab")])
def test_a_delimiter_given_is_used(tmp_path, sep, name):
    path = tmp_path / "t.txt"
    path.write_text(text_with(sep))
    check_frame(read_table(path, delimiter=name))
    # The wrong one gives one column per line and a clean refusal of the one-column table downstream,
    # never a silent misreading: here every row is a single field.
    assert read_table(path, delimiter=",").frame.shape[1] == 1


def _zip(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("inner.csv", data)
    return buffer.getvalue()


@pytest.mark.parametrize("kind, pack", [("gzip", gzip.compress), ("bzip2", bz2.compress), ("xz", lzma.compress),
                                        ("zip", _zip)])
def test_every_compression_is_read_as_it_is(tmp_path, kind, pack):
    # The name does not matter: the first bytes say how the file is compressed.
    path = tmp_path / "data.bin"
    path.write_bytes(pack(text_with(";").encode()))
    t = read_table(path)
    check_frame(t)
    assert t.options["compression"] == kind


def test_a_zip_of_two_tables_and_a_damaged_gzip_are_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("a.csv", "a,b\n1,2\n")
        z.writestr("b.csv", "a,b\n1,2\n")
    two = tmp_path / "two.zip"
    two.write_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match="zip archive of 2 files .*a.csv, b.csv.*exactly one"):
        read_table(two)
    broken = tmp_path / "broken.csv.gz"
    whole = gzip.compress("".join(f"{i},{i * i}\n" for i in range(5000)).encode())
    broken.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match="looks gzip-compressed but cannot be decompressed"):
        read_table(broken)


@pytest.mark.parametrize("spelling", MISSING)
def test_each_missing_value_spelling_reads_as_missing(tmp_path, spelling):
    path = tmp_path / "na.csv"
    path.write_text(f"a,b,c\n1,{spelling},x\n2,3,{spelling}\n4,5,y\n")
    frame = read_table(path).frame
    assert np.isnan(frame["b"].iloc[0]) and frame["b"].iloc[1] == 3.0
    assert frame["c"].isna().tolist() == [False, True, False]


def test_no_header_and_skip_rows(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("exported by a tool\nunits: cm\n1,2,a\n3,4,b\n5,6,a\n")
    t = read_table(path, header=False, skip_rows=2)
    assert t.columns == ["0", "1", "2"] and len(t.frame) == 3
    assert t.lines.tolist() == [3, 4, 5]
    t = read_table(path, skip_rows=2)  # with a header, the first row left names the columns
    assert t.columns == ["1", "2", "a"] and len(t.frame) == 2
    with pytest.raises(ValueError, match="fewer than 7 lines"):
        read_table(path, skip_rows=6)


def test_standard_input(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text_with(",").encode())))
    t = read_table("-")
    check_frame(t)
    assert t.source == "<stdin>"


@pytest.mark.parametrize("cell", ["1_000", "١٢", "0x10", "1,5"])
def test_numbers_are_strict(tmp_path, cell):
    """Python's float takes '1_000' and Arabic-Indic digits; a table reader must not."""
    path = tmp_path / "n.csv"
    path.write_text(f"a;b\n1;2\n{cell};3\n4;5\n")
    t = read_table(path)
    with pytest.raises(ValueError, match=f"n.csv, line 3, column 'a': '{cell}' is not a number"):
        numbers_of(t.frame["a"], "a", t.source, t.lines)


def test_a_column_of_words_is_text_not_an_error(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("a,b\n١,x\n٢,y\n٣,z\n")
    assert numbers_of(read_table(path).frame["a"], "a") is None


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    path.write_text("a,b\n" + "1,2\n" * 1000)
    with pytest.raises(ValueError, match=r"has 4,004 bytes, more than the 1,000 a table may have"):
        read_table(path, max_bytes=1000)
    monkeypatch.setenv("BACKPROP_MAX_TABLE_BYTES", "2000")
    monkeypatch.setattr(table_module.pd if hasattr(table_module, "pd") else table_module, "read_csv",
                        lambda *a, **k: pytest.fail("parsed an oversized file"), raising=False)
    with pytest.raises(ValueError, match="more than the 2,000"):
        read_table(path)


def test_a_compressed_bomb_is_stopped_at_the_limit(tmp_path):
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n" + b"0,0\n" * 1_000_000))  # 4 MB inflated from a few KB
    assert path.stat().st_size < 100_000
    with pytest.raises(ValueError, match="decompresses to more than the 100,000 bytes"):
        read_table(path, max_bytes=100_000)


def test_too_many_columns_are_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(table_module, "MAX_COLUMNS", 50)
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(60)) + "\n" + ",".join("1" * 60) + "\n")
    with pytest.raises(ValueError, match="line 1: 60 columns, more than the 50"):
        read_table(path)


@pytest.mark.parametrize("body, match", [
    ("a,b,c\n1,2,3\n1,2\n", r"line 3: 2 fields, but the header has 3 columns"),
    ("a,b,c\n1,2,3\n1,2,3,4\n", r"line 3: 4 fields, but the header has 3 columns"),
    ("a,,c\n1,2,3\n", r"column 2 of the header row \(line 1\) has no name.*--no-header"),
    ("a,b,a\n1,2,3\n", r"names column\(s\) 'a' more than once"),
    ("a,b\n", r"has a header row but no data rows"),
    ("\n\n", r"is empty"),
])
def test_malformed_tables_get_one_line_naming_the_problem(tmp_path, body, match):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(ValueError, match=match) as info:
        read_table(path)
    assert "\n" not in str(info.value)


def test_text_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("a,b\n1,2\n3,caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin.csv is not UTF-8 text: line 3 holds the byte 0xe9"):
        read_table(path)


def test_the_sha256_is_of_the_bytes_on_disk(tmp_path):
    import hashlib

    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(text_with(",").encode()))
    assert read_table(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_names_are_the_checked_ones_even_where_pandas_would_merge_them(tmp_path):
    # A second byte-order mark is part of the first name; pandas drops it and would see 't' twice.
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf\xef\xbb\xbft, t \n0,1\n")
    t = read_table(path)
    assert t.columns == ["\ufefft", "t"]
    assert t.frame.iloc[0].tolist() == [0, 1] and t.frame["t"].tolist() == [1]
