"""Built feeds kept in memory by their version tag, least recently used out first."""

from __future__ import annotations

import threading
from collections import OrderedDict


class BodyCache:
    """Built feeds by version tag (which names the link and the data), least recently used out
    first within a byte budget: clients that poll without conditional headers get the same
    bytes without the feed being built again."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._bodies: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, tag: str) -> bytes | None:
        with self._lock:
            body = self._bodies.get(tag)
            if body is not None:
                self._bodies.move_to_end(tag)
            return body

    def put(self, tag: str, body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        with self._lock:
            previous = self._bodies.pop(tag, None)
            if previous is not None:
                self._size -= len(previous)
            self._bodies[tag] = body
            self._size += len(body)
            while self._size > self.max_bytes:
                _, dropped = self._bodies.popitem(last=False)
                self._size -= len(dropped)

    @property
    def size(self) -> int:
        return self._size
