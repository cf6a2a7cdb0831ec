"""SIGINT (Ctrl-C) and SIGTERM stop a command the same way: what is done is kept, and the CLI
prints one line with the command that resumes, exit status 128 + the signal (130, 143).

Outside the event loop the handlers raise ``Interrupted`` wherever the program is, as Python
does with Ctrl-C. Inside the loop that would unwind the loop's own machinery, so while it runs
the handlers cancel the main task instead: every ``finally`` and the run's guard run (the
journal is committed, ``_progress.json`` says "interrupted"), then ``Interrupted`` is raised.
A second signal during that cleanup stops at once.

``Interrupted`` is deliberately not a ``KeyboardInterrupt``: typer turns that into a silent
exit status 130, and SIGTERM is not a keyboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """A stop signal arrived; a BaseException, so no ``except Exception`` swallows it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(self.name)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_OWNER: list[int] = []  # the PID that installed the handlers


def _raise(signum: int, frame: FrameType | None) -> None:
    if os.getpid() not in _OWNER:
        _as_before(signum)
    raise Interrupted(signum)


def _as_before(signum: int) -> None:
    """In a forked child (a DataLoader worker, say) a signal does what it did before we
    installed anything: Ctrl-C raises KeyboardInterrupt, which such workers expect, and
    SIGTERM ends the process."""
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def install() -> None:
    """Make SIGINT and SIGTERM raise ``Interrupted`` in this process (the CLI's start)."""
    _OWNER[:] = [os.getpid()]
    for sig in SIGNALS:
        signal.signal(sig, _raise)


@contextlib.contextmanager
def cancelling(task: asyncio.Task[object]) -> Iterator[list[int]]:
    """While inside, a stop signal cancels ``task``; yields the signals caught so far."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught  # signals reach the main thread only
        return
    loop = task.get_loop()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if caught:
            raise Interrupted(signum)  # a second signal: the cleanup takes too long
        caught.append(signum)
        loop.call_soon_threadsafe(task.cancel)  # also wakes a loop blocked in its poll

    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    for sig in SIGNALS:
        signal.signal(sig, on_signal)
    try:
        yield caught
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def kept_handlers() -> Iterator[None]:
    """Undo what a library does to our handlers inside (``ray.init`` makes SIGTERM exit)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
