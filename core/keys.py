"""API key secrets: long random tokens, of which the catalog keeps only a SHA-256 digest. A
plain digest is enough here (no salt, no slow hash): a secret of 256 random bits cannot be
guessed from its digest, and the digest must be looked up directly on every request."""

from __future__ import annotations

import hashlib
import secrets

from core.catalog.protocol import Keys
from core.catalog.records import ApiKey
from core.errors import InvalidInput
from core.scopes import Scopes

PREFIX = "zk_"


def new_secret() -> str:
    """`zk_` and 43 URL-safe characters (32 random bytes); shown once, never stored."""
    return PREFIX + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(keys: Keys, name: str, scopes: Scopes) -> tuple[ApiKey, str]:
    """A new key in the catalog and its secret, which nothing keeps. Raises InvalidInput for
    a key that could do nothing."""
    if not (scopes.read or scopes.write or scopes.admin):
        raise InvalidInput("key_needs_scope")
    secret = new_secret()
    return keys.add_key(name, secret_hash(secret), scopes), secret
