"""Values a service keeps in this process between requests (the board's run columns and figures,
the reviewer statistics), safe to share between the threads of a threaded server.

``Kept(size)`` keeps the ``size`` most recently used values, optionally each for at most ``ttl``
seconds. The key must name everything the value depends on (the caller reads what it needs to
build it); a value is made at most once at a time per key (a second thread asking for the same
key waits for the first instead of reading the same 100,000 rows again), outside the lock that
guards the dict, so that other keys are served meanwhile. Kept values are shared: they must not
be changed in place (frozen dataclasses, tuples, read-only numpy arrays), and they hold no ORM
object (a session belongs to one request and one thread).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Kept(Generic[T]):
    """The last ``size`` values by key (each for at most ``ttl`` seconds if given)."""

    def __init__(self, size: int, ttl: float | None = None) -> None:
        self.size, self.ttl = size, ttl
        self._items: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()
        self._making: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def _found(self, key: Hashable) -> tuple[bool, T | None]:
        """(True, value) if ``key`` is kept and fresh, under ``self._lock``."""
        hit = self._items.get(key)
        if hit is None:
            return False, None
        if self.ttl is not None and time.monotonic() - hit[0] >= self.ttl:
            del self._items[key]
            return False, None
        self._items.move_to_end(key)
        return True, hit[1]

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        """The value kept for ``key``, else ``make()`` kept and returned."""
        with self._lock:
            found, value = self._found(key)
            if found:
                return value  # type: ignore[return-value]
            gate = self._making.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                found, value = self._found(key)
            if found:
                return value  # type: ignore[return-value]
            try:
                made = make()
                self.put(key, made)
            finally:
                with self._lock:
                    if self._making.get(key) is gate:
                        del self._making[key]
        return made

    def peek(self, key: Hashable) -> T | None:
        """The value kept for ``key`` (``None`` if there is none)."""
        with self._lock:
            return self._found(key)[1]

    def put(self, key: Hashable, value: T) -> None:
        """Keep ``value`` for ``key``."""
        with self._lock:
            self._items[key] = (time.monotonic(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return self._found(key)[0]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def clear(self) -> None:
        """Forget every kept value."""
        with self._lock:
            self._items.clear()
