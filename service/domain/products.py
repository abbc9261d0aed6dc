"""Products: one Boltrics identity per product, fixed for life.

Pure domain logic, no I/O. A sales channel hands over a `ChannelProduct`; the
`ProductCatalogue` (the part of an account's products that one call touches,
loaded by the store) decides its ExternalNo, whether it is new, changed,
linked or unchanged, and what must go to Boltrics.

The rules, from the Buckles help page on Boltrics:

- The ExternalNo is the SKU; without a SKU, the first barcode; with neither
  the product is refused.
- A Buckles product keeps the ExternalNo it was first given, even when its SKU
  changes later. (The source fixes it once the product exists in Boltrics; we
  fix it when the connector first assigns it, because by then the product may
  be in flight to Boltrics and other listings may be linked to it.)
- Products are deduplicated by ExternalNo: every listing with the same SKU is
  linked to one Boltrics product.
- Product information (description, weight, barcodes) comes from the listing
  where the product was first seen; other listings never overwrite it.
- The same barcode under another ExternalNo is warned about loudly; the product
  becomes a Boltrics product of its own, unless the account links by barcode.
- GTIN check digits are checked, and a wrong one is a warning, not a refusal:
  channels carry shop-internal and legacy codes that are not GTINs, and the
  warehouse scans what is printed on the box. Refusing would keep the product
  out of Boltrics and make every order for it fail, which costs the merchant
  more than a barcode that a person should look at.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from service.domain.text import unwritable_text
from service.errors import FieldViolation

GTIN_LENGTHS = frozenset({8, 12, 13, 14})
BARCODE_SUSPECT = "product.barcode_suspect"

#: The longest value each field may have (the store's column widths).
MAX_LENGTHS = {
    "product_id": 128,
    "source_platform": 64,
    "shop": 128,
    "sku": 128,
}
MAX_BARCODE_LENGTH = 64


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChannelProduct(_Frozen):
    """A product as one sales channel knows it."""

    product_id: str
    source_platform: str = ""
    shop: str = ""
    sku: str = ""
    barcodes: tuple[str, ...] = ()
    name: str = ""
    weight_kg: float = 0.0

    @property
    def listing(self) -> Listing:
        """The channel and shop selling it, under its Buckles product id."""
        return Listing(
            product_id=self.product_id,
            source_platform=self.source_platform,
            shop=self.shop,
        )

    def normalized(self) -> ChannelProduct:
        """The same product with surrounding white space and blank barcodes gone."""
        return self.model_copy(
            update={
                "product_id": self.product_id.strip(),
                "sku": self.sku.strip(),
                "barcodes": tuple(b.strip() for b in self.barcodes if b.strip()),
            }
        )


class Listing(_Frozen):
    """One channel and shop selling a product, under its Buckles product id."""

    product_id: str
    source_platform: str = ""
    shop: str = ""


class ProductState(StrEnum):
    """Where a product is on its way to Boltrics."""

    PENDING = "pending"
    SENT = "sent"
    CREATED = "created"
    FAILED = "failed"


class Outcome(StrEnum):
    """What an upsert did."""

    CREATED = "created"
    UPDATED = "updated"
    LINKED = "linked"
    UNCHANGED = "unchanged"
    REFUSED = "refused"


class SendAction(StrEnum):
    """How a product goes to Boltrics: created, or changed in place."""

    INSERT = "INSERT"
    UPDATE = "UPDATE"


class ProductInfo(_Frozen):
    """What Boltrics is told about a product, as its first listing gave it."""

    description: str = ""
    weight_kg: float = 0.0
    barcodes: tuple[str, ...] = ()
    first_listing: Listing


class ProductRecord(_Frozen):
    """The connector's knowledge of one Boltrics product."""

    account_id: str
    external_no: str
    info: ProductInfo
    state: ProductState = ProductState.PENDING
    in_boltrics: bool = False
    last_error: str = ""
    created_at: datetime
    updated_at: datetime

    def change(self, **changes: object) -> ProductRecord:
        """A copy with `changes` applied."""
        return self.model_copy(update=changes)


class ProductView(_Frozen):
    """A product's identity for operators and event readers."""

    external_no: str
    description: str
    weight_kg: float
    barcodes: tuple[str, ...]
    first_listing: Listing
    listings: tuple[Listing, ...]
    state: ProductState
    last_error: str = ""

    @classmethod
    def of(cls, record: ProductRecord, listings: Iterable[Listing]) -> ProductView:
        """The view of a record and its listings."""
        return cls(
            external_no=record.external_no,
            description=record.info.description,
            weight_kg=record.info.weight_kg,
            barcodes=record.info.barcodes,
            first_listing=record.info.first_listing,
            listings=tuple(listings),
            state=record.state,
            last_error=record.last_error,
        )


@dataclass(frozen=True)
class Notice:
    """A warning worth a log event: a static event name, a sentence, and data."""

    event: str
    message: str
    data: Mapping[str, str] = field(default_factory=dict)


class ProductResult(_Frozen):
    """What happened to one product of a call."""

    product_id: str
    external_no: str = ""
    outcome: Outcome
    warnings: tuple[str, ...] = ()
    violations: tuple[FieldViolation, ...] = ()
    index: int = 0


# --- validation -------------------------------------------------------------


def validate_product(product: ChannelProduct, path: str) -> list[FieldViolation]:
    """Every problem that refuses a product, one violation each, under `path`."""
    problems: list[FieldViolation] = []
    if not product.product_id.strip():
        problems.append(FieldViolation(f"{path}.product_id", "is required"))
    if product.sku and not product.sku.strip():
        problems.append(
            FieldViolation(
                f"{path}.sku", "is only white space; leave it empty or fix it"
            )
        )
    problems += _too_long(product, path)
    problems += unwritable_text(product, path)
    for index, barcode in enumerate(product.barcodes):
        text = barcode.strip()
        if text and not _is_digits(text):
            problems.append(
                FieldViolation(
                    f"{path}.barcodes[{index}]", f"{barcode!r} is not digits only"
                )
            )
        elif len(text) > MAX_BARCODE_LENGTH:
            problems.append(
                FieldViolation(
                    f"{path}.barcodes[{index}]",
                    f"is longer than {MAX_BARCODE_LENGTH} digits",
                )
            )
    if math.isnan(product.weight_kg) or math.isinf(product.weight_kg):
        problems.append(FieldViolation(f"{path}.weight_kg", "is not a number"))
    elif product.weight_kg < 0:
        problems.append(FieldViolation(f"{path}.weight_kg", "must not be negative"))
    # A SKU of only white space is reported above, not once more here.
    if not product.sku and not any(b.strip() for b in product.barcodes):
        problems.append(
            FieldViolation(
                f"{path}.sku",
                "the product has no SKU and no barcode, so it has no ExternalNo "
                "for Boltrics; give it a SKU",
            )
        )
    return problems


def _too_long(product: ChannelProduct, path: str) -> list[FieldViolation]:
    return [
        FieldViolation(f"{path}.{name}", f"is longer than {limit} characters")
        for name, limit in MAX_LENGTHS.items()
        if len(str(getattr(product, name)).strip()) > limit
    ]


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def gtin_check_digit_ok(barcode: str) -> bool:
    """Whether a GTIN-8/12/13/14 ends in the right check digit (mod 10)."""
    digits = [int(char) for char in barcode]
    body, check = digits[:-1], digits[-1]
    weighted = sum(
        digit * (3 if position % 2 == 0 else 1)
        for position, digit in enumerate(reversed(body))
    )
    return (10 - weighted % 10) % 10 == check


def barcode_notices(product: ChannelProduct) -> list[Notice]:
    """Warnings for barcodes that are digits but not valid GTINs."""
    notices = []
    for barcode in product.barcodes:
        if len(barcode) not in GTIN_LENGTHS:
            reason = "is not 8, 12, 13 or 14 digits long, so it is not a GTIN"
        elif not gtin_check_digit_ok(barcode):
            reason = "has a wrong GTIN check digit"
        else:
            continue
        notices.append(
            Notice(
                event=BARCODE_SUSPECT,
                message=f"barcode {barcode} {reason}; it is passed on as given",
                data={"barcode": barcode, "reason": reason},
            )
        )
    return notices


def choose_external_no(product: ChannelProduct) -> str | None:
    """The ExternalNo a new product gets: its SKU, else its first barcode."""
    if product.sku.strip():
        return product.sku.strip()
    for barcode in product.barcodes:
        if barcode.strip():
            return barcode.strip()
    return None


def info_of(product: ChannelProduct) -> ProductInfo:
    """The product information a listing gives."""
    return ProductInfo(
        description=product.name.strip(),
        weight_kg=product.weight_kg,
        barcodes=product.barcodes,
        first_listing=product.listing,
    )


# --- identity ---------------------------------------------------------------

#: A suspect barcode is logged only when the product goes to Boltrics, so that
#: the daily sync does not repeat the same warning for unchanged products.
_SENDING = frozenset({Outcome.CREATED, Outcome.UPDATED})


@dataclass
class CatalogueChanges:
    """What one call changed: to be written in one transaction."""

    records: dict[str, ProductRecord] = field(default_factory=dict)
    listings: dict[Listing, str] = field(default_factory=dict)
    sends: dict[str, SendAction] = field(default_factory=dict)
    notices: list[tuple[str, Notice]] = field(default_factory=list)


@dataclass
class ProductCatalogue:
    """The identities of an account's products that one call needs.

    `listings` maps each known listing to its ExternalNo, `records` holds the
    products by ExternalNo, `barcodes` the ExternalNos carrying each barcode.
    The store loads them for the products of a call; `upsert` decides one
    product after another and keeps the catalogue current, so that products
    of one call deduplicate against each other too.
    """

    account_id: str
    link_by_barcode: bool = False
    listings: dict[Listing, str] = field(default_factory=dict)
    records: dict[str, ProductRecord] = field(default_factory=dict)
    barcodes: dict[str, set[str]] = field(default_factory=dict)
    changes: CatalogueChanges = field(default_factory=CatalogueChanges)
    _by_product_id: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for listing, external_no in self.listings.items():
            self._by_product_id.setdefault(listing.product_id, external_no)

    def upsert(self, product: ChannelProduct, now: datetime) -> ProductResult:
        """Decide one valid product's identity and what goes to Boltrics."""
        product = product.normalized()
        notices = barcode_notices(product)
        known = self._by_product_id.get(product.product_id)

        if known is not None and known in self.records:
            external_no = known
            notices += _kept_notice(product, known)
        else:
            external_no, linked_notices = self._identify(product)
            notices += linked_notices
        notices += self._duplicate_barcodes(product, external_no, notices)

        outcome = self._apply(product, external_no, now)
        self.changes.notices += [
            (product.product_id, notice)
            for notice in notices
            if outcome in _SENDING or notice.event != BARCODE_SUSPECT
        ]
        return ProductResult(
            product_id=product.product_id,
            external_no=external_no,
            outcome=outcome,
            warnings=tuple(notice.message for notice in notices),
        )

    def _identify(self, product: ChannelProduct) -> tuple[str, list[Notice]]:
        candidate = choose_external_no(product)
        assert candidate is not None, "validate_product refuses such products"
        if candidate in self.records:
            return candidate, []

        owners = self._barcode_owners(product, candidate)
        if owners and self.link_by_barcode:
            owner = owners[0]
            notice = Notice(
                event="product.linked_by_barcode",
                message=(
                    f"linked to ExternalNo {owner}, which has the same barcode; "
                    f"the account links by barcode, so {candidate} is not created"
                ),
                data={"external_no": owner, "candidate": candidate},
            )
            return owner, [notice]
        return candidate, []

    def _duplicate_barcodes(
        self, product: ChannelProduct, external_no: str, notices: list[Notice]
    ) -> list[Notice]:
        if any(notice.event == "product.linked_by_barcode" for notice in notices):
            return []
        shared = {
            barcode: sorted(self.barcodes.get(barcode, set()) - {external_no})
            for barcode in product.barcodes
        }
        return [
            Notice(
                event="product.duplicate_barcode",
                message=(
                    f"barcode {barcode} is also on ExternalNo {', '.join(owners)}, "
                    f"under another SKU than ExternalNo {external_no}: they are "
                    "separate Boltrics products and their stock is split; "
                    "give them one SKU"
                ),
                data={
                    "barcode": barcode,
                    "external_no": external_no,
                    "other_external_nos": ", ".join(owners),
                },
            )
            for barcode, owners in shared.items()
            if owners
        ]

    def _barcode_owners(self, product: ChannelProduct, external_no: str) -> list[str]:
        owners: set[str] = set()
        for barcode in product.barcodes:
            owners |= self.barcodes.get(barcode, set())
        owners.discard(external_no)
        return sorted(owners)

    def _apply(
        self, product: ChannelProduct, external_no: str, now: datetime
    ) -> Outcome:
        listing = product.listing
        new_listing = listing not in self.listings
        if new_listing:
            self._link(listing, external_no)

        record = self.records.get(external_no)
        if record is None:
            record = ProductRecord(
                account_id=self.account_id,
                external_no=external_no,
                info=info_of(product),
                created_at=now,
                updated_at=now,
            )
            self._save(record, SendAction.INSERT)
            return Outcome.CREATED

        if record.info.first_listing != listing:
            if record.state is ProductState.FAILED:
                # Sent again from any listing, with the first one's information:
                # the first shop may no longer list it, and orders wait for it.
                return self._send_again(record, now)
            return Outcome.LINKED if new_listing else Outcome.UNCHANGED
        return self._from_first_listing(record, product, now)

    def _send_again(self, record: ProductRecord, now: datetime) -> Outcome:
        action = SendAction.UPDATE if record.in_boltrics else SendAction.INSERT
        again = record.change(state=ProductState.PENDING, last_error="", updated_at=now)
        self._save(again, action)
        return Outcome.UPDATED if record.in_boltrics else Outcome.CREATED

    def _from_first_listing(
        self, record: ProductRecord, product: ChannelProduct, now: datetime
    ) -> Outcome:
        info = info_of(product)
        if info == record.info and record.state is not ProductState.FAILED:
            return Outcome.UNCHANGED

        # A failed product is sent again when its first listing comes again:
        # the daily sync is its natural retry.
        action = SendAction.UPDATE if record.in_boltrics else SendAction.INSERT
        changed = record.change(
            info=info, state=ProductState.PENDING, last_error="", updated_at=now
        )
        self._save(changed, action)
        if info == record.info:
            return Outcome.UPDATED if record.in_boltrics else Outcome.CREATED
        return Outcome.UPDATED

    def _link(self, listing: Listing, external_no: str) -> None:
        self.listings[listing] = external_no
        self._by_product_id.setdefault(listing.product_id, external_no)
        self.changes.listings[listing] = external_no

    def _save(self, record: ProductRecord, action: SendAction) -> None:
        previous = self.records.get(record.external_no)
        if previous is not None:
            for barcode in previous.info.barcodes:
                self.barcodes.get(barcode, set()).discard(record.external_no)
        for barcode in record.info.barcodes:
            self.barcodes.setdefault(barcode, set()).add(record.external_no)
        self.records[record.external_no] = record
        self.changes.records[record.external_no] = record
        self.changes.sends[record.external_no] = action


def _kept_notice(product: ChannelProduct, external_no: str) -> list[Notice]:
    now_gives = choose_external_no(product)
    if now_gives is None or now_gives == external_no:
        return []
    return [
        Notice(
            event="product.sku_change_ignored",
            message=(
                f"ExternalNo {external_no} is kept: it never changes once given, "
                f"although the product's SKU or barcode is now {now_gives}"
            ),
            data={"external_no": external_no, "ignored": now_gives},
        )
    ]


def refused(product: ChannelProduct, violations: list[FieldViolation]) -> ProductResult:
    """The result of a product refused for `violations`."""
    return ProductResult(
        product_id=product.product_id,
        outcome=Outcome.REFUSED,
        violations=tuple(violations),
    )
