"""File names and formats, in one place; every write is atomic.

A file is written to a temporary name in the destination folder, flushed to disk and renamed
over the final name, so a job killed mid-write never leaves a file that looks complete (a
leftover ``.<name>.tmp-*`` file is harmless and never matches an output name).
"""

from __future__ import annotations

import contextlib
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


# ---------------------------------------------------------------------------- atomic writing
@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success rename it to ``path``, else delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_arrays(path: str | os.PathLike, compress: bool = False, **arrays) -> None:
    """Write arrays to an ``.npz`` atomically (uncompressed by default: fast, loads the same).

    The archive is what ``np.savez`` writes, but with a fixed timestamp on every entry, so the
    same arrays always give the same bytes (``np.savez`` stamps each entry with the clock).
    """
    with atomic_open(path) as handle:
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
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)


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
