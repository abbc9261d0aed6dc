import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BucklesStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUCKLES_STATUS_UNSPECIFIED: _ClassVar[BucklesStatus]
    BUCKLES_STATUS_PENDING: _ClassVar[BucklesStatus]
    BUCKLES_STATUS_PROCESSING: _ClassVar[BucklesStatus]
    BUCKLES_STATUS_ON_HOLD: _ClassVar[BucklesStatus]
    BUCKLES_STATUS_COMPLETED: _ClassVar[BucklesStatus]
    BUCKLES_STATUS_CANCELLED: _ClassVar[BucklesStatus]
    BUCKLES_STATUS_REFUNDED: _ClassVar[BucklesStatus]
    BUCKLES_STATUS_SHIPPED: _ClassVar[BucklesStatus]

class OrderState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_STATE_UNSPECIFIED: _ClassVar[OrderState]
    ORDER_STATE_SKIPPED: _ClassVar[OrderState]
    ORDER_STATE_QUEUED: _ClassVar[OrderState]
    ORDER_STATE_SENT: _ClassVar[OrderState]
    ORDER_STATE_PROCESSED: _ClassVar[OrderState]
    ORDER_STATE_FAILED: _ClassVar[OrderState]
    ORDER_STATE_DEAD: _ClassVar[OrderState]
    ORDER_STATE_SHIPPED: _ClassVar[OrderState]

class TimelineKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIMELINE_KIND_UNSPECIFIED: _ClassVar[TimelineKind]
    TIMELINE_KIND_RECEIVED: _ClassVar[TimelineKind]
    TIMELINE_KIND_SKIPPED: _ClassVar[TimelineKind]
    TIMELINE_KIND_DECIDED: _ClassVar[TimelineKind]
    TIMELINE_KIND_QUEUED: _ClassVar[TimelineKind]
    TIMELINE_KIND_SENT: _ClassVar[TimelineKind]
    TIMELINE_KIND_PROCESSED: _ClassVar[TimelineKind]
    TIMELINE_KIND_FAILED: _ClassVar[TimelineKind]
    TIMELINE_KIND_RETRIED: _ClassVar[TimelineKind]
    TIMELINE_KIND_SHIPPED: _ClassVar[TimelineKind]
    TIMELINE_KIND_METHOD_CHANGED: _ClassVar[TimelineKind]
    TIMELINE_KIND_DEAD: _ClassVar[TimelineKind]

class ProductState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRODUCT_STATE_UNSPECIFIED: _ClassVar[ProductState]
    PRODUCT_STATE_PENDING: _ClassVar[ProductState]
    PRODUCT_STATE_SENT: _ClassVar[ProductState]
    PRODUCT_STATE_CREATED: _ClassVar[ProductState]
    PRODUCT_STATE_FAILED: _ClassVar[ProductState]

class ProductOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRODUCT_OUTCOME_UNSPECIFIED: _ClassVar[ProductOutcome]
    PRODUCT_OUTCOME_CREATED: _ClassVar[ProductOutcome]
    PRODUCT_OUTCOME_UPDATED: _ClassVar[ProductOutcome]
    PRODUCT_OUTCOME_LINKED: _ClassVar[ProductOutcome]
    PRODUCT_OUTCOME_UNCHANGED: _ClassVar[ProductOutcome]
    PRODUCT_OUTCOME_REFUSED: _ClassVar[ProductOutcome]

class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_TYPE_UNSPECIFIED: _ClassVar[EventType]
    EVENT_TYPE_ORDER_SKIPPED: _ClassVar[EventType]
    EVENT_TYPE_ORDER_ACCEPTED: _ClassVar[EventType]
    EVENT_TYPE_ORDER_SENT: _ClassVar[EventType]
    EVENT_TYPE_ORDER_PROCESSED: _ClassVar[EventType]
    EVENT_TYPE_ORDER_FAILED: _ClassVar[EventType]
    EVENT_TYPE_ORDER_SHIPPED: _ClassVar[EventType]
    EVENT_TYPE_PRODUCT_CHANGED: _ClassVar[EventType]
    EVENT_TYPE_STOCK_CHANGED: _ClassVar[EventType]
    EVENT_TYPE_SHIPMENT_REJECTED: _ClassVar[EventType]
BUCKLES_STATUS_UNSPECIFIED: BucklesStatus
BUCKLES_STATUS_PENDING: BucklesStatus
BUCKLES_STATUS_PROCESSING: BucklesStatus
BUCKLES_STATUS_ON_HOLD: BucklesStatus
BUCKLES_STATUS_COMPLETED: BucklesStatus
BUCKLES_STATUS_CANCELLED: BucklesStatus
BUCKLES_STATUS_REFUNDED: BucklesStatus
BUCKLES_STATUS_SHIPPED: BucklesStatus
ORDER_STATE_UNSPECIFIED: OrderState
ORDER_STATE_SKIPPED: OrderState
ORDER_STATE_QUEUED: OrderState
ORDER_STATE_SENT: OrderState
ORDER_STATE_PROCESSED: OrderState
ORDER_STATE_FAILED: OrderState
ORDER_STATE_DEAD: OrderState
ORDER_STATE_SHIPPED: OrderState
TIMELINE_KIND_UNSPECIFIED: TimelineKind
TIMELINE_KIND_RECEIVED: TimelineKind
TIMELINE_KIND_SKIPPED: TimelineKind
TIMELINE_KIND_DECIDED: TimelineKind
TIMELINE_KIND_QUEUED: TimelineKind
TIMELINE_KIND_SENT: TimelineKind
TIMELINE_KIND_PROCESSED: TimelineKind
TIMELINE_KIND_FAILED: TimelineKind
TIMELINE_KIND_RETRIED: TimelineKind
TIMELINE_KIND_SHIPPED: TimelineKind
TIMELINE_KIND_METHOD_CHANGED: TimelineKind
TIMELINE_KIND_DEAD: TimelineKind
PRODUCT_STATE_UNSPECIFIED: ProductState
PRODUCT_STATE_PENDING: ProductState
PRODUCT_STATE_SENT: ProductState
PRODUCT_STATE_CREATED: ProductState
PRODUCT_STATE_FAILED: ProductState
PRODUCT_OUTCOME_UNSPECIFIED: ProductOutcome
PRODUCT_OUTCOME_CREATED: ProductOutcome
PRODUCT_OUTCOME_UPDATED: ProductOutcome
PRODUCT_OUTCOME_LINKED: ProductOutcome
PRODUCT_OUTCOME_UNCHANGED: ProductOutcome
PRODUCT_OUTCOME_REFUSED: ProductOutcome
EVENT_TYPE_UNSPECIFIED: EventType
EVENT_TYPE_ORDER_SKIPPED: EventType
EVENT_TYPE_ORDER_ACCEPTED: EventType
EVENT_TYPE_ORDER_SENT: EventType
EVENT_TYPE_ORDER_PROCESSED: EventType
EVENT_TYPE_ORDER_FAILED: EventType
EVENT_TYPE_ORDER_SHIPPED: EventType
EVENT_TYPE_PRODUCT_CHANGED: EventType
EVENT_TYPE_STOCK_CHANGED: EventType
EVENT_TYPE_SHIPMENT_REJECTED: EventType

class Account(_message.Message):
    __slots__ = ("account_id", "display_name", "boltrics_configured", "boltrics_base_url", "boltrics_company_id", "stock_active", "rules_version", "link_by_barcode")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    BOLTRICS_CONFIGURED_FIELD_NUMBER: _ClassVar[int]
    BOLTRICS_BASE_URL_FIELD_NUMBER: _ClassVar[int]
    BOLTRICS_COMPANY_ID_FIELD_NUMBER: _ClassVar[int]
    STOCK_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_FIELD_NUMBER: _ClassVar[int]
    LINK_BY_BARCODE_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    display_name: str
    boltrics_configured: bool
    boltrics_base_url: str
    boltrics_company_id: str
    stock_active: bool
    rules_version: str
    link_by_barcode: bool
    def __init__(self, account_id: _Optional[str] = ..., display_name: _Optional[str] = ..., boltrics_configured: _Optional[bool] = ..., boltrics_base_url: _Optional[str] = ..., boltrics_company_id: _Optional[str] = ..., stock_active: _Optional[bool] = ..., rules_version: _Optional[str] = ..., link_by_barcode: _Optional[bool] = ...) -> None: ...

class GetAccountRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class GetAccountResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: Account
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ...) -> None: ...

class ActivateAccountRequest(_message.Message):
    __slots__ = ("account_id", "request_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    request_id: str
    def __init__(self, account_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ActivateAccountResponse(_message.Message):
    __slots__ = ("account", "pushed_levels")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    PUSHED_LEVELS_FIELD_NUMBER: _ClassVar[int]
    account: Account
    pushed_levels: int
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ..., pushed_levels: _Optional[int] = ...) -> None: ...

class Address(_message.Message):
    __slots__ = ("name", "company", "street_lines", "postcode", "city", "country", "email", "phone")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COMPANY_FIELD_NUMBER: _ClassVar[int]
    STREET_LINES_FIELD_NUMBER: _ClassVar[int]
    POSTCODE_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    name: str
    company: str
    street_lines: _containers.RepeatedScalarFieldContainer[str]
    postcode: str
    city: str
    country: str
    email: str
    phone: str
    def __init__(self, name: _Optional[str] = ..., company: _Optional[str] = ..., street_lines: _Optional[_Iterable[str]] = ..., postcode: _Optional[str] = ..., city: _Optional[str] = ..., country: _Optional[str] = ..., email: _Optional[str] = ..., phone: _Optional[str] = ...) -> None: ...

class OrderLine(_message.Message):
    __slots__ = ("product_id", "sku", "barcode", "name", "quantity", "unit_price", "weight_kg")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    BARCODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_KG_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    sku: str
    barcode: str
    name: str
    quantity: int
    unit_price: str
    weight_kg: float
    def __init__(self, product_id: _Optional[str] = ..., sku: _Optional[str] = ..., barcode: _Optional[str] = ..., name: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_price: _Optional[str] = ..., weight_kg: _Optional[float] = ...) -> None: ...

class Order(_message.Message):
    __slots__ = ("order_id", "order_number", "source_platform", "shop", "buckles_status", "webshop_status", "paid", "placed_at", "currency", "total_amount", "delivery_address", "lines", "shipping_preference", "tags")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    SHOP_FIELD_NUMBER: _ClassVar[int]
    BUCKLES_STATUS_FIELD_NUMBER: _ClassVar[int]
    WEBSHOP_STATUS_FIELD_NUMBER: _ClassVar[int]
    PAID_FIELD_NUMBER: _ClassVar[int]
    PLACED_AT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_PREFERENCE_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    order_number: str
    source_platform: str
    shop: str
    buckles_status: BucklesStatus
    webshop_status: str
    paid: bool
    placed_at: _timestamp_pb2.Timestamp
    currency: str
    total_amount: str
    delivery_address: Address
    lines: _containers.RepeatedCompositeFieldContainer[OrderLine]
    shipping_preference: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, order_id: _Optional[str] = ..., order_number: _Optional[str] = ..., source_platform: _Optional[str] = ..., shop: _Optional[str] = ..., buckles_status: _Optional[_Union[BucklesStatus, str]] = ..., webshop_status: _Optional[str] = ..., paid: _Optional[bool] = ..., placed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., currency: _Optional[str] = ..., total_amount: _Optional[str] = ..., delivery_address: _Optional[_Union[Address, _Mapping]] = ..., lines: _Optional[_Iterable[_Union[OrderLine, _Mapping]]] = ..., shipping_preference: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ...) -> None: ...

class ShippingDecision(_message.Message):
    __slots__ = ("shipping_method", "source", "checkout_preference", "matched_rule", "ruleset_version", "misses", "explanation")
    class Source(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        SOURCE_UNSPECIFIED: _ClassVar[ShippingDecision.Source]
        SOURCE_CHECKOUT: _ClassVar[ShippingDecision.Source]
        SOURCE_RULE: _ClassVar[ShippingDecision.Source]
    SOURCE_UNSPECIFIED: ShippingDecision.Source
    SOURCE_CHECKOUT: ShippingDecision.Source
    SOURCE_RULE: ShippingDecision.Source
    SHIPPING_METHOD_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CHECKOUT_PREFERENCE_FIELD_NUMBER: _ClassVar[int]
    MATCHED_RULE_FIELD_NUMBER: _ClassVar[int]
    RULESET_VERSION_FIELD_NUMBER: _ClassVar[int]
    MISSES_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    shipping_method: str
    source: ShippingDecision.Source
    checkout_preference: str
    matched_rule: RuleRef
    ruleset_version: str
    misses: _containers.RepeatedCompositeFieldContainer[RuleMiss]
    explanation: str
    def __init__(self, shipping_method: _Optional[str] = ..., source: _Optional[_Union[ShippingDecision.Source, str]] = ..., checkout_preference: _Optional[str] = ..., matched_rule: _Optional[_Union[RuleRef, _Mapping]] = ..., ruleset_version: _Optional[str] = ..., misses: _Optional[_Iterable[_Union[RuleMiss, _Mapping]]] = ..., explanation: _Optional[str] = ...) -> None: ...

class RuleRef(_message.Message):
    __slots__ = ("rule_id", "file", "line")
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    rule_id: str
    file: str
    line: int
    def __init__(self, rule_id: _Optional[str] = ..., file: _Optional[str] = ..., line: _Optional[int] = ...) -> None: ...

class RuleMiss(_message.Message):
    __slots__ = ("rule", "reason")
    RULE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    rule: RuleRef
    reason: str
    def __init__(self, rule: _Optional[_Union[RuleRef, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class TimelineEntry(_message.Message):
    __slots__ = ("time", "kind", "message")
    TIME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    kind: TimelineKind
    message: str
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[_Union[TimelineKind, str]] = ..., message: _Optional[str] = ...) -> None: ...

class OrderView(_message.Message):
    __slots__ = ("account_id", "order", "state", "skip_reason", "decision", "shipping_method_used", "boltrics_message_id", "last_error", "shipments", "timeline", "create_time", "update_time")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SKIP_REASON_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_METHOD_USED_FIELD_NUMBER: _ClassVar[int]
    BOLTRICS_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    SHIPMENTS_FIELD_NUMBER: _ClassVar[int]
    TIMELINE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    order: Order
    state: OrderState
    skip_reason: str
    decision: ShippingDecision
    shipping_method_used: str
    boltrics_message_id: str
    last_error: str
    shipments: _containers.RepeatedCompositeFieldContainer[ShipmentResult]
    timeline: _containers.RepeatedCompositeFieldContainer[TimelineEntry]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, account_id: _Optional[str] = ..., order: _Optional[_Union[Order, _Mapping]] = ..., state: _Optional[_Union[OrderState, str]] = ..., skip_reason: _Optional[str] = ..., decision: _Optional[_Union[ShippingDecision, _Mapping]] = ..., shipping_method_used: _Optional[str] = ..., boltrics_message_id: _Optional[str] = ..., last_error: _Optional[str] = ..., shipments: _Optional[_Iterable[_Union[ShipmentResult, _Mapping]]] = ..., timeline: _Optional[_Iterable[_Union[TimelineEntry, _Mapping]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateOrderRequest(_message.Message):
    __slots__ = ("account_id", "request_id", "order")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    request_id: str
    order: Order
    def __init__(self, account_id: _Optional[str] = ..., request_id: _Optional[str] = ..., order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class CreateOrderResponse(_message.Message):
    __slots__ = ("outcome", "skip_reason", "decision", "repeat", "order")
    class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        OUTCOME_UNSPECIFIED: _ClassVar[CreateOrderResponse.Outcome]
        OUTCOME_SKIPPED: _ClassVar[CreateOrderResponse.Outcome]
        OUTCOME_ACCEPTED: _ClassVar[CreateOrderResponse.Outcome]
        OUTCOME_SENT: _ClassVar[CreateOrderResponse.Outcome]
    OUTCOME_UNSPECIFIED: CreateOrderResponse.Outcome
    OUTCOME_SKIPPED: CreateOrderResponse.Outcome
    OUTCOME_ACCEPTED: CreateOrderResponse.Outcome
    OUTCOME_SENT: CreateOrderResponse.Outcome
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    SKIP_REASON_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REPEAT_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    outcome: CreateOrderResponse.Outcome
    skip_reason: str
    decision: ShippingDecision
    repeat: bool
    order: OrderView
    def __init__(self, outcome: _Optional[_Union[CreateOrderResponse.Outcome, str]] = ..., skip_reason: _Optional[str] = ..., decision: _Optional[_Union[ShippingDecision, _Mapping]] = ..., repeat: _Optional[bool] = ..., order: _Optional[_Union[OrderView, _Mapping]] = ...) -> None: ...

class GetOrderRequest(_message.Message):
    __slots__ = ("account_id", "order_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    order_id: str
    def __init__(self, account_id: _Optional[str] = ..., order_id: _Optional[str] = ...) -> None: ...

class GetOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: OrderView
    def __init__(self, order: _Optional[_Union[OrderView, _Mapping]] = ...) -> None: ...

class ListOrdersRequest(_message.Message):
    __slots__ = ("account_id", "page_size", "page_token", "state")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    page_size: int
    page_token: str
    state: OrderState
    def __init__(self, account_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., state: _Optional[_Union[OrderState, str]] = ...) -> None: ...

class ListOrdersResponse(_message.Message):
    __slots__ = ("orders", "next_page_token")
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[OrderView]
    next_page_token: str
    def __init__(self, orders: _Optional[_Iterable[_Union[OrderView, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RetryOrderRequest(_message.Message):
    __slots__ = ("account_id", "request_id", "order_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    request_id: str
    order_id: str
    def __init__(self, account_id: _Optional[str] = ..., request_id: _Optional[str] = ..., order_id: _Optional[str] = ...) -> None: ...

class RetryOrderResponse(_message.Message):
    __slots__ = ("order", "requeued")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    REQUEUED_FIELD_NUMBER: _ClassVar[int]
    order: OrderView
    requeued: bool
    def __init__(self, order: _Optional[_Union[OrderView, _Mapping]] = ..., requeued: _Optional[bool] = ...) -> None: ...

class ShippedLine(_message.Message):
    __slots__ = ("external_no", "quantity")
    EXTERNAL_NO_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    external_no: str
    quantity: str
    def __init__(self, external_no: _Optional[str] = ..., quantity: _Optional[str] = ...) -> None: ...

class ShipmentConfirmation(_message.Message):
    __slots__ = ("shipment_no", "order_id", "order_number", "posting_date", "shipping_agent_code", "shipping_agent_name", "tracking_number", "tracking_url", "lines")
    SHIPMENT_NO_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_NUMBER_FIELD_NUMBER: _ClassVar[int]
    POSTING_DATE_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_AGENT_CODE_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_AGENT_NAME_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TRACKING_URL_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    shipment_no: str
    order_id: str
    order_number: str
    posting_date: str
    shipping_agent_code: str
    shipping_agent_name: str
    tracking_number: str
    tracking_url: str
    lines: _containers.RepeatedCompositeFieldContainer[ShippedLine]
    def __init__(self, shipment_no: _Optional[str] = ..., order_id: _Optional[str] = ..., order_number: _Optional[str] = ..., posting_date: _Optional[str] = ..., shipping_agent_code: _Optional[str] = ..., shipping_agent_name: _Optional[str] = ..., tracking_number: _Optional[str] = ..., tracking_url: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[ShippedLine, _Mapping]]] = ...) -> None: ...

class ShipmentResult(_message.Message):
    __slots__ = ("account_id", "order_id", "shipment_no", "order_known", "source_platform", "shop", "preferred_method", "method_used", "method_changed", "tracking_number", "tracking_url", "lines", "timeline", "posting_date")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SHIPMENT_NO_FIELD_NUMBER: _ClassVar[int]
    ORDER_KNOWN_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    SHOP_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_METHOD_FIELD_NUMBER: _ClassVar[int]
    METHOD_USED_FIELD_NUMBER: _ClassVar[int]
    METHOD_CHANGED_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TRACKING_URL_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TIMELINE_FIELD_NUMBER: _ClassVar[int]
    POSTING_DATE_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    order_id: str
    shipment_no: str
    order_known: bool
    source_platform: str
    shop: str
    preferred_method: str
    method_used: str
    method_changed: bool
    tracking_number: str
    tracking_url: str
    lines: _containers.RepeatedCompositeFieldContainer[ShippedLine]
    timeline: _containers.RepeatedCompositeFieldContainer[TimelineEntry]
    posting_date: str
    def __init__(self, account_id: _Optional[str] = ..., order_id: _Optional[str] = ..., shipment_no: _Optional[str] = ..., order_known: _Optional[bool] = ..., source_platform: _Optional[str] = ..., shop: _Optional[str] = ..., preferred_method: _Optional[str] = ..., method_used: _Optional[str] = ..., method_changed: _Optional[bool] = ..., tracking_number: _Optional[str] = ..., tracking_url: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[ShippedLine, _Mapping]]] = ..., timeline: _Optional[_Iterable[_Union[TimelineEntry, _Mapping]]] = ..., posting_date: _Optional[str] = ...) -> None: ...

class ReportShipmentRequest(_message.Message):
    __slots__ = ("account_id", "request_id", "sendshipment_xml", "shipment")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SENDSHIPMENT_XML_FIELD_NUMBER: _ClassVar[int]
    SHIPMENT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    request_id: str
    sendshipment_xml: str
    shipment: ShipmentConfirmation
    def __init__(self, account_id: _Optional[str] = ..., request_id: _Optional[str] = ..., sendshipment_xml: _Optional[str] = ..., shipment: _Optional[_Union[ShipmentConfirmation, _Mapping]] = ...) -> None: ...

class ReportShipmentResponse(_message.Message):
    __slots__ = ("result", "repeat")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    REPEAT_FIELD_NUMBER: _ClassVar[int]
    result: ShipmentResult
    repeat: bool
    def __init__(self, result: _Optional[_Union[ShipmentResult, _Mapping]] = ..., repeat: _Optional[bool] = ...) -> None: ...

class Product(_message.Message):
    __slots__ = ("product_id", "source_platform", "shop", "sku", "barcodes", "name", "weight_kg")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    SHOP_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    BARCODES_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_KG_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    source_platform: str
    shop: str
    sku: str
    barcodes: _containers.RepeatedScalarFieldContainer[str]
    name: str
    weight_kg: float
    def __init__(self, product_id: _Optional[str] = ..., source_platform: _Optional[str] = ..., shop: _Optional[str] = ..., sku: _Optional[str] = ..., barcodes: _Optional[_Iterable[str]] = ..., name: _Optional[str] = ..., weight_kg: _Optional[float] = ...) -> None: ...

class ProductViolation(_message.Message):
    __slots__ = ("field", "description")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    field: str
    description: str
    def __init__(self, field: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ProductResult(_message.Message):
    __slots__ = ("product_id", "external_no", "outcome", "warnings", "violations", "index")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_NO_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    external_no: str
    outcome: ProductOutcome
    warnings: _containers.RepeatedScalarFieldContainer[str]
    violations: _containers.RepeatedCompositeFieldContainer[ProductViolation]
    index: int
    def __init__(self, product_id: _Optional[str] = ..., external_no: _Optional[str] = ..., outcome: _Optional[_Union[ProductOutcome, str]] = ..., warnings: _Optional[_Iterable[str]] = ..., violations: _Optional[_Iterable[_Union[ProductViolation, _Mapping]]] = ..., index: _Optional[int] = ...) -> None: ...

class Listing(_message.Message):
    __slots__ = ("product_id", "source_platform", "shop")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    SHOP_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    source_platform: str
    shop: str
    def __init__(self, product_id: _Optional[str] = ..., source_platform: _Optional[str] = ..., shop: _Optional[str] = ...) -> None: ...

class ProductView(_message.Message):
    __slots__ = ("external_no", "description", "weight_kg", "barcodes", "first_listing", "listings", "state", "last_error")
    EXTERNAL_NO_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_KG_FIELD_NUMBER: _ClassVar[int]
    BARCODES_FIELD_NUMBER: _ClassVar[int]
    FIRST_LISTING_FIELD_NUMBER: _ClassVar[int]
    LISTINGS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    external_no: str
    description: str
    weight_kg: float
    barcodes: _containers.RepeatedScalarFieldContainer[str]
    first_listing: Listing
    listings: _containers.RepeatedCompositeFieldContainer[Listing]
    state: ProductState
    last_error: str
    def __init__(self, external_no: _Optional[str] = ..., description: _Optional[str] = ..., weight_kg: _Optional[float] = ..., barcodes: _Optional[_Iterable[str]] = ..., first_listing: _Optional[_Union[Listing, _Mapping]] = ..., listings: _Optional[_Iterable[_Union[Listing, _Mapping]]] = ..., state: _Optional[_Union[ProductState, str]] = ..., last_error: _Optional[str] = ...) -> None: ...

class UpsertProductRequest(_message.Message):
    __slots__ = ("account_id", "request_id", "product")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    request_id: str
    product: Product
    def __init__(self, account_id: _Optional[str] = ..., request_id: _Optional[str] = ..., product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class UpsertProductResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: ProductResult
    def __init__(self, result: _Optional[_Union[ProductResult, _Mapping]] = ...) -> None: ...

class SyncProductsRequest(_message.Message):
    __slots__ = ("account_id", "request_id", "products")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    request_id: str
    products: _containers.RepeatedCompositeFieldContainer[Product]
    def __init__(self, account_id: _Optional[str] = ..., request_id: _Optional[str] = ..., products: _Optional[_Iterable[_Union[Product, _Mapping]]] = ...) -> None: ...

class SyncProductsResponse(_message.Message):
    __slots__ = ("results", "refused")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ProductResult]
    refused: int
    def __init__(self, results: _Optional[_Iterable[_Union[ProductResult, _Mapping]]] = ..., refused: _Optional[int] = ...) -> None: ...

class GetProductRequest(_message.Message):
    __slots__ = ("account_id", "external_no", "product_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_NO_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    external_no: str
    product_id: str
    def __init__(self, account_id: _Optional[str] = ..., external_no: _Optional[str] = ..., product_id: _Optional[str] = ...) -> None: ...

class GetProductResponse(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: ProductView
    def __init__(self, product: _Optional[_Union[ProductView, _Mapping]] = ...) -> None: ...

class StockLevel(_message.Message):
    __slots__ = ("external_no", "sellable", "boltrics_available", "in_inventory", "reserved", "as_of", "listings")
    EXTERNAL_NO_FIELD_NUMBER: _ClassVar[int]
    SELLABLE_FIELD_NUMBER: _ClassVar[int]
    BOLTRICS_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    IN_INVENTORY_FIELD_NUMBER: _ClassVar[int]
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    LISTINGS_FIELD_NUMBER: _ClassVar[int]
    external_no: str
    sellable: int
    boltrics_available: int
    in_inventory: int
    reserved: int
    as_of: _timestamp_pb2.Timestamp
    listings: _containers.RepeatedCompositeFieldContainer[Listing]
    def __init__(self, external_no: _Optional[str] = ..., sellable: _Optional[int] = ..., boltrics_available: _Optional[int] = ..., in_inventory: _Optional[int] = ..., reserved: _Optional[int] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., listings: _Optional[_Iterable[_Union[Listing, _Mapping]]] = ...) -> None: ...

class ExternalNoList(_message.Message):
    __slots__ = ("external_nos",)
    EXTERNAL_NOS_FIELD_NUMBER: _ClassVar[int]
    external_nos: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, external_nos: _Optional[_Iterable[str]] = ...) -> None: ...

class SyncStockRequest(_message.Message):
    __slots__ = ("account_id", "changed_since", "external_nos")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGED_SINCE_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_NOS_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    changed_since: _timestamp_pb2.Timestamp
    external_nos: ExternalNoList
    def __init__(self, account_id: _Optional[str] = ..., changed_since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., external_nos: _Optional[_Union[ExternalNoList, _Mapping]] = ...) -> None: ...

class SyncStockResponse(_message.Message):
    __slots__ = ("level",)
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    level: StockLevel
    def __init__(self, level: _Optional[_Union[StockLevel, _Mapping]] = ...) -> None: ...

class EvaluateShippingRulesRequest(_message.Message):
    __slots__ = ("account_id", "order", "candidate_rules")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_RULES_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    order: Order
    candidate_rules: str
    def __init__(self, account_id: _Optional[str] = ..., order: _Optional[_Union[Order, _Mapping]] = ..., candidate_rules: _Optional[str] = ...) -> None: ...

class EvaluateShippingRulesResponse(_message.Message):
    __slots__ = ("decision",)
    DECISION_FIELD_NUMBER: _ClassVar[int]
    decision: ShippingDecision
    def __init__(self, decision: _Optional[_Union[ShippingDecision, _Mapping]] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("cursor", "account_id", "type", "time", "order", "shipment", "product", "stock", "rejection")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    SHIPMENT_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    STOCK_FIELD_NUMBER: _ClassVar[int]
    REJECTION_FIELD_NUMBER: _ClassVar[int]
    cursor: str
    account_id: str
    type: EventType
    time: _timestamp_pb2.Timestamp
    order: OrderView
    shipment: ShipmentResult
    product: ProductView
    stock: StockLevel
    rejection: str
    def __init__(self, cursor: _Optional[str] = ..., account_id: _Optional[str] = ..., type: _Optional[_Union[EventType, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., order: _Optional[_Union[OrderView, _Mapping]] = ..., shipment: _Optional[_Union[ShipmentResult, _Mapping]] = ..., product: _Optional[_Union[ProductView, _Mapping]] = ..., stock: _Optional[_Union[StockLevel, _Mapping]] = ..., rejection: _Optional[str] = ...) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ("account_id", "after_cursor", "types")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_CURSOR_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    after_cursor: str
    types: _containers.RepeatedScalarFieldContainer[EventType]
    def __init__(self, account_id: _Optional[str] = ..., after_cursor: _Optional[str] = ..., types: _Optional[_Iterable[_Union[EventType, str]]] = ...) -> None: ...

class WatchEventsResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: Event
    def __init__(self, event: _Optional[_Union[Event, _Mapping]] = ...) -> None: ...
