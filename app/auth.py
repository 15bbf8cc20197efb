"""Who is calling: `Authorization: Bearer KEY` on every /api and /v1 call, resolved to the
key's scopes (app/keyring.py), or every scope for an anonymous caller where anonymous access
is allowed. Routes check those scopes through app/deps.py's aliases. The page and the health
probes stay open so a browser and an orchestrator can reach them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.keyring import KeyRing
from core.errors import Forbidden, Unauthorized
from core.scopes import ALL, Scopes

_bearer = HTTPBearer(
    auto_error=False, description="A key of ZHIKU_API_KEYS or one made by `zhiku keys create`"
)


def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Scopes:
    """The caller's scopes. Raises Unauthorized. A plain function: FastAPI runs it in a
    thread, since a key not cached is looked up in the catalog."""
    ring: KeyRing = request.app.state.keys
    if credentials is None:
        if ring.anonymous_allowed():
            return ALL
        raise Unauthorized("api_key_required")
    scopes = ring.scopes_of(credentials.credentials)
    if scopes is not None:
        return scopes
    if ring.anonymous_allowed() and not ring.keys_exist():
        # A key a browser kept from before, on a service that now has none: serve it as
        # anyone else is served.
        return ALL
    raise Unauthorized("api_key_invalid")


def check_write(scopes: Scopes, collection: str) -> None:
    """Raises Forbidden: for a caller that may read the collection (others get NotFound)."""
    if not scopes.can_write(collection):
        raise Forbidden("collection_read_only", collection=collection)


def check_admin(scopes: Scopes) -> None:
    if not scopes.admin:
        raise Forbidden("admin_required")
