"""The catalog over HTTP: products, bundles and the mapping of shop SKUs to ours."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, status

from orderly.catalog import service
from orderly.catalog.schemas import (
    BundleIn,
    MappingIn,
    MappingOut,
    MappingUpdate,
    ProductIn,
    ProductOut,
    ProductUpdate,
)
from orderly.core.pagination import Page, decode_cursor, paginate
from orderly.core.text import StorableStr
from orderly.core.web import Cursor, DbSession, Limit, ReadSession, api_router, id_path

router = api_router("catalog")


class ProductPage(Page[ProductOut]):
    pass


@router.get("/products", response_model=ProductPage)
def list_products(session: ReadSession, limit: Limit = 50, cursor: Cursor = None) -> ProductPage:
    """In the order they were created. Bundle components are listed by `GET /products/{sku}`."""
    rows = service.list_products(session, after_id=decode_cursor(cursor) if cursor else 0, limit=limit + 1)
    items, next_cursor = paginate(rows, limit, lambda product: product.id)
    return ProductPage(items=items, next_cursor=next_cursor)


@router.get("/products/{sku:path}", response_model=ProductOut)
def get_product(
    session: ReadSession, sku: Annotated[StorableStr, Path(max_length=64, description="our SKU")]
) -> ProductOut:
    return service.get_product(session, sku)


@router.post("/products", response_model=ProductOut, status_code=status.HTTP_201_CREATED)
def create_product(session: DbSession, body: ProductIn) -> ProductOut:
    return service.create_product(session, body)


@router.post("/bundles", response_model=ProductOut, status_code=status.HTTP_201_CREATED)
def create_bundle(session: DbSession, body: BundleIn) -> ProductOut:
    """A kit sold as one SKU whose stock is that of its components."""
    return service.create_bundle(session, body)


@router.patch("/products/{sku:path}", response_model=ProductOut)
def update_product(
    session: DbSession,
    sku: Annotated[StorableStr, Path(max_length=64, description="our SKU")],
    body: ProductUpdate,
) -> ProductOut:
    """Change the fields sent (`null` clears an optional one), e.g. set or clear a presale date."""
    return service.update_product(session, sku, body)


@router.delete("/products/{sku:path}", status_code=status.HTTP_204_NO_CONTENT)
def delete_product(
    session: DbSession, sku: Annotated[StorableStr, Path(max_length=64, description="our SKU")]
) -> None:
    """Delete a product nothing refers to; 409 names what does (stock, orders, mappings, bundles)."""
    service.delete_product(session, sku)


@router.get("/sku-mappings", response_model=list[MappingOut])
def list_mappings(
    session: ReadSession,
    shop: Annotated[StorableStr | None, Query(max_length=64, description="only this shop's (code)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 500,
) -> list[MappingOut]:
    """The first `limit` mappings, oldest first, each with the last figure its listing was told."""
    return service.list_mappings(session, shop=shop, limit=limit)


@router.post("/sku-mappings", response_model=MappingOut, status_code=status.HTTP_201_CREATED)
def create_mapping(session: DbSession, body: MappingIn) -> MappingOut:
    """Bind a shop's SKU and/or listing id to one of our SKUs, so its order lines resolve and its
    listing is told our stock figure (unless the platform fulfils it from its own stock)."""
    return service.create_mapping(session, body)


MappingId = Annotated[int, id_path("mapping")]


@router.get("/sku-mappings/{mapping_id}", response_model=MappingOut)
def get_mapping(session: ReadSession, mapping_id: MappingId) -> MappingOut:
    return service.get_mapping(session, mapping_id)


@router.patch("/sku-mappings/{mapping_id}", response_model=MappingOut)
def update_mapping(session: DbSession, mapping_id: MappingId, body: MappingUpdate) -> MappingOut:
    """Change the SKU a listing sells, where its stock is kept, its platform ids or whose stock it sells;
    fields left out stay. A listing whose figure may now be wrong is pushed again."""
    return service.update_mapping(session, mapping_id, body)


@router.delete("/sku-mappings/{mapping_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_mapping(session: DbSession, mapping_id: MappingId) -> None:
    """Forget a mapping; refused (409, with why) while open orders of its shop came in through it."""
    service.delete_mapping(session, mapping_id)
