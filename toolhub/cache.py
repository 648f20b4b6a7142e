"""A small time-bounded cache for per-request lookups that rarely change (users, sandbox configs).

Entries live `ttl` seconds. The replica that changes the underlying data forgets the entry at once; other
replicas see the change within `ttl`.
"""

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._entries: dict[K, tuple[V, float]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, key: K, value: V) -> None:
        self._entries[key] = (value, time.monotonic() + self.ttl)

    def forget(self, matches: Callable[[K], bool]) -> None:
        for key in [key for key in self._entries if matches(key)]:
            del self._entries[key]
