"""One run per state: taken without waiting, released however the run ends.

Two runs on one state would interleave pages and cursors; the second one is refused with a
message that says which state is held. For an SQLite file the lock is an OS file lock beside
it (``filelock``); for an org in PostgreSQL it is a session-level advisory lock keyed by the
org (``store.postgres.hold_run_lock``). Either is released when the process ends, however it
ends (even SIGKILL): the OS drops the file lock, the server the session's locks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from milestones.store.location import StateLocation


class AlreadyRunning(Exception):
    """Another run holds the state's lock."""

    def __init__(self, state_path: Path | str, lock_path: Path | str) -> None:
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
def run_lock(state: Path | StateLocation) -> Iterator[None]:
    """Hold the state's run lock for the block; raise ``AlreadyRunning`` if it is taken."""
    if isinstance(state, StateLocation) and state.url is not None:
        with _advisory_lock(state.url, state.org or ""):
            yield
        return
    state_path = state.path if isinstance(state, StateLocation) else state
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


@contextmanager
def _advisory_lock(url: str, org: str) -> Iterator[None]:
    from milestones.store.postgres import LockHeld, hold_run_lock, lock_key

    try:
        with hold_run_lock(url, org):
            yield
    except LockHeld as exc:
        raise AlreadyRunning(str(exc), f"advisory lock {lock_key(org)}") from None
