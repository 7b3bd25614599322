"""At most N requests per key (a token's hash) per sliding minute, in memory, thread-safe.

The table is bounded: keys idle for a minute are dropped, and past ``max_keys`` the least
recently used go, so a flood of made-up tokens cannot grow it without limit."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0


class RateLimiter:
    def __init__(
        self,
        per_minute: int,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self.monotonic = monotonic
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count one request for ``key``; None when allowed, else the seconds to wait (the
        request is not counted then)."""
        now = self.monotonic()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                hits = deque()
                self._hits[key] = hits
                self._prune(now)
            else:
                self._hits.move_to_end(key)
            while hits and hits[0] <= now - WINDOW_SECONDS:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return max(1.0, math.ceil(hits[0] + WINDOW_SECONDS - now))
            hits.append(now)
            return None

    def _prune(self, now: float) -> None:
        if len(self._hits) <= self.max_keys:
            return
        for key in [k for k, h in self._hits.items() if not h or h[-1] <= now - WINDOW_SECONDS]:
            del self._hits[key]
        while len(self._hits) > self.max_keys:
            self._hits.popitem(last=False)

    def __len__(self) -> int:
        return len(self._hits)
