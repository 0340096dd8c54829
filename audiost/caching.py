"""Small caches that let one worker reuse what every pair of a batch shares.

A batch stylises hundreds of contents with a few styles: the style's
features (its Gram targets) and the feature network are the same for each,
so they are computed once per worker and kept here.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Generic, TypeVar

Value = TypeVar("Value")


class BoundedCache(Generic[Value]):
    """A least-recently-used mapping that holds at most ``size`` entries (memory stays bounded)."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[Hashable, Value] = OrderedDict()
        self.hits = 0

    def get(self, key: Hashable | None, make: Callable[[], Value]) -> Value:
        """The value for ``key``, made (and kept) on first use; ``key=None`` means never cache."""
        if key is not None and key in self._items:
            self.hits += 1
            self._items.move_to_end(key)
            return self._items[key]
        value = make()
        if key is not None and self.size > 0:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


def file_key(source: object, *context: Hashable) -> tuple[Hashable, ...] | None:
    """Identity of a file's current contents (real path, size, mtime) and of what was made from it (``context``: an excerpt, a rate, limits), or None for non-path inputs.

    A style edited between two pairs gets a new key, so a stale target is
    never reused.
    """
    if not isinstance(source, (str, os.PathLike)):
        return None
    try:
        stat = os.stat(source)
    except OSError:
        return None  # unreadable: let the loader report it
    return (str(Path(source).resolve()), stat.st_size, stat.st_mtime_ns, *context)
