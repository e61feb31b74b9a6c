"""Whether a state file can be used: the error that names the file and the way forward.

A damaged, truncated, unwritable or newer state file is something the user must act on, like
a bad config: ``StateError`` carries the file, what is wrong and the next step
(``milestones state check``, ``milestones state restore``), and the CLI maps it to exit 2.
``check_state`` is what ``milestones state check`` reports: SQLite's ``integrity_check``,
the schema version, and whether the file is shorter than its own header says.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from milestones.store.schema import MIGRATIONS

NEXT_STEP = (
    "run `milestones state check` to see what is wrong, then `milestones state restore` "
    "to go back to the newest good backup"
)


class StateError(Exception):
    """The state file cannot be used as it is; the message names it and the next step."""

    def __init__(self, path: Path | str, problem: str, next_step: str = NEXT_STEP) -> None:
        where = f"state file {path}" if isinstance(path, Path) else f"state {path}"
        super().__init__(f"{where}: {problem}; {next_step}")
        self.path, self.problem, self.next_step = path, problem, next_step


def is_state_failure(exc: BaseException) -> bool:
    """True for SQLite's word that the file failed us (damage, full disk, permissions), as
    opposed to a programming error such as a constraint or a bad statement."""
    return type(exc) in (sqlite3.DatabaseError, sqlite3.OperationalError)


def state_error(path: Path, exc: sqlite3.Error) -> StateError:
    """The ``StateError`` for an SQLite failure on ``path`` (full disk, read-only, damage)."""
    text = str(exc)
    if "disk is full" in text or "disk I/O" in text:
        return StateError(
            path, f"cannot write ({text}); nothing of this step was written", "free space, rerun"
        )
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return StateError(
            path,
            f"cannot write ({text})",
            "check the file's and its folder's owner and permissions, then rerun",
        )
    return StateError(path, f"damaged ({text})")


def newer_schema(path: Path | str, version: int) -> StateError:
    """The file was written by a newer release: refuse, naming both versions."""
    return StateError(
        path,
        f"schema version {version} is newer than this release of milestones understands "
        f"(up to {len(MIGRATIONS)})",
        "upgrade milestones to the release that wrote it (nothing was changed)",
    )


def truncation(path: Path) -> str | None:
    """What is missing when the file is shorter than its header's page count, else None."""
    try:
        with path.open("rb") as handle:
            header = handle.read(100)
        size = path.stat().st_size
    except OSError:
        return None
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        return None if size == 0 else "not an SQLite database (its header is gone)"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = header[24:28] == header[92:96]  # the page count is trusted only then
    if valid and pages and size < page_size * pages:
        return f"truncated: {size} bytes of {page_size * pages}"
    return None


@dataclass(frozen=True, slots=True)
class StateHealth:
    """What ``milestones state check`` reports about one state file."""

    path: str
    exists: bool
    schema_version: int | None
    supported_version: int
    problems: list[str]

    @property
    def is_ok(self) -> bool:
        """True when the file exists, passes every check and needs nothing but migrations."""
        return self.exists and not self.problems


def check_state(path: Path) -> StateHealth:
    """Check a state file without changing it: header, schema version, ``integrity_check``."""
    supported = len(MIGRATIONS)
    if not path.exists():
        return StateHealth(str(path), False, None, supported, ["no state file"])
    problems: list[str] = []
    cut = truncation(path)
    if cut:
        problems.append(cut)
    version: int | None = None
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            rows = [str(r[0]) for r in db.execute("PRAGMA integrity_check(20)")]
            if rows != ["ok"]:
                problems.extend(f"integrity: {r}" for r in rows)
        finally:
            db.close()
    except sqlite3.Error as exc:
        problems.append(f"unreadable: {exc}")
    if version is not None and version > supported:
        problems.append(f"schema version {version} is newer than this release's {supported}")
    return StateHealth(str(path), True, version, supported, problems)
