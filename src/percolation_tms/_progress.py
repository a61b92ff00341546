"""Progress and timing messages on stderr (stdout stays free for data)."""

from __future__ import annotations

import contextlib
import sys
import time

_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def log(message: str) -> None:
    if not _quiet:
        print(f"[percolation-tms {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr,
              flush=True)


@contextlib.contextmanager
def stage(name: str):
    """Log the start and the duration of a named step."""
    log(f"{name} ...")
    start = time.perf_counter()
    yield
    log(f"{name} done in {time.perf_counter() - start:.2f} s")
