"""A bounded schemathesis run of the OpenAPI document against the app, in process.

Every documented operation gets a fixed number of generated requests (with a valid key, so
the authenticated paths run too): no 5xx, and every documented response matches its schema.
Generic on purpose: newly documented operations are picked up without editing this test.
"""

from __future__ import annotations

import asyncio
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from factories import make_account
from imgpro.app import create_app
from imgpro.settings import Settings

EXAMPLES_PER_OPERATION = 12

pytestmark = pytest.mark.slow


def _prepared_app(tmp_path: Any) -> tuple[Any, str]:
    app = create_app(
        Settings(
            data_dir=tmp_path / "data",
            public_base_url="http://testserver",
            secret_key="test-secret-key",
        )
    )
    services = app.state.services

    async def setup() -> str:
        key = (await make_account(services, plan="unlimited"))["key"]
        await services.db.dispose()  # its pool belonged to this loop; the client has its own
        return str(key)

    return app, asyncio.run(setup())


def test_openapi_document_holds(tmp_path):
    app, key = _prepared_app(tmp_path)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {key}"}
    failures: list[str] = []
    statuses: list[int] = []
    operations = [op.ok() for op in schema.get_all_operations()]
    assert operations, "the OpenAPI document lists no operations"
    for operation in operations:
        label = operation.label

        @given(case=operation.as_strategy())
        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            try:
                response = case.call(headers=headers)
                statuses.append(response.status_code)
                case.validate_response(
                    response, checks=[not_a_server_error, response_schema_conformance]
                )
            except Exception as exc:  # collect them all, then report together
                failures.append(f"{label}: {type(exc).__name__}: {str(exc)[:400]}")  # noqa: B023

        run()
    app.state.renderer.close()
    assert not failures, "\n".join(failures)
    assert len(statuses) >= len(operations) * 2  # it really exercised every operation
    assert not [s for s in statuses if s >= 500]
