"""The index saved beside its database: ``<db path>.index/`` with one ``.npy`` file per
array and a ``manifest.json`` (format, the database's identity token, how many
applications, identifiers and applicants the arrays cover, each file's size and CRC-32).

A save writes a new directory and renames it into place, so a crash leaves the old
index or none, never half of one. A load checks the manifest, each file's size and
checksum, then memory-maps the arrays (pages are read as they are used).
Anything wrong raises :class:`IndexUnusable` with the reason; the store then
rebuilds from SQLite.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import zlib
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1
MANIFEST = "manifest.json"


class IndexUnusable(ValueError):
    """A saved index that must not be used (missing, foreign, stale or damaged)."""


def index_dir(db_path: str) -> Path:
    return Path(db_path + ".index")


class _Checksummed:
    """A write-only file that keeps the CRC-32 and size of what went through it."""

    def __init__(self, fh: Any) -> None:
        self._fh = fh
        self.crc = 0
        self.size = 0

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.crc = zlib.crc32(view, self.crc)
        self.size += len(view)
        return int(self._fh.write(view))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(directory: Path, manifest: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` and ``manifest`` (plus the file list) as the index in ``directory``."""
    parent = directory.parent
    for stale in parent.glob(f"{directory.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in parent.glob(f"{directory.name}.old-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = parent / f"{directory.name}.tmp-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        files: dict[str, dict[str, Any]] = {}
        for name, array in arrays.items():
            array = np.ascontiguousarray(array)
            with (tmp / f"{name}.npy").open("wb") as fh:
                out = _Checksummed(fh)
                np.lib.format.write_array(out, array, allow_pickle=False)
                fh.flush()
                os.fsync(fh.fileno())
            files[name] = {"bytes": out.size, "crc32": out.crc, "dtype": array.dtype.str, "shape": list(array.shape)}
        with (tmp / MANIFEST).open("w") as fh:
            json.dump({**manifest, "format": FORMAT, "files": files}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        _fsync_dir(tmp)
        old = None
        if directory.exists():
            old = parent / f"{directory.name}.old-{secrets.token_hex(4)}"
            os.rename(directory, old)
        os.rename(tmp, directory)
        _fsync_dir(parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _crc_of(path: Path) -> tuple[int, int]:
    crc = size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 24):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    return crc, size


def load(directory: Path, identity: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The manifest and arrays of the index in ``directory``, if it is whole and belongs to
    the database whose identity token is ``identity``."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError as exc:
        raise IndexUnusable("no saved index") from exc
    except (OSError, ValueError) as exc:
        raise IndexUnusable(f"unreadable manifest: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexUnusable(f"index format {manifest.get('format') if isinstance(manifest, dict) else '?'}")
    if manifest.get("identity") != identity:
        raise IndexUnusable("the index belongs to another database")
    arrays: dict[str, np.ndarray] = {}
    try:
        for name, spec in manifest["files"].items():
            path = directory / f"{name}.npy"
            crc, size = _crc_of(path)
            if (crc, size) != (spec["crc32"], spec["bytes"]):
                raise IndexUnusable(f"{path.name} is damaged (size or checksum differs)")
            empty = 0 in spec["shape"]
            array = np.load(path, mmap_mode=None if empty else "r", allow_pickle=False)
            if array.dtype.str != spec["dtype"] or list(array.shape) != spec["shape"]:
                raise IndexUnusable(f"{path.name} holds another array than the manifest says")
            # a plain ndarray over the map: np.memmap's Python-level slicing is ten times slower
            arrays[name] = array.view(np.ndarray) if isinstance(array, np.memmap) else array
    except IndexUnusable:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexUnusable(f"unreadable index: {exc}") from exc
    return manifest, arrays
