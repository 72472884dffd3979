"""Barcodes on the catalog: a code shaped like a GTIN (EAN/UPC) must carry its check digit, the
same GTIN written at another length is the same barcode, and one barcode names one product."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog.domain import barcode_forms, check_barcode, gtin_check_digit
from tests.api.conftest import app, client, token
from tests.factories import setup_catalog

__all__ = ["app", "client", "token"]


@pytest.mark.parametrize(
    "gtin", ["4006381333931", "036000291452", "96385074", "10012345678902", "00012345600012", "5901234123457"]
)
def test_valid_gtins_of_every_length_pass(gtin: str) -> None:
    assert check_barcode(gtin) == gtin
    assert gtin_check_digit(gtin[:-1]) == int(gtin[-1])


@pytest.mark.parametrize("gtin", ["4006381333932", "036000291453", "96385075", "10012345678903"])
def test_a_gtin_with_a_wrong_check_digit_is_refused_naming_the_right_one(gtin: str) -> None:
    with pytest.raises(
        ValueError, match=f"check digit is {gtin[-1]}; it should be {gtin_check_digit(gtin[:-1])}"
    ):
        check_barcode(gtin)


@pytest.mark.parametrize("own", ["MUG-BLUE", "123", "1234567890", "12345678901234567", "ABC4006381333932"])
def test_codes_that_are_no_gtin_are_the_sellers_own(own: str) -> None:
    assert check_barcode(own) == own
    assert barcode_forms(own) == {own}


def test_a_gtin_is_the_same_barcode_at_every_length_it_fits() -> None:
    assert barcode_forms("036000291452") == {"036000291452", "0036000291452", "00036000291452"}
    assert barcode_forms("00000096385074") == {"96385074", "000096385074", "0000096385074", "00000096385074"}
    assert "4006381333931" in barcode_forms("04006381333931")


def test_the_api_checks_barcodes_and_keeps_one_product_per_barcode(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory)

    wrong = client.patch("/api/v1/products/SKU-1", json={"barcode": "4006381333932"})
    ok = client.patch("/api/v1/products/SKU-1", json={"barcode": "036000291452"})
    same_gtin = client.patch("/api/v1/products/SKU-2", json={"barcode": "0036000291452"})
    again = client.patch("/api/v1/products/SKU-1", json={"barcode": "036000291452"})
    spaces = client.post("/api/v1/products", json={"sku": "SKU-9", "name": "Nine", "barcode": "A B"})
    new = client.post("/api/v1/products", json={"sku": "SKU-8", "name": "Eight", "barcode": "00036000291452"})

    assert wrong.status_code == 422 and "check digit" in wrong.text
    assert ok.status_code == 200 and ok.json()["barcode"] == "036000291452"
    assert same_gtin.status_code == 409
    assert same_gtin.json()["error"]["message"] == "barcode '0036000291452' is already SKU-1's"
    assert again.status_code == 200  # its own barcode set again
    assert spaces.status_code == 422
    assert new.status_code == 409
