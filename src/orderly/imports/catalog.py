"""The catalog kind: products with their barcodes, sizes and costs, and bundles with their components.

A row names a SKU and the fields to set: a new SKU becomes a product (a bundle when the row lists
components), a known one takes the fields the file gives and keeps the others. The catalog's own rules
apply (``ProductIn``/``ProductUpdate``, ``catalog.domain``): a SKU's shape, a GTIN's check digit, one
product per barcode, plain components only. A batch reads its SKUs, components and barcodes in a few
statements and writes with one flush.
"""

# ruff: noqa: RUF001, RUF003 - full-width punctuation and × are read as Chinese spreadsheets write them.
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orderly.catalog import domain
from orderly.catalog import repository as catalog_repo
from orderly.catalog.models import BundleComponent, Product
from orderly.catalog.schemas import ComponentIn, ProductIn, ProductUpdate
from orderly.core.db import RetryTransaction
from orderly.core.errors import DomainError
from orderly.imports import cleaning
from orderly.imports.domain import FieldSpec, Kind, Outcome, Row, RowError
from orderly.imports.service import ImportOptions, register

FIELDS = (
    FieldSpec("sku", True, ("SKU", "Seller SKU", "Item SKU", "商品编码", "SKU编码", "货号", "商家编码")),
    FieldSpec("name", False, ("Name", "Product name", "Title", "商品名称", "名称", "品名")),
    FieldSpec("barcode", False, ("Barcode", "EAN", "UPC", "GTIN", "条码", "条形码")),
    FieldSpec("category", False, ("Category", "分类", "类目", "商品分类")),
    FieldSpec("weight_g", False, ("Weight (g)", "Weight", "Weight g", "重量", "重量(g)", "重量（g）")),
    FieldSpec("length_mm", False, ("Length (mm)", "Length", "长", "长(mm)", "长度")),
    FieldSpec("width_mm", False, ("Width (mm)", "Width", "宽", "宽(mm)", "宽度")),
    FieldSpec("height_mm", False, ("Height (mm)", "Height", "高", "高(mm)", "高度")),
    FieldSpec("cost", False, ("Cost", "Unit cost", "Cost price", "成本", "成本价", "采购价")),
    FieldSpec("currency", False, ("Currency", "Cost currency", "币种", "货币")),
    FieldSpec(
        "components", False, ("Components", "Bundle components", "Kit", "组合明细", "套装明细", "子商品")
    ),
)
_TEXTS = ("name", "barcode", "category")
_SIZES = ("weight_g", "length_mm", "width_mm", "height_mm")

# "MUG-1*2; SPOON" or "MUG-1 x 2, SPOON" or "MUG-1:2|SPOON": components apart by ; , | or a line,
# each with its quantity after *, ×, : or a spaced x (1 when none).
_COMPONENT_SEPARATORS = re.compile(r"[;,|\n；，、]")
_COMPONENT = re.compile(r"^(?P<sku>[^\s*×:：]+)\s*(?:(?:[*×:：]|\s[xX]\s)\s*(?P<quantity>\d+))?$")


class _Refused(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(errors)
        self.errors = errors


def components_of(written: str) -> list[tuple[str, int]]:
    """A bundle's components as a file writes them, as (SKU, quantity) in the file's order."""
    parts: list[tuple[str, int]] = []
    for piece in _COMPONENT_SEPARATORS.split(written):
        if not piece.strip():
            continue
        match = _COMPONENT.match(piece.strip())
        if match is None:
            raise cleaning.Invalid(f"'{piece.strip()}' is not a component such as MUG-1*2")
        parts.append((match["sku"], int(match["quantity"] or 1)))
    if not parts:
        raise cleaning.Invalid("no components: write them as MUG-1*2; SPOON-1")
    return parts


@dataclass
class _Wanted:
    """What a row asks for: the product's fields it gives (cleaned) and its components, if any."""

    row: Row
    sku: str
    fields: dict[str, Any]
    components: list[tuple[str, int]] | None


def _read(row: Row, options: ImportOptions) -> _Wanted:
    """The row's cells cleaned; every bad cell of the row is reported at once."""
    errors: list[RowError] = []
    sku = cleaning.text(row.values.get("sku", ""))
    if sku is None:
        raise _Refused([row.error("sku", "the SKU is empty")])
    given: dict[str, Any] = {}
    for name in _TEXTS:
        if (value := cleaning.text(row.values.get(name, ""))) is not None:
            given[name] = value
    for name in _SIZES:
        if (written := cleaning.text(row.values.get(name, ""))) is not None:
            try:
                given[name] = cleaning.quantity(written, zero=name == "weight_g")
            except cleaning.Invalid as invalid:
                errors.append(row.error(name, str(invalid)))
    cost = cleaning.text(row.values.get("cost", ""))
    currency = (cleaning.text(row.values.get("currency", "")) or options.currency or "").upper()
    if cost is not None:
        if not currency:
            errors.append(row.error("cost", "no currency: add a currency column or choose one for the file"))
        else:
            try:
                given["cost"], given["cost_currency"] = cleaning.money(cost, currency), currency
            except cleaning.Invalid as invalid:
                errors.append(row.error("cost", str(invalid)))
    components = None
    if (written := cleaning.text(row.values.get("components", ""))) is not None:
        try:
            components = components_of(written)
        except cleaning.Invalid as invalid:
            errors.append(row.error("components", str(invalid)))
    if errors:
        raise _Refused(errors)
    return _Wanted(row, sku, given, components)


def _validation_errors(row: Row, error: ValidationError) -> list[RowError]:
    """Pydantic's complaints about the product's fields, each on the file's cell it came from."""
    found = []
    for problem in error.errors():
        name = str(problem["loc"][0]) if problem["loc"] else None
        column = "cost" if name == "cost_currency" else name
        reason = problem["msg"].removeprefix("Value error, ")
        found.append(
            row.error(
                column if column in row.columns else None,
                f"{name}: {reason}" if name else reason,
            )
        )
    return found


class CatalogKind:
    kind = Kind.CATALOG
    fields: Sequence[FieldSpec] = FIELDS
    batch_size = 500
    group_by: str | None = None
    shard_by: str | None = None

    def apply(
        self, session: Session, rows: Sequence[Row], options: ImportOptions, *, dry_run: bool
    ) -> Outcome:
        outcome = Outcome()
        wanted: list[_Wanted] = []
        for row in rows:
            try:
                wanted.append(_read(row, options))
            except _Refused as refused:
                outcome.errors.extend(refused.errors)
        if wanted:
            _Batch(session, wanted).apply(outcome)
        outcome.errors.sort(key=lambda error: error.row)
        return outcome


class _Batch:
    """One batch's rows against the catalog as it stands, read once."""

    def __init__(self, session: Session, wanted: list[_Wanted]) -> None:
        self.session = session
        self.wanted = wanted
        named = {w.sku for w in wanted} | {sku for w in wanted for sku, _ in w.components or ()}
        self.products = catalog_repo.products_by_skus(session, named)
        # The components of the batch's known bundles, by SKU, to tell a re-import from a change.
        parts = catalog_repo.bundle_parts(session, [p.id for p in self.products.values() if p.is_bundle])
        skus = catalog_repo.skus_of(
            session, {pid for lines in parts.values() for pid, _ in lines} | parts.keys()
        )
        self.parts = {skus[bundle]: [(skus[pid], q) for pid, q in lines] for bundle, lines in parts.items()}
        barcodes = {
            form
            for w in wanted
            if "barcode" in w.fields
            for form in domain.barcode_forms(w.fields["barcode"])
        }
        self.barcodes = catalog_repo.barcode_holders(session, barcodes)
        self.new: dict[str, Product] = {}  # SKU -> product made by this batch
        self.new_parts: dict[str, list[tuple[str, int]]] = {}
        self.rows: dict[str, int] = {}  # SKU -> the row that gave it

    def apply(self, outcome: Outcome) -> None:
        for wanted in self.wanted:
            try:
                changed = self._one(wanted)
            except _Refused as refused:
                outcome.errors.extend(refused.errors)
                continue
            if changed:
                outcome.imported += 1
            else:
                outcome.unchanged += 1
        try:
            self.session.flush()
        except IntegrityError as taken:
            # Another import made one of these SKUs since the batch read them: read and apply it again.
            raise RetryTransaction(str(taken.orig)) from taken
        ids = {sku: product.id for sku, product in (self.products | self.new).items()}
        self.session.add_all(
            BundleComponent(bundle_id=ids[bundle], component_id=ids[sku], quantity=quantity)
            for bundle, parts in self.new_parts.items()
            for sku, quantity in parts
        )
        self.session.flush()

    def _one(self, wanted: _Wanted) -> bool:
        row, sku = wanted.row, wanted.sku
        if sku in self.rows:
            raise _Refused([row.error(None, f"{sku} is on row {self.rows[sku]} already: give each SKU once")])
        self.rows[sku] = row.number
        product = self.products.get(sku)
        if product is None:
            self._create(wanted)
            return True
        return self._update(wanted, product)

    def _create(self, wanted: _Wanted) -> None:
        row, sku = wanted.row, wanted.sku
        try:
            domain.check_sku(sku)
        except DomainError as refused:
            raise _Refused([row.error("sku", refused.message)]) from None
        if "name" not in wanted.fields:
            name_column = "name" if "name" in row.columns else None
            raise _Refused([row.error(name_column, f"{sku} is new: a new product needs a name")])
        try:
            data = ProductIn(sku=sku, **wanted.fields)
        except ValidationError as error:
            raise _Refused(_validation_errors(row, error)) from None
        self._barcode_free(row, sku, data.barcode)
        parts = None
        if wanted.components is not None:
            parts = self._components(row, sku, wanted.components)
        product = Product(**data.model_dump(), is_bundle=parts is not None)
        self.session.add(product)
        self.new[sku] = product
        if data.barcode:
            self.barcodes.update(dict.fromkeys(domain.barcode_forms(data.barcode), sku))
        if parts is not None:
            self.new_parts[sku] = parts

    def _update(self, wanted: _Wanted, product: Product) -> bool:
        row, sku = wanted.row, wanted.sku
        if wanted.components is not None:
            if not product.is_bundle:
                raise _Refused(
                    [row.error("components", f"{sku} is a plain product: it cannot become a bundle")]
                )
            if sorted(wanted.components) != sorted(self.parts.get(sku, [])):
                raise _Refused(
                    [
                        row.error(
                            "components",
                            f"{sku} is a bundle of other components: a bundle's components cannot change",
                        )
                    ]
                )
        try:
            data = ProductUpdate(**wanted.fields)
        except ValidationError as error:
            raise _Refused(_validation_errors(row, error)) from None
        changes = {
            name: value
            for name, value in data.model_dump(exclude_unset=True).items()
            if getattr(product, name) != value
        }
        if "barcode" in changes:
            self._barcode_free(row, sku, changes["barcode"])
            self.barcodes.update(dict.fromkeys(domain.barcode_forms(changes["barcode"]), sku))
        for name, value in changes.items():
            setattr(product, name, value)
        return bool(changes)

    def _barcode_free(self, row: Row, sku: str, barcode: str | None) -> None:
        """One barcode names one product, whichever way it is written (``barcode_forms``)."""
        if barcode is None:
            return
        holders = {self.barcodes[form] for form in domain.barcode_forms(barcode) if form in self.barcodes} - {
            sku
        }
        if holders:
            raise _Refused([row.error("barcode", f"barcode {barcode!r} is already {min(holders)}'s")])

    def _components(self, row: Row, sku: str, components: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """The components of a new bundle, each a plain product the hub or an earlier row of the
        batch knows, each quantity as ``ComponentIn`` allows."""
        known = self.products | self.new
        missing = [part for part, _ in components if part not in known]
        if missing:
            raise _Refused([row.error("components", f"unknown component SKU(s): {', '.join(missing)}")])
        try:
            for part, quantity in components:
                ComponentIn(sku=part, quantity=quantity)
        except ValidationError as error:
            raise _Refused([row.error("components", f"quantity: {error.errors()[0]['msg']}")]) from None
        # The catalog's rule, on stand-in ids: products made in this batch have none yet.
        ids = {code: number for number, code in enumerate(sorted(known), start=1)}
        bundles = {ids[code] for code, product in known.items() if product.is_bundle}
        try:
            domain.check_bundle(0, [(ids[part], quantity) for part, quantity in components], bundles)
        except DomainError as refused:
            raise _Refused([row.error("components", refused.message)]) from None
        return components


register(CatalogKind())
