"""The bookkeeping every pooled backend shares: pools by key, each made once, the least recently used idle ones
closed beyond a bound, and all of them closed at the end. What a pool is (a warm local worker, a set of containers)
is the backend's business; here it is anything with an async `close()`."""

import asyncio
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator
from contextlib import asynccontextmanager
from typing import Generic, Protocol, TypeVar

from toolhub.sandbox.base import SandboxError


class Closable(Protocol):
    async def close(self) -> None: ...


K = TypeVar("K", bound=Hashable)
P = TypeVar("P", bound=Closable)


class PoolSet(Generic[K, P]):
    """See the module docstring. A pool in use (inside `use`) is never closed as idle."""

    def __init__(self, max_pools: int) -> None:
        self._max_pools = max_pools
        self._pools: OrderedDict[K, P] = OrderedDict()
        self._locks: dict[K, asyncio.Lock] = {}
        self._users: Counter[K] = Counter()
        self._closed = False

    @asynccontextmanager
    async def use(self, key: K, make: Callable[[], Awaitable[P]]) -> AsyncIterator[P]:
        """The pool for `key` (made by `make` if there is none; concurrent askers share one making), held in use
        until the block ends. Raises SandboxError once the set is closed."""
        if self._closed:
            raise SandboxError("the sandbox is closed")
        if key not in self._pools:
            async with self._locks.setdefault(key, asyncio.Lock()):
                if key not in self._pools:
                    self._pools[key] = await make()
        if self._closed:  # while the pool was being made
            raise SandboxError("the sandbox is closed")
        self._pools.move_to_end(key)
        self._users[key] += 1
        try:
            await self._close_idle()
            yield self._pools[key]
        finally:
            self._users[key] -= 1

    def items(self) -> Iterator[tuple[K, P]]:
        return iter(list(self._pools.items()))

    def users(self, key: K) -> int:
        """Calls holding the pool of `key` now, waiting or running."""
        return self._users[key]

    async def close_where(self, predicate: Callable[[K], bool]) -> None:
        """Close the pools whose key matches, in use or not (their calls end with an error)."""
        await asyncio.gather(*(self._pools.pop(key).close() for key in [k for k in self._pools if predicate(k)]))

    async def close(self) -> None:
        """Close every pool; `use` refuses from now on."""
        self._closed = True
        pools = list(self._pools.values())
        self._pools.clear()
        await asyncio.gather(*(pool.close() for pool in pools))

    async def _close_idle(self) -> None:
        idle = [key for key in self._pools if self._users[key] == 0]
        surplus = idle[: max(0, len(self._pools) - self._max_pools)]
        await asyncio.gather(*(self._pools.pop(key).close() for key in surplus))
