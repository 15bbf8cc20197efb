"""Backends by setting value, imported only when picked so torch and friends load lazily."""

from __future__ import annotations

import importlib
from typing import Any, Generic, TypeVar

from core.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps a setting's value to "module:Class"; built-ins register the way an extension would."""

    def __init__(self, kind: str, entries: dict[str, str]) -> None:
        self.kind = kind
        self._entries = dict(entries)

    def keys(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def load(self, key: str) -> type[T]:
        try:
            target = self._entries[key]
        except KeyError:
            raise ConfigError(
                f"unknown {self.kind} {key!r}; choose one of: {', '.join(self.keys())}"
            ) from None
        module_name, _, attr = target.partition(":")
        cls: type[T] = getattr(importlib.import_module(module_name), attr)
        return cls

    def create(self, key: str, *args: Any, **kwargs: Any) -> T:
        return self.load(key)(*args, **kwargs)
