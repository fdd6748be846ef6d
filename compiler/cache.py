"""A least-recently-used cache of compiled programs (or lowered ops), bounded by their total instruction count.

The compiler keeps programs and engine results so that equal op specs compile and simulate once; a sweep over
many workloads on one arch would otherwise keep every program it ever made (a 40-point prefill sweep grew a
worker past 2 GB). Each cache holds at most :data:`MAX_INSTRUCTIONS` instructions (the most recently used
entries; always at least the newest one).
"""

from __future__ import annotations

from collections import OrderedDict

#: instructions one cache keeps (about 50-80 bytes each with the engine's per-instruction results)
MAX_INSTRUCTIONS = 2_000_000


class ProgramCache:
    """``key -> value`` with a weight (instructions) per entry; least recently used entries go first."""

    def __init__(self, max_instructions: int = MAX_INSTRUCTIONS):
        self.max_instructions = max_instructions
        self.instructions = 0
        self._items: OrderedDict = OrderedDict()

    def get(self, key, default=None):
        hit = self._items.get(key)
        if hit is None:
            return default
        self._items.move_to_end(key)
        return hit[0]

    def put(self, key, value, instructions: int) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self.instructions -= old[1]
        self._items[key] = (value, instructions)
        self.instructions += instructions
        while self.instructions > self.max_instructions and len(self._items) > 1:
            _, (_, weight) = self._items.popitem(last=False)
            self.instructions -= weight

    def __contains__(self, key) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)
