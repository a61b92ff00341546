"""File names and formats, in one place; every write is atomic.

A file is written to a temporary name in the destination folder, flushed to disk and renamed
over the final name, so a job killed mid-write never leaves a file that looks complete (a
leftover ``.<name>.tmp-*`` file is harmless and never matches an output name).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np
from scipy import sparse


class InputFileError(ValueError):
    """An input file is missing, unreadable, or does not match what it should contain."""


class OutputFileError(ValueError):
    """An output file cannot be written: its disk is full, its folder is read-only, not
    writable, or not a folder. The message names the file (and, for a full disk, the space
    the file needed and the space free)."""


# ---------------------------------------------------------------------------- atomic writing
@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", size: int | None = None
                ) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success rename it to ``path``, else delete it.

    ``size`` (bytes), when the caller knows it, is checked against the free space before
    anything is written. A full disk, a read-only, unwritable or missing-and-uncreatable
    folder raises :class:`OutputFileError` with one line naming the file (the CLI prints it
    and exits with status 2); nothing is left behind.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if size is not None and size > _free_bytes(path.parent):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    except OSError as exc:
        raise _output_error(path, exc, size, 0) from exc
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        written = 0
        with contextlib.suppress(OSError):
            written = os.stat(tmp).st_size
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno in _OUTPUT_ERRNOS:
            raise _output_error(path, exc, size, written) from exc
        raise


# What a write can meet that is about the output's place, not about the program.
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES,
                  errno.EPERM, errno.ENOTDIR, errno.EEXIST, errno.EISDIR}


def _free_bytes(folder: Path) -> int:
    stat = os.statvfs(folder)
    return stat.f_bavail * stat.f_frsize


def _output_error(path: Path, exc: OSError, size: int | None, written: int) -> OutputFileError:
    folder = path.parent
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        needed = f"it needs {_gb(size)}" if size is not None else \
            f"it needed more than the {_gb(written)} written"
        try:
            free = f"{_gb(_free_bytes(folder))} free in {str(folder)!r}"
        except OSError:
            free = f"free space in {str(folder)!r} unknown"
        reason = "no space left on device" if exc.errno != errno.EDQUOT else "disk quota exceeded"
        return OutputFileError(f"cannot write {str(path)!r}: {reason} ({needed}, {free})")
    if exc.errno == errno.EROFS:
        return OutputFileError(f"cannot write {str(path)!r}: {str(folder)!r} is on a read-only "
                               "file system")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return OutputFileError(f"cannot write {str(path)!r}: permission denied in "
                               f"{str(folder)!r}")
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        blocker = next((p for p in [folder, *folder.parents] if p.exists() and not p.is_dir()),
                       folder)
        return OutputFileError(f"cannot write {str(path)!r}: {str(blocker)!r} is a file, not a "
                               "folder")
    if exc.errno == errno.EISDIR:
        return OutputFileError(f"cannot write {str(path)!r}: it is a folder")
    return OutputFileError(f"cannot write {str(path)!r}: {exc.strerror or exc}")


def _gb(n_bytes: int) -> str:
    if n_bytes >= 10**9:
        return f"{n_bytes / 1e9:.2f} GB"
    if n_bytes >= 10**6:
        return f"{n_bytes / 1e6:.1f} MB"
    return f"{n_bytes / 1e3:.1f} kB"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_arrays(path: str | os.PathLike, compress: bool = False, **arrays) -> None:
    """Write arrays to an ``.npz`` atomically (uncompressed by default: fast, loads the same).

    The archive is what ``np.savez`` writes, but with a fixed timestamp on every entry, so the
    same arrays always give the same bytes (``np.savez`` stamps each entry with the clock).
    """
    # The archive's size when stored (what the disk must hold; less when compressed): each
    # array's bytes, its .npy header and the zip's entry headers.
    size = sum(np.asanyarray(value).nbytes + 512 for value in arrays.values())
    with atomic_open(path, size=None if compress else size) as handle:
        _write_npz(handle, arrays, compress)


def save_sparse(path: str | os.PathLike, matrix: sparse.spmatrix | sparse.sparray,
                compress: bool = False) -> None:
    """Write a CSR/CSC matrix atomically in the layout of ``scipy.sparse.save_npz`` (read back
    by ``scipy.sparse.load_npz``), with the reproducible bytes of :func:`save_arrays`."""
    if matrix.format not in ("csr", "csc"):
        raise ValueError(f"save_sparse writes CSR or CSC matrices; got {matrix.format}")
    arrays = {"indices": matrix.indices, "indptr": matrix.indptr,
              "format": np.bytes_(matrix.format.encode("ascii")),
              "shape": np.asarray(matrix.shape), "data": matrix.data}
    if isinstance(matrix, sparse.sparray):
        arrays["_is_array"] = np.bool_(True)
    save_arrays(path, compress, **arrays)


_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry


def _write_npz(handle: IO, arrays: dict, compress: bool) -> None:
    compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(handle, mode="w", compression=compression, allowZip64=True) as archive:
        for key, value in arrays.items():
            entry = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_EPOCH)
            entry.compress_type = compression
            entry.external_attr = 0o644 << 16
            with archive.open(entry, "w", force_zip64=True) as member:
                _write_npy(member, np.asanyarray(value))


_CHUNK_BYTES = 1 << 24  # 16 MiB per write: large enough for the disk, small for the CPU cache


def _write_npy(member: IO, array: np.ndarray) -> None:
    """Write ``array`` in the ``.npy`` format, byte for byte what ``np.lib.format.write_array``
    writes, but streaming the bytes straight from the array's buffer. ``write_array`` copies
    each 16 MiB block into a new bytes object first; the page faults of those fresh blocks
    cost as much as the disk (2.6 s for 0.8 GB on the machine of docs/percolation.md)."""
    plain = (not array.dtype.hasobject and array.dtype.names is None
             and getattr(type(array.dtype), "_legacy", True))
    if not plain or not (array.flags.c_contiguous or array.flags.f_contiguous):
        np.lib.format.write_array(member, array, allow_pickle=False)
        return
    # The header write_array writes: format 1.0, whose 64 KiB header always holds a plain
    # dtype and at most 64 dimensions (2.0 and 3.0 are for long or unicode structured dtypes,
    # left to write_array above).
    np.lib.format.write_array_header_1_0(member, np.lib.format.header_data_from_array_1_0(array))
    # A Fortran-ordered array (and not also C-ordered) is stored as its transpose's C order.
    data = array if array.flags.c_contiguous else array.T
    flat = memoryview(data.reshape(-1).view(np.uint8))
    member.writelines(flat[start:start + _CHUNK_BYTES]
                      for start in range(0, flat.nbytes, _CHUNK_BYTES))


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w") as handle:
        handle.write(text)


def write_json(path: str | os.PathLike, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_csv(path: str | os.PathLike, frame) -> None:
    """Write a pandas DataFrame as CSV (no index) atomically."""
    with atomic_open(path, "w") as handle:
        frame.to_csv(handle, index=False)


# ---------------------------------------------------------------------------- reading
def load_arrays(path: str | os.PathLike, required: tuple[str, ...] = (), what: str = "file"
                ) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz``; raise InputFileError naming the file if it is missing,
    unreadable, or lacks one of ``required``."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{what} {str(path)!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except Exception as exc:  # zipfile.BadZipFile, ValueError, OSError, EOFError ...
        raise InputFileError(f"{what} {str(path)!r} is not a readable .npz file ({exc})") from exc
    missing = [key for key in required if key not in arrays]
    if missing:
        raise InputFileError(f"{what} {str(path)!r} lacks the arrays {missing}; "
                             f"it has {sorted(arrays)}")
    return arrays


def load_sparse(path: str | os.PathLike, what: str = "feature file") -> sparse.csr_matrix:
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{what} {str(path)!r} does not exist")
    try:
        return sparse.load_npz(path).tocsr()
    except Exception as exc:
        raise InputFileError(f"{what} {str(path)!r} is not a readable sparse .npz file "
                             f"({exc})") from exc


# ---------------------------------------------------------------------------- dataset names
def dataset_stem(size: int, dim: int, seed: int) -> str:
    """``percolation_dataset_size<N>_dim<D>_seed<S>``, the published datasets' naming."""
    return f"percolation_dataset_size{size}_dim{dim}_seed{seed}"


class DatasetPaths:
    """The four files of one dataset, named as in spec section 7 (plus the graph file).

    ``suffix`` names a derived dataset (e.g. ``_minsize10`` after filtering) and goes before the
    file-specific part, so the derived files load with the same snippet.
    """

    def __init__(self, outdir: str | os.PathLike, size: int, dim: int, seed: int,
                 suffix: str = ""):
        self.outdir = Path(outdir)
        self.stem = dataset_stem(size, dim, seed) + suffix

    @classmethod
    def from_main_file(cls, path: str | os.PathLike) -> DatasetPaths:
        """The paths that belong with a main ``<stem>.npz`` file."""
        path = Path(path)
        if path.suffix != ".npz":
            raise InputFileError(f"dataset file {str(path)!r} should end in .npz")
        self = cls.__new__(cls)
        self.outdir = path.parent
        self.stem = path.stem
        return self

    def with_suffix(self, suffix: str, outdir: str | os.PathLike | None = None) -> DatasetPaths:
        other = DatasetPaths.__new__(DatasetPaths)
        other.outdir = Path(outdir) if outdir is not None else self.outdir
        other.stem = self.stem + suffix
        return other

    @property
    def main(self) -> Path:
        return self.outdir / f"{self.stem}.npz"

    @property
    def features(self) -> Path:
        return self.outdir / f"{self.stem}_gt_features.npz"

    @property
    def metadata(self) -> Path:
        return self.outdir / f"{self.stem}_gt_metadata.npz"

    @property
    def graph(self) -> Path:
        return self.outdir / f"{self.stem}_graph.npz"

    def all(self) -> list[Path]:
        return [self.main, self.features, self.metadata, self.graph]
