"""One run per state file: a lock file beside it, taken without waiting.

Two runs on one state would interleave pages and cursors; the second one is refused with a
message that says which file is held. The lock is an OS file lock (``filelock``), so it is
released when the process ends, however it ends (even SIGKILL).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout


class AlreadyRunning(Exception):
    """Another run holds the state file's lock."""

    def __init__(self, state_path: Path, lock_path: Path) -> None:
        super().__init__(
            f"another milestones run is using {state_path} (lock {lock_path}); "
            "this run did nothing: try again when that one ends"
        )
        self.state_path = state_path
        self.lock_path = lock_path


def lock_path_for(state_path: Path) -> Path:
    """The lock file that guards ``state_path``."""
    return state_path.with_name(state_path.name + ".lock")


@contextmanager
def run_lock(state_path: Path) -> Iterator[None]:
    """Hold the state's run lock for the block; raise ``AlreadyRunning`` if it is taken."""
    path = lock_path_for(state_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), timeout=0, mode=0o600)
    try:
        lock.acquire()
    except Timeout:
        raise AlreadyRunning(state_path, path) from None
    try:
        yield
    finally:
        lock.release()
