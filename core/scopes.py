"""What an API key may do: read and write, each for every collection (`*`) or for named ones,
and `admin`, which manages keys and may do everything. Collections are named, not numbered,
so a scope written before a collection exists (`--write new-kb`) lets the key create it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

EVERY = "*"


@dataclass(frozen=True)
class Scopes:
    read: frozenset[str] = frozenset()
    write: frozenset[str] = frozenset()
    admin: bool = False

    @classmethod
    def of(cls, read: Iterable[str] = (), write: Iterable[str] = (), admin: bool = False) -> Scopes:
        return cls(_names(read), _names(write), admin)

    def can_read(self, collection: str) -> bool:
        # Writing implies reading: a writer lists what it uploaded and the jobs it started.
        return self._grants(self.read, collection) or self.can_write(collection)

    def can_write(self, collection: str) -> bool:
        return self._grants(self.write, collection)

    def _grants(self, names: frozenset[str], collection: str) -> bool:
        return self.admin or EVERY in names or collection in names

    def to_json(self) -> str:
        return json.dumps(
            {"read": sorted(self.read), "write": sorted(self.write), "admin": self.admin}
        )

    @classmethod
    def from_json(cls, stored: str) -> Scopes:
        value = json.loads(stored)
        return cls.of(value.get("read", ()), value.get("write", ()), bool(value.get("admin")))

    def describe(self) -> str:
        """One line for `zhiku keys list`: `admin`, `read:a,b write:*`, or `none`."""
        parts = ["admin"] if self.admin else []
        kinds = (("read", self.read), ("write", self.write))
        parts += [f"{kind}:{','.join(sorted(names))}" for kind, names in kinds if names]
        return " ".join(parts) or "none"


def _names(given: Iterable[str]) -> frozenset[str]:
    return frozenset(n.strip() for n in given if n.strip())


# Keys from ZHIKU_API_KEYS, and anonymous callers where they are allowed.
ALL = Scopes.of(admin=True)
