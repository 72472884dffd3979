"""Schemathesis over the whole OpenAPI, with a token: no input, valid or not, may produce a 5xx.

Stateless: every operation gets schema-conforming and schema-violating cases on a seeded catalog.
Stateful: sequences along the links schemathesis infers between operations (a created shop, then its
PATCH...). In both, ids and other integers in paths, queries and bodies are now and then set to the
edges of 32, 53, 63 and 64 bits, where databases and JSON parsers break. Both are bounded by case
counts, not time; each prints its count and its 5xx.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
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

# The last 32-bit integer and past it, past 2**53 (where a float loses digits), the last BIGINT and past
# it, the last unsigned 64-bit integer and past it (where orjson reads a float).
EDGES = st.sampled_from([2**31 - 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64])
Slot = tuple[str | int, ...]


def _is_id(name: str | int) -> bool:
    return isinstance(name, str) and (name == "id" or name.endswith(("_id", "_ids")))


def _slots(value: Any, path: Slot, every_int: bool) -> Iterator[Slot]:
    """Where integers are: every one (path and query parameters), or those named as ids (bodies)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if every_int or any(_is_id(part) for part in path[-2:]):
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _slots(item, (*path, key), every_int)
    elif isinstance(value, list):
        for number, item in enumerate(value):
            yield from _slots(item, (*path, number), every_int)


def _at(value: Any, path: Slot) -> Any:
    for part in path:
        value = value[part]
    return value


def _replaced(value: Any, picks: list[tuple[Slot, int]]) -> Any:
    value = copy.deepcopy(value)
    for path, number in picks:
        if not path:
            return number
        _at(value, path[:-1])[path[-1]] = number
    return value


def _with_edges(every_int: bool, context: Any, value: Any) -> st.SearchStrategy[Any]:
    """The generated value, or it with one or two of its integers at an edge."""
    slots = list(_slots(value, (), every_int))
    if not slots:
        return st.just(value)
    return st.lists(st.tuples(st.sampled_from(slots), EDGES), max_size=2).map(partial(_replaced, value))


class Run:
    """Cases sent and the 5xx answers among them, with a curl line to reproduce each."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self.headers: dict[str, str] = {}
        self.new_token()
        self.statuses: Counter[int] = Counter()
        self.server_errors: list[str] = []
        self.at_edges = 0  # cases with an integer past 2**53 somewhere

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
        given = [case.path_parameters, case.query, case.body]
        self.at_edges += any(abs(_at(given, slot)) > 2**53 for slot in _slots(given, (), True))

        if status >= 500:
            self.server_errors.append(
                f"{status} {case.operation.label}{detail}: {case.as_curl_command(self.headers)}"
            )

    def check(self, capsys: pytest.CaptureFixture[str], what: str) -> None:
        with capsys.disabled():
            print(
                f"\nschemathesis {what}: {self.statuses.total()} cases ({self.at_edges} with integers past"
                f" 2**53), {len(self.server_errors)} 5xx;"
                f" statuses {dict(sorted(self.statuses.items()))}"
            )
        assert not self.server_errors, "\n".join(self.server_errors[:20])


@pytest.fixture
def api(app: FastAPI, factory: sessionmaker[Session], token: str) -> Any:
    setup_catalog(factory, {"SKU-1": 100, "SKU-2": 100})
    # The spec, like every page, is for those signed in.
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", app, headers={"Authorization": f"Bearer {token}"}
    )
    schema.hook("flatmap_path_parameters")(partial(_with_edges, True))
    schema.hook("flatmap_query")(partial(_with_edges, True))
    schema.hook("flatmap_body")(partial(_with_edges, False))
    return schema


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
