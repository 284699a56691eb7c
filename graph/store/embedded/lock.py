"""One writer process per database file: an exclusive, non-blocking ``flock`` on
``<db path>.lock`` for as long as the store is open. The holder writes its PID in
the file, so a refused process can say who holds it. The kernel drops the lock
when the holder exits, however it exits (kill -9 included).
"""

from __future__ import annotations

import contextlib
import fcntl
import os

from graph.errors import StoreUnavailable


class StoreInUse(StoreUnavailable):
    """The embedded database is open in another process (the store has one writer process)."""


class ProcessLock:
    """The exclusive lock of one database file, taken on construction."""

    def __init__(self, db_path: str) -> None:
        self.path = db_path + ".lock"
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            where = "this process" if holder == str(os.getpid()) else "another process"
            raise StoreInUse(
                f"{db_path} is already open in {where} (pid {holder}); the embedded store has one "
                "writer process: stop it or point this one at another database (commands that only read, "
                "such as `ringsight audit verify`, open it read-only beside it)"
            ) from None
        except OSError:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None
