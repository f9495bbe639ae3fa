"""Atomic landing-file writes: a landing file is either absent or complete, never partial.

The bytes go to a hidden temp file in the target's folder (``.<name>.<random>.tmp``:
same filesystem, so the rename is atomic; a leading dot, so the landing globs skip it,
see ``market_regimes.landing.duckdb_io``), are fsynced, then ``os.replace``d onto the
target; the folder is fsynced so the rename survives a crash. On any error the temp
file is removed and the target is untouched.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import suppress
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (replacing ``path`` if it exists).

    Raises:
        OSError: the write, fsync or rename failed (the target is then unchanged).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some platforms cannot open a directory; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_batch_file(directory: Path, stem: str, data: bytes, suffix: str = ".csv") -> Path | None:
    """Land a collector batch as ``<stem><suffix>`` unless the same bytes already landed.

    Landing files are append-only: an existing file is never rewritten. When
    ``<stem><suffix>`` exists with other bytes (the exchange revised a bar of the same
    range), the batch lands as ``<stem>.r02<suffix>``, ``.r03`` ... — names that sort
    after the original, so a landing run that reads both applies them in order.

    Returns:
        the path written, or None when a file of this batch holds exactly ``data``.
    Raises:
        OSError: writing failed (nothing is left behind, see :func:`write_atomically`).
        FileExistsError: more than 99 revisions of one batch.
    """
    directory = Path(directory)
    for revision in range(1, 100):
        name = f"{stem}{suffix}" if revision == 1 else f"{stem}.r{revision:02d}{suffix}"
        path = directory / name
        if not path.exists():
            write_atomically(path, data)
            return path
        if path.read_bytes() == data:
            return None
    raise FileExistsError(f"{directory / stem}{suffix}: 99 revisions of one batch already landed")
