"""Atomic, reproducible file writing."""

import hashlib
import os

import numpy as np
import pytest
from scipy import sparse

from percolation_tms import io


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_arrays_give_the_same_bytes(tmp_path, monkeypatch):
    arrays = {"X": np.arange(12.0).reshape(3, 4), "name": np.str_("distribution"),
              "n": np.int64(3)}
    io.save_arrays(tmp_path / "a.npz", **arrays)
    # A later clock must not change the bytes (np.savez stamps entries with the time).
    monkeypatch.setattr("time.time", lambda: 2_000_000_000.0)
    io.save_arrays(tmp_path / "b.npz", **arrays)
    assert digest(tmp_path / "a.npz") == digest(tmp_path / "b.npz")
    loaded = np.load(tmp_path / "a.npz")
    assert loaded["name"] == "distribution" and loaded["n"] == 3
    np.testing.assert_array_equal(loaded["X"], arrays["X"])


@pytest.mark.parametrize("make", [sparse.csr_matrix, sparse.csr_array, sparse.csc_matrix])
def test_sparse_files_load_with_scipy_as_scipy_writes_them(tmp_path, make):
    matrix = make(np.array([[0, 1.5, 0], [2.0, 0, 0], [0, 0, 0], [0, 3, 4]]))
    io.save_sparse(tmp_path / "ours.npz", matrix)
    sparse.save_npz(tmp_path / "scipy.npz", matrix)
    ours, theirs = sparse.load_npz(tmp_path / "ours.npz"), sparse.load_npz(tmp_path / "scipy.npz")
    assert type(ours) is type(theirs) is type(matrix)
    assert (ours != theirs).nnz == 0
    a, b = np.load(tmp_path / "ours.npz"), np.load(tmp_path / "scipy.npz")
    assert sorted(a.files) == sorted(b.files)


def test_a_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), io.atomic_open(tmp_path / "out.bin") as handle:
        handle.write(b"partial")
        raise RuntimeError("killed")
    assert os.listdir(tmp_path) == []


def test_outputs_get_the_usual_mode(tmp_path):
    io.write_text(tmp_path / "t.txt", "x")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "t.txt").stat().st_mode & 0o777 == 0o666 & ~mask
