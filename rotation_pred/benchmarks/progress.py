"""A progress line with an estimated time left, for loops over data loaders (and
other long loops: SVM fits).

    for batch in Progress(loader, 'extracting features'):
        ...

prints ``extracting features: 120/313 batches, ETA 0:01:05`` about every tenth of the
way (and at the end), the time left being the mean time per batch so far times the
batches left.
"""
import datetime
import sys
import time
from typing import Callable, Iterable, Optional, TextIO


def eta(elapsed: float, done: int, total: int) -> str:
    """``H:MM:SS`` left when ``done`` of ``total`` steps took ``elapsed`` seconds."""
    left = elapsed / done * (total - done) if done else 0.0
    return str(datetime.timedelta(seconds=round(left)))


class Progress:
    """Iterate ``iterable`` (which has a length: a data loader; or give ``total``, for
    a generator), printing a progress line to ``stream`` after every ``every`` items
    (default: a tenth of them) and after the last one. ``clock``: seconds, monotonic (a
    fake one in tests). It stands for the iterable: its other attributes (a loader's
    ``dataset``) are the iterable's."""

    def __init__(self, iterable: Iterable, label: str = 'extracting features',
                 every: Optional[int] = None, stream: Optional[TextIO] = None,
                 clock: Callable[[], float] = time.monotonic, unit: str = 'batches',
                 total: Optional[int] = None):
        self.iterable, self.label, self.unit = iterable, label, unit
        self.total = len(iterable) if total is None else total
        self.every = every or max(1, self.total // 10)
        self.stream, self.clock = stream, clock

    def __len__(self) -> int:
        return self.total

    def __getattr__(self, name: str):
        """Other attributes are those of the wrapped iterable (a loader's ``dataset``)."""
        if name == 'iterable':  # not set yet: no recursion
            raise AttributeError(name)
        return getattr(self.iterable, name)

    def __iter__(self):
        start = self.clock()
        stream = self.stream or sys.stderr
        for done, item in enumerate(self.iterable, 1):
            yield item
            if done % self.every == 0 or done == self.total:
                print(f'{self.label}: {done}/{self.total} {self.unit}, '
                      f'ETA {eta(self.clock() - start, done, self.total)}',
                      file=stream, flush=True)
