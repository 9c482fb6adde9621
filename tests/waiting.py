"""Waiting in tests without guessing how fast the machine is.

A test that drives a child process waits for what the process writes (:class:`Output`) or for a condition it can
observe (:func:`wait_until`), never for a fixed number of seconds.  The only limit is :data:`HANG_S`, which stops a
test that hangs; a working run on a slow or loaded machine never comes near it.  A test that checks that some work
is cheap measures the CPU time of its own process (:func:`cpu_seconds`), which other processes competing for the
cores do not inflate, instead of the wall-clock time.
"""
from __future__ import annotations

import codecs
import os
import re
import threading
import time
from contextlib import contextmanager

#: Seconds after which a wait gives up: only to stop a hung test (every wait here normally ends in seconds).
HANG_S = 900.0


class Output:
    """Everything a child process writes to one pipe, read by a thread as it comes.

    The pipe never fills up (so the child never blocks on it), and a test can wait until the text so far shows
    something, with :data:`HANG_S` as the only limit.
    """

    def __init__(self, pipe, name: str = "output"):
        self.name, self.text, self.closed = name, "", False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(pipe.fileno(),), daemon=True,
                                        name=f"read-{name}")
        self._thread.start()

    def _read(self, fd: int) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while True:
            chunk = os.read(fd, 65536)
            with self._changed:
                self.text += decoder.decode(chunk, final=not chunk)
                self.closed = not chunk
                self._changed.notify_all()
            if not chunk:
                return

    def wait_for(self, found, what: str, limit: float = HANG_S):
        """Wait until ``found(text)`` (a function of the text so far) returns a true value, and return it; a
        string or compiled pattern is searched for as a regular expression (the match is returned).  Fails if
        the pipe closes first (the process ended) or after ``limit`` seconds."""
        if isinstance(found, (str, re.Pattern)):
            pattern = re.compile(found)
            found = pattern.search
        deadline = time.monotonic() + limit
        with self._changed:
            while True:
                result = found(self.text)
                if result:
                    return result
                if self.closed:
                    raise AssertionError(f"the process closed its {self.name} before {what}:\n{self.text[-3000:]}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {what} after {limit:g} s (a hung test):\n{self.text[-3000:]}")
                self._changed.wait(left)

    def rest(self, limit: float = HANG_S) -> str:
        """All the text, once the pipe has closed (the process has ended)."""
        self._thread.join(limit)
        assert self.closed, f"the {self.name} pipe is still open after {limit:g} s"
        return self.text


def wait_until(condition, what: str, limit: float = HANG_S, poll: float = 0.05):
    """Poll ``condition()`` until it returns a true value, and return that value; fail after ``limit`` seconds
    (a hung test).  For conditions no pipe announces, e.g. a file or a process appearing."""
    deadline = time.monotonic() + limit
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {limit:g} s (a hung test)")
        time.sleep(poll)


@contextmanager
def cpu_seconds():
    """``with cpu_seconds() as used: ...; assert used() < bound``: the CPU time this process (all its threads)
    spent inside the block, which the load of other processes on the machine does not inflate."""
    start = time.process_time()
    end = []
    try:
        yield lambda: (end[0] if end else time.process_time()) - start
    finally:
        end.append(time.process_time())
