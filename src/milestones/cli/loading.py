"""The cyclic garbage collector while a run loads its code.

A run's first steps import pydantic, the CRM's client library and the engine and build the
config: some hundreds of thousands of objects (modules, classes, functions) that live until
the process ends, and next to no garbage. Collections meanwhile scan them again and again and
free nothing: about 5% of an idle run's CPU. So the collector is paused while a run loads,
and once the engine is built everything that exists is frozen (``gc.freeze``: later
collections skip it, https://docs.python.org/3/library/gc.html#gc.freeze) and the collector
runs as before. This happens once per process: a loop's later runs, and a second command in
the same process, find their code loaded and change nothing.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


class _Loading:
    paused = False  # the collector is off until the run's code is loaded
    done = False  # the code is loaded and frozen: nothing more to do in this process


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the collector for what this block loads, until ``run_loaded`` (or its end)."""
    if _Loading.done or _Loading.paused or not gc.isenabled():
        yield
        return
    gc.disable()
    _Loading.paused = True
    try:
        yield
    finally:
        if _Loading.paused:  # the block ended before its run was loaded (an error, say)
            _Loading.paused = False
            gc.enable()


def run_loaded() -> None:
    """The run's code and objects are built: freeze them and let the collector run again."""
    if _Loading.paused:
        _Loading.paused = False
        _Loading.done = True
        gc.freeze()
        gc.enable()
