"""Schemathesis over the whole OpenAPI, with a token: no input, valid or not, may produce a 5xx.

Stateless: every operation gets schema-conforming and schema-violating cases on a seeded catalog.
Stateful: sequences along the links schemathesis infers between operations (a created shop, then its
PATCH...). Both are bounded by case counts, not time; each prints its count and its 5xx.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Flaky, Unsatisfiable
from schemathesis import GenerationMode
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth.domain import Scope
from orderly.auth.service import create_token
from orderly.core.db import transaction
from tests.factories import setup_catalog

# A 5xx is reported as found, with a curl line, not shrunk for minutes.
_bounded = {"deadline": None, "database": None, "suppress_health_check": list(HealthCheck)}
STATELESS = settings(max_examples=15, phases=[Phase.explicit, Phase.generate], **_bounded)
STATEFUL = settings(max_examples=40, stateful_step_count=8, phases=[Phase.generate], **_bounded)
SUITES = 3


class Run:
    """Cases sent and the 5xx answers among them, with a curl line to reproduce each."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self.headers: dict[str, str] = {}
        self.new_token()
        self.statuses: Counter[int] = Counter()
        self.server_errors: list[str] = []

    def send(self, case: Any) -> Any:
        try:
            # schemathesis' own 10 s timeout trips on a loaded test machine; a minute still catches a hang.
            response = case.call(headers=self.headers, timeout=60)
        except Exception as exc:  # the test client re-raises what the app left unhandled: a 500
            self.record(case, 500, f" ({type(exc).__name__}: {str(exc)[:300]})")
            raise
        self.record(case, response.status_code)
        if case.operation.label == "DELETE /api/v1/tokens/{token_id}" and response.status_code < 300:
            self.new_token()  # it may have revoked ours: the rest of the run would only see 401s
        return response

    def new_token(self) -> None:
        with transaction(self.factory) as session:
            self.headers = {
                "Authorization": f"Bearer {create_token(session, 'schemathesis', scope=Scope.ADMIN).token}"
            }

    def record(self, case: Any, status: int, detail: str = "") -> None:
        self.statuses[status] += 1

        if status >= 500:
            self.server_errors.append(
                f"{status} {case.operation.label}{detail}: {case.as_curl_command(self.headers)}"
            )

    def check(self, capsys: pytest.CaptureFixture[str], what: str) -> None:
        with capsys.disabled():
            print(
                f"\nschemathesis {what}: {self.statuses.total()} cases, {len(self.server_errors)} 5xx;"
                f" statuses {dict(sorted(self.statuses.items()))}"
            )
        assert not self.server_errors, "\n".join(self.server_errors[:20])


@pytest.fixture
def api(app: FastAPI, factory: sessionmaker[Session]) -> Any:
    setup_catalog(factory, {"SKU-1": 100, "SKU-2": 100})
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.slow
def test_no_operation_answers_5xx(
    api: Any, factory: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    run = Run(factory)
    for result in api.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @STATELESS
            @given(case=operation.as_strategy(generation_mode=mode))
            def send(case: Any) -> None:
                try:
                    run.send(case)
                except Exception:  # recorded: go on, so one run lists every operation that fails
                    return

            try:
                send()
            except Unsatisfiable:  # an operation without parameters or body has no invalid input
                assert mode is GenerationMode.NEGATIVE
    run.check(capsys, "stateless")


@pytest.mark.slow
def test_no_sequence_of_calls_answers_5xx(
    api: Any, factory: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    run = Run(factory)

    class Workflow(api.as_state_machine()):  # type: ignore[misc]
        def call(self, case: Any, **kwargs: Any) -> Any:
            return run.send(case)

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            """Only a 5xx is a failure here: the other checks judge the spec, not the server."""

    for _ in range(SUITES):
        try:
            Workflow.run(settings=STATEFUL)
        except Flaky:
            # The same choices met a server that had changed since (the database outlives a scenario):
            # this suite ends here, as in schemathesis' own runner, and the next one starts.
            continue
    run.check(capsys, "stateful")
