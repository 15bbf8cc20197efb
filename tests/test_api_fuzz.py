"""Schema-driven fuzzing: schemathesis generates requests from the service's own OpenAPI
document and sends them over real HTTP to the service on a loopback port; every answer must be
no server error (5xx) and must match the document (its status listed, its body of the schema
given for that status, its content type). Bounded: a few examples per operation."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from app.main import create_app
from tests.browser import ServiceThread, running
from tests.conftest import make_settings
from tests.processes import wait_until

# Examples from the schema, boundary values (coverage) and a few random ones per operation;
# no stateful sequences, which would multiply the run. Whether the service accepts exactly what
# the document allows is not asked: the limits that are settings (ZHIKU_MAX_CHAT_MESSAGES...)
# are tighter than the document's bounds, fixed when the app is built, rules across fields
# ("the last message is the user's") are the routes' own, and pydantic reads "32" as 32;
# tests/test_api_sizes.py checks those limits one by one.
CONFIG = SchemathesisConfig.from_str(
    """
[generation]
max-examples = 6

[phases.stateful]
enabled = false

[checks]
positive_data_acceptance.enabled = false
negative_data_rejection.enabled = false
"""
)
KEY = "fuzz-admin-key"
AUTHORIZED = {"Authorization": f"Bearer {KEY}"}
# Building the app reads no settings, so the document can be read before any service runs.
schema = schemathesis.openapi.from_dict(create_app().openapi(), config=CONFIG)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceThread]:
    # A key is needed, so that a request without one is refused as the document says.
    config = make_settings(tmp_path_factory.mktemp("fuzz") / "data", port=18231, api_keys=KEY)
    with (
        running(config) as started,
        httpx.Client(base_url=started.url, headers=AUTHORIZED) as http,
    ):
        http.post("/api/collections", json={"name": "kb"}).raise_for_status()
        # A 503 while the model loads is no fault, but would count as a server error.
        wait_until(lambda: http.get("/readyz").status_code == 200, 120, "the service to be ready")
        yield started


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_answers_are_no_server_error_and_match_the_document(
    case: schemathesis.Case, service: ServiceThread
) -> None:
    case.call_and_validate(base_url=service.url, headers=AUTHORIZED, timeout=60)
