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


# ---------------------------------------------------------------------------- fast npz writer
def reference_write_npz(handle, arrays, compress):
    """The writer before streaming: np.lib.format.write_array into each zip entry."""
    import zipfile

    compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(handle, mode="w", compression=compression, allowZip64=True) as archive:
        for key, value in arrays.items():
            entry = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = compression
            entry.external_attr = 0o644 << 16
            with archive.open(entry, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)


def sample_arrays():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 7))
    return {
        "X": X, "X32": X.astype(np.float32), "fortran": np.asfortranarray(X),
        "strided": X[::2, 1:5], "transposed": X.T, "empty": np.zeros((0, 3)),
        "ints": rng.integers(-5, 5, 1000), "flags": rng.random(33) > 0.5,
        "format": np.bytes_(b"csr"), "name": np.str_("distribution"), "n": np.int64(3),
        "names": np.array(["mean", "ridge", "knn"]), "cube": rng.random((4, 5, 6)),
        "big_endian": X[:10].astype(">f8"),
        "structured": np.zeros(4, dtype=[("a", "<f8"), ("b", "<i4")]),
    }


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("chunk", [None, 64, 1000])
def test_npz_bytes_equal_the_write_array_writer(tmp_path, monkeypatch, compress, chunk):
    if chunk is not None:  # chunks that split arrays (and items) anywhere
        monkeypatch.setattr(io, "_CHUNK_BYTES", chunk)
    arrays = sample_arrays()
    io.save_arrays(tmp_path / "new.npz", compress, **arrays)
    with open(tmp_path / "old.npz", "wb") as handle:
        reference_write_npz(handle, arrays, compress)
    assert (tmp_path / "new.npz").read_bytes() == (tmp_path / "old.npz").read_bytes()
    with np.load(tmp_path / "new.npz") as loaded:
        for key, value in arrays.items():
            np.testing.assert_array_equal(loaded[key], value)


def test_sparse_bytes_equal_the_write_array_writer(tmp_path):
    matrix = sparse.random(200, 50, density=0.1, format="csr", random_state=1)
    io.save_sparse(tmp_path / "new.npz", matrix)
    arrays = {"indices": matrix.indices, "indptr": matrix.indptr,
              "format": np.bytes_(b"csr"), "shape": np.asarray(matrix.shape),
              "data": matrix.data}
    with open(tmp_path / "old.npz", "wb") as handle:
        reference_write_npz(handle, arrays, False)
    assert (tmp_path / "new.npz").read_bytes() == (tmp_path / "old.npz").read_bytes()
    assert (sparse.load_npz(tmp_path / "new.npz") != matrix).nnz == 0


def test_array_bytes_go_to_the_zip_entry_without_a_copy(tmp_path, monkeypatch):
    # Every block of an array's data reaches the zip entry as a view of the array's own
    # buffer, not as a fresh bytes object (the copies cost as much as the disk at 1 GB).
    import zipfile

    X = np.arange(3 * 2**20, dtype=np.float64).reshape(-1, 3)
    writes = []
    real_write = zipfile._ZipWriteFile.write

    def spy(self, data):
        writes.append(data)
        return real_write(self, data)

    monkeypatch.setattr(zipfile._ZipWriteFile, "write", spy)
    io.save_arrays(tmp_path / "x.npz", X=X)
    data_writes = [w for w in writes if memoryview(w).nbytes > 1024]
    assert sum(memoryview(w).nbytes for w in data_writes) == X.nbytes
    for w in data_writes:
        assert isinstance(w, memoryview)
        assert np.shares_memory(np.frombuffer(w, dtype=np.uint8), X)


# ---------------------------------------------------------------------------- output errors
def mount_tmpfs(folder, options):
    """Mount a small tmpfs at ``folder`` (root only); skip the test with the reason if not."""
    import subprocess

    folder.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs ({result.stderr.strip() or 'not root'})")
    return folder


@pytest.fixture
def small_disk(tmp_path):
    import subprocess

    folder = mount_tmpfs(tmp_path / "disk", "size=1m")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture
def read_only_disk(tmp_path):
    import subprocess

    folder = mount_tmpfs(tmp_path / "ro", "size=1m,ro")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_a_file_too_big_for_the_disk_is_refused_before_writing(small_disk):
    X = np.zeros((2000, 100))  # 1.6 MB on a 1 MiB disk
    with pytest.raises(io.OutputFileError) as caught:
        io.save_arrays(small_disk / "out" / "x.npz", X=X)
    message = str(caught.value)
    assert "\n" not in message
    assert f"{small_disk / 'out' / 'x.npz'}" in message
    assert "no space left on device" in message
    assert "it needs 1.6 MB" in message and "1.0 MB free" in message
    assert os.listdir(small_disk / "out") == []


def test_a_disk_that_fills_while_writing(small_disk):
    # The size is not known in advance (text, a figure): the disk fills mid-write.
    path = small_disk / "t.txt"
    with pytest.raises(io.OutputFileError) as caught, io.atomic_open(path, "w") as handle:
        for _ in range(300):
            handle.write("x" * 10_000)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    assert "no space left on device" in message and "free in" in message
    assert "it needed more than" in message
    assert os.listdir(small_disk) == []


def test_a_read_only_folder(read_only_disk):
    with pytest.raises(io.OutputFileError, match="read-only file system") as caught:
        io.write_text(read_only_disk / "t.txt", "x")
    assert str(read_only_disk / "t.txt") in str(caught.value)


def test_a_folder_that_is_a_file(tmp_path):
    (tmp_path / "plain").write_text("not a folder")
    with pytest.raises(io.OutputFileError, match="is a file, not a folder") as caught:
        io.write_text(tmp_path / "plain" / "sub" / "t.txt", "x")
    assert repr(str(tmp_path / "plain")) in str(caught.value)


def test_a_folder_without_permission(tmp_path, monkeypatch):
    # Root ignores file modes, so the refusal the kernel would give is simulated.
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    with pytest.raises(io.OutputFileError, match="permission denied in"):
        io.write_text(tmp_path / "t.txt", "x")


def test_other_errors_in_the_block_pass_through(tmp_path):
    with pytest.raises(FileNotFoundError), io.atomic_open(tmp_path / "t.txt") as handle:
        handle.write(b"x")
        (tmp_path / "missing-input").read_bytes()
    assert os.listdir(tmp_path) == []


def test_the_cli_prints_one_line_for_a_full_disk(small_disk, capsys):
    from percolation_tms import cli

    status = cli.main(["-q", "generate", "--mode", "distribution", "--size", "3000",
                       "--dim", "64", "--seed", "0", "--outdir", str(small_disk)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1, err
    assert err[0].startswith("percolation-tms generate: error: cannot write ")
    assert "no space left on device" in err[0]
    assert os.listdir(small_disk) == []
