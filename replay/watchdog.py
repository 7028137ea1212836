"""A watchdog so that no replay waits forever.

A call blocked inside wgpu-native (a read waiting on a kernel that never ends, a submit held up
by the driver) cannot be interrupted from Python, and the device it blocks is unusable from then
on. So nothing waits with a timeout of its own: a watchdog thread watches the replay's progress
and, after ``timeout`` seconds without any, reports where the replay stands in one line and ends
the process. No wgpu here: the command line reads the default without importing it.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Hashable
from time import monotonic

DEFAULT_TIMEOUT_S = 60.0
EXIT_HUNG = 1


class Watchdog:
    """Ends the process when ``progress()`` stays the same (and not ``None``) for ``timeout`` seconds.

    ``progress`` returns ``None`` while there is nothing to watch, else any value that changes as
    work advances; ``describe`` says where the work stands, for the one-line report.
    """

    def __init__(self, timeout: float, progress: Callable[[], Hashable | None], describe: Callable[[], str]):
        self.timeout = timeout
        self._progress = progress
        self._describe = describe
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="wgtrace-watchdog", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        last, since = None, monotonic()
        while not self._stop.wait(min(1.0, self.timeout / 4)):
            mark = self._progress()
            if mark is None or mark != last:
                last, since = mark, monotonic()
            elif monotonic() - since >= self.timeout:
                print(f"wgtrace: error: the device made no progress for {self.timeout:g} s, {self._describe()}; "
                      f"giving up", file=sys.stderr, flush=True)
                sys.stdout.flush()
                os._exit(EXIT_HUNG)

    def stop(self) -> None:
        self._stop.set()
