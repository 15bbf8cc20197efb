"""Backends by setting value, imported only when picked so torch and friends load lazily."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from core.errors import ConfigError
from core.settings import Settings

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps a setting's value to "module:Class"; built-ins register the way an extension would.
    `choose` reads the key from the settings, for the backends one setting picks."""

    def __init__(
        self,
        kind: str,
        entries: dict[str, str],
        choose: Callable[[Settings], str] | None = None,
    ) -> None:
        self.kind = kind
        self._entries = dict(entries)
        self._choose = choose

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

    def key(self, settings: Settings) -> str:
        """The key the settings pick."""
        if self._choose is None:
            raise TypeError(f"no setting picks the {self.kind}")
        return self._choose(settings)

    def picked(self, settings: Settings) -> type[T]:
        """The class of the backend the settings pick. Raises ConfigError for an unknown key."""
        return self.load(self.key(settings))

    def open(self, settings: Settings) -> T:
        """The backend the settings pick, made from them. Raises ConfigError for an unknown key."""
        return self.create(self.key(settings), settings)


def url_scheme(url: str | None, default: str) -> str:
    """The key of a backend picked by a URL setting: its scheme, or `default` when unset."""
    return urlsplit(url).scheme if url else default
