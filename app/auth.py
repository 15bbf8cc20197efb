"""API keys: `Authorization: Bearer KEY` on every /api and /v1 call when ZHIKU_API_KEYS is set.
The page and the health probes stay open so a browser and an orchestrator can reach them."""

from __future__ import annotations

import hmac

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.deps import SettingsDep
from core.errors import Unauthorized

_bearer = HTTPBearer(auto_error=False, description="One of ZHIKU_API_KEYS")


async def require_api_key(request: Request, settings: SettingsDep) -> None:
    credentials: HTTPAuthorizationCredentials | None = await _bearer(request)
    if credentials is None:
        if settings.anonymous_allowed:
            return
        raise Unauthorized("this service needs an API key: send `Authorization: Bearer KEY`")
    if not _is_accepted(credentials.credentials, settings.accepted_api_keys):
        if settings.anonymous_allowed and not settings.accepted_api_keys:
            return
        raise Unauthorized("the API key is not one of ZHIKU_API_KEYS")


def _is_accepted(given: str, accepted: frozenset[str]) -> bool:
    # Compare against every key, in constant time, so timing reveals neither key nor position.
    matches = [hmac.compare_digest(given.encode(), key.encode()) for key in accepted]
    return any(matches)
