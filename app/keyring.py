"""Who a request's key is: a key of ZHIKU_API_KEYS (every scope) or one kept in the catalog
(its scopes), and whether a request without a key is served. Catalog keys are cached for
CACHE_SECONDS, so a busy client costs one lookup per key every few seconds rather than one per
request; a key revoked by another process (`zhiku keys revoke`) is refused within that time,
and one revoked through this service's admin API at once."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import threading
import time

from core.catalog import open_catalog
from core.catalog.protocol import Keys
from core.errors import ConfigError
from core.keys import secret_hash
from core.scopes import ALL, Scopes
from core.settings import Settings

log = logging.getLogger("zhiku.auth")

CACHE_SECONDS = 2.0
# `last used` is written at most this often per key: a write per request would serialise
# every reader on SQLite's one writer.
TOUCH_SECONDS = 60.0


class KeyRing:
    def __init__(self, settings: Settings, keys: Keys) -> None:
        self._settings = settings
        self._env_keys = settings.accepted_api_keys
        self._keys = keys
        self._lock = threading.Lock()
        # Digest -> (monotonic expiry, scopes); only keys found, so wrong keys fill nothing.
        self._found: dict[str, tuple[float, Scopes]] = {}
        self._any_key: tuple[float, bool] = (0.0, False)

    def scopes_of(self, secret: str) -> Scopes | None:
        """The key's scopes, None for a key that is not (or no longer) valid."""
        if _among(secret, self._env_keys):
            return ALL
        digest = secret_hash(secret)
        now = time.monotonic()
        with self._lock:
            cached = self._found.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        key = self._keys.active_key(digest)
        with self._lock:
            if key is None:
                self._found.pop(digest, None)
                return None
            self._found[digest] = (now + CACHE_SECONDS, key.scopes)
        if key.last_used_at is None or time.time() - key.last_used_at > TOUCH_SECONDS:
            self._keys.touch_key(key.id)
        return key.scopes

    def keys_exist(self) -> bool:
        """Whether any key is configured: in ZHIKU_API_KEYS, or unrevoked in the catalog."""
        if self._env_keys:
            return True
        now = time.monotonic()
        with self._lock:
            until, known = self._any_key
        if until > now:
            return known
        known = self._keys.has_active_keys()
        with self._lock:
            self._any_key = (now + CACHE_SECONDS, known)
        return known

    def anonymous_allowed(self) -> bool:
        """ZHIKU_ALLOW_ANONYMOUS when set; unset, only while no key exists anywhere and the
        service listens on loopback alone. Creating the first key ends anonymous access."""
        if self._settings.allow_anonymous is not None:
            return self._settings.allow_anonymous
        return is_loopback(self._settings.host) and not self.keys_exist()

    def forget(self) -> None:
        """Drop what is cached, after this service created or revoked a key."""
        with self._lock:
            self._found.clear()
            self._any_key = (0.0, False)


def _among(given: str, accepted: frozenset[str]) -> bool:
    # Compared with every key in constant time: timing reveals neither a key nor its position.
    matches = [hmac.compare_digest(given.encode(), key.encode()) for key in accepted]
    return any(matches)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def refuse_open_service(settings: Settings) -> None:
    """Before `zhiku serve` binds: off loopback, some key must exist unless anonymous access
    is asked for, and then it is said loudly. Raises ConfigError, and BackendUnavailable when
    the catalog must be asked and cannot be reached."""
    if settings.allow_anonymous:
        log.warning(
            "ZHIKU_ALLOW_ANONYMOUS=true: requests without a key may read, change and delete"
            " every collection on %s:%s; unset it once keys are in place",
            settings.host,
            settings.port,
        )
        return
    if is_loopback(settings.host) or settings.accepted_api_keys or _catalog_has_keys(settings):
        return
    raise ConfigError(
        f"refusing to serve on {settings.host} without an API key: anyone who can reach it"
        " could read and delete every document. Create one with `zhiku keys create --admin`"
        " (or set ZHIKU_API_KEYS=a-long-secret), serve on 127.0.0.1, or set"
        " ZHIKU_ALLOW_ANONYMOUS=true to serve without keys anyway"
    )


def _catalog_has_keys(settings: Settings) -> bool:
    catalog = open_catalog(settings)
    try:
        return catalog.has_active_keys()
    finally:
        catalog.close()
