"""Carrier accounts' rate limits: every request draws from the account's bucket in the database, shared
by every worker; a 429 holds the throttled operation back for all of them."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.fulfilment.carriers import ratelimit
from orderly.fulfilment.carriers import service as carriers
from orderly.fulfilment.carriers.connector import RateLimit, RateLimited
from orderly.fulfilment.carriers.models import CarrierAccount
from orderly.fulfilment.carriers.schemas import CarrierAccountIn
from tests.fulfilment.carriers.conftest import EASYPOST_KEY, SHIP_FROM, Sandbox, parcel


def _account(factory: sessionmaker[Session], url: str) -> carriers.Reach:
    with transaction(factory) as s:
        carriers.create_account(
            s,
            CarrierAccountIn.model_validate(
                {
                    "code": "ep",
                    "name": "EP",
                    "plugin": "easypost",
                    "base_url": f"{url}/v2",
                    "credentials": {"api_key": EASYPOST_KEY},
                    "settings": {"ship_from": SHIP_FROM},
                }
            ),
        )
        account = s.query(CarrierAccount).one()
        return carriers.reach(account)


def test_a_burst_beyond_the_bucket_waits_and_a_long_wait_hands_the_job_back(
    factory: sessionmaker[Session], easypost: Sandbox
) -> None:
    target = _account(factory, easypost.url)
    limit = RateLimit(per_second=1.0, burst=2)
    assert [ratelimit.take(factory, target.account_id, "x", limit) for _ in range(2)] == [0.0, 0.0]
    assert 0 < ratelimit.take(factory, target.account_id, "x", limit) <= 1.0
    waits: list[float] = []
    with carriers.connected(factory, target, sleep=waits.append) as connector:
        for _ in range(6):  # EasyPost's "rates" bucket holds 5
            connector.quote(parcel())
    assert len(waits) == 1 and 0 < waits[0] <= 0.2
    ratelimit.block(factory, target.account_id, "rates", 60)
    with pytest.raises(carriers.Paced), carriers.connected(factory, target) as connector:
        connector.quote(parcel())
    assert len(easypost.store.shipments) == 6  # the paced call never left


def test_a_429_blocks_the_throttled_operation_for_every_worker(
    factory: sessionmaker[Session], easypost: Sandbox
) -> None:
    target = _account(factory, easypost.url)
    easypost.store.bucket.size = easypost.store.bucket.tokens = 0
    easypost.store.bucket.per_second = 0.0001
    with pytest.raises(RateLimited), carriers.connected(factory, target, sleep=lambda _: None) as connector:
        connector.quote(parcel())
    assert ratelimit.take(factory, target.account_id, "rates", RateLimit(5.0, 5)) > 0  # held back
    assert ratelimit.take(factory, target.account_id, "track", RateLimit(5.0, 5)) == 0  # others go
