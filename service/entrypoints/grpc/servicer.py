"""The gRPC servicer: proto in, use case, proto out. Nothing else lives here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc

from buckles.boltrics.v1 import connector_pb2 as pb
from buckles.boltrics.v1 import connector_pb2_grpc as pb_grpc
from service.bootstrap import App
from service.config import Account
from service.domain.events import Event
from service.entrypoints.grpc import (
    convert,
    pages,
    products_rpc,
    shipments_rpc,
    stock_rpc,
)
from service.entrypoints.grpc.auth import ALL_ACCOUNTS
from service.entrypoints.grpc.interceptors import current_principal
from service.errors import FieldViolation, InvalidArgument, NotFound
from service.services.events import follow_events
from service.services.idempotency import once_per_request_id
from service.services.orders import Outcome
from service.services.shipping import as_decision, order_facts

Context = grpc.aio.ServicerContext[Any, Any]


class ConnectorServicer(pb_grpc.BoltricsConnectorServiceServicer):
    """Implements buckles.boltrics.v1.BoltricsConnectorService."""

    def __init__(self, app: App):
        self._app = app

    async def GetAccount(
        self, request: pb.GetAccountRequest, context: Context
    ) -> pb.GetAccountResponse:
        """Describe an account."""
        account = self._known_account(request.account_id, missing=NotFound)
        return pb.GetAccountResponse(account=await self._account_view(account))

    async def CreateOrder(
        self, request: pb.CreateOrderRequest, context: Context
    ) -> pb.CreateOrderResponse:
        """Hand an order over for fulfilment."""
        self._known_account(request.account_id)
        if not request.HasField("order"):
            raise InvalidArgument([FieldViolation("order", "is required")])

        async def handle() -> pb.CreateOrderResponse:
            order = convert.order_from_proto(request.order)
            result = await self._app.orders.create(request.account_id, order)
            response = pb.CreateOrderResponse(
                outcome=_OUTCOMES[result.outcome],
                skip_reason=result.record.skip_reason,
                repeat=result.repeat,
                order=convert.order_view(result.record),
            )
            if result.record.decision is not None:
                response.decision.CopyFrom(
                    convert.decision_to_proto(result.record.decision)
                )
            return response

        return await once_per_request_id(
            self._app.request_keys,
            "CreateOrder",
            request,
            pb.CreateOrderResponse,
            handle,
        )

    async def GetOrder(
        self, request: pb.GetOrderRequest, context: Context
    ) -> pb.GetOrderResponse:
        """An order's state."""
        self._known_account(request.account_id, missing=NotFound)
        if not request.order_id:
            raise InvalidArgument([FieldViolation("order_id", "is required")])
        record, timeline = await self._app.orders.get(
            request.account_id, request.order_id
        )
        view = convert.order_view(record, timeline)
        shipments = await self._app.shipments.shipments_of(
            request.account_id, request.order_id
        )
        view.shipments.extend(shipments_rpc.results_to_proto(shipments))
        return pb.GetOrderResponse(order=view)

    async def ListOrders(
        self, request: pb.ListOrdersRequest, context: Context
    ) -> pb.ListOrdersResponse:
        """An account's orders."""
        self._known_account(request.account_id, missing=NotFound)
        problems = []
        if request.page_size < 0:
            problems.append(FieldViolation("page_size", "must not be negative"))
        size = min(request.page_size or 50, 500)
        state = convert.state_from_proto(request.state)
        before = None
        if request.page_token:
            before = pages.decode_position(request.page_token, request.state)
            if before is None:
                problems.append(
                    FieldViolation("page_token", "is not a token this list gave")
                )
        if problems:
            raise InvalidArgument(problems)

        records = await self._app.orders.page(
            request.account_id, limit=size + 1, before=before, state=state
        )
        response = pb.ListOrdersResponse(
            orders=[convert.order_view(record) for record in records[:size]]
        )
        if len(records) > size:
            last = records[size - 1]
            response.next_page_token = pages.encode_position(
                last.created_at, last.order.order_id, request.state
            )
        return response

    async def RetryOrder(
        self, request: pb.RetryOrderRequest, context: Context
    ) -> pb.RetryOrderResponse:
        """Send an order again."""
        self._known_account(request.account_id)
        if not request.order_id:
            raise InvalidArgument([FieldViolation("order_id", "is required")])

        async def handle() -> pb.RetryOrderResponse:
            record, requeued = await self._app.orders.retry(
                request.account_id, request.order_id
            )
            return pb.RetryOrderResponse(
                order=convert.order_view(record), requeued=requeued
            )

        return await once_per_request_id(
            self._app.request_keys, "RetryOrder", request, pb.RetryOrderResponse, handle
        )

    async def ReportShipment(
        self, request: pb.ReportShipmentRequest, context: Context
    ) -> pb.ReportShipmentResponse:
        """Take a shipment confirmation."""
        self._known_account(request.account_id)

        async def handle() -> pb.ReportShipmentResponse:
            return await shipments_rpc.report_request(self._app.shipments, request)

        return await once_per_request_id(
            self._app.request_keys,
            "ReportShipment",
            request,
            pb.ReportShipmentResponse,
            handle,
        )

    async def UpsertProduct(
        self, request: pb.UpsertProductRequest, context: Context
    ) -> pb.UpsertProductResponse:
        """Take one product."""
        self._known_account(request.account_id)
        if not request.HasField("product"):
            raise InvalidArgument([FieldViolation("product", "is required")])

        async def handle() -> pb.UpsertProductResponse:
            product = products_rpc.product_from_proto(request.product)
            result = await self._app.products.upsert(request.account_id, product)
            return pb.UpsertProductResponse(result=products_rpc.result_to_proto(result))

        return await once_per_request_id(
            self._app.request_keys,
            "UpsertProduct",
            request,
            pb.UpsertProductResponse,
            handle,
        )

    async def SyncProducts(
        self, request: pb.SyncProductsRequest, context: Context
    ) -> pb.SyncProductsResponse:
        """Take many products."""
        self._known_account(request.account_id)

        async def handle() -> pb.SyncProductsResponse:
            products = products_rpc.products_from_proto(request.products)
            results = await self._app.products.sync(request.account_id, products)
            return products_rpc.sync_response(results)

        return await once_per_request_id(
            self._app.request_keys,
            "SyncProducts",
            request,
            pb.SyncProductsResponse,
            handle,
        )

    async def GetProduct(
        self, request: pb.GetProductRequest, context: Context
    ) -> pb.GetProductResponse:
        """A product's identity."""
        self._known_account(request.account_id, missing=NotFound)
        key = products_rpc.lookup_key(request)
        view = await self._app.products.get(request.account_id, **key)
        return pb.GetProductResponse(product=products_rpc.view_to_proto(view))

    async def ActivateAccount(
        self, request: pb.ActivateAccountRequest, context: Context
    ) -> pb.ActivateAccountResponse:
        """Activate an account's stock link."""
        account = self._known_account(request.account_id, missing=NotFound)

        async def handle() -> pb.ActivateAccountResponse:
            pushed = await self._app.stock.activate(request.account_id)
            message = await self._account_view(account)
            return pb.ActivateAccountResponse(account=message, pushed_levels=pushed)

        return await once_per_request_id(
            self._app.request_keys,
            "ActivateAccount",
            request,
            pb.ActivateAccountResponse,
            handle,
        )

    async def SyncStock(
        self, request: pb.SyncStockRequest, context: Context
    ) -> AsyncIterator[pb.SyncStockResponse]:
        """Stream an account's stock levels."""
        self._known_account(request.account_id, missing=NotFound)
        selection = stock_rpc.sync_selection(request)
        levels = await self._app.stock.levels(request.account_id, **selection)
        async for level in levels:
            yield pb.SyncStockResponse(level=stock_rpc.level_to_proto(level))

    async def EvaluateShippingRules(
        self, request: pb.EvaluateShippingRulesRequest, context: Context
    ) -> pb.EvaluateShippingRulesResponse:
        """Dry-run the shipping rules."""
        self._known_account(request.account_id)
        if not request.HasField("order"):
            raise InvalidArgument([FieldViolation("order", "is required")])
        order = convert.order_from_proto(request.order)
        facts = order_facts(order)

        if request.HasField("candidate_rules"):
            decision = self._app.rules.evaluate_candidate(
                request.account_id, request.candidate_rules, facts
            )
        else:
            decision = self._app.rules.decide(request.account_id, facts)
        return pb.EvaluateShippingRulesResponse(
            decision=convert.decision_to_proto(as_decision(decision, order))
        )

    async def WatchEvents(
        self, request: pb.WatchEventsRequest, context: Context
    ) -> AsyncIterator[pb.WatchEventsResponse]:
        """Stream what happened, resumable by cursor."""
        accounts = self._watched_accounts(request.account_id)
        after = _cursor(request.after_cursor)
        types = [convert.event_type_from_proto(value) for value in request.types]
        known_types = [t for t in types if t is not None]

        stream = follow_events(
            self._app.events, after=after, accounts=accounts, types=known_types
        )
        async for event in _until(stream, self._app.shutting_down):
            yield pb.WatchEventsResponse(event=convert.event_to_proto(event))

    async def _account_view(self, account: Account) -> pb.Account:
        message = _account_to_proto(account)
        message.rules_version = self._app.rules.version(account.id)
        message.stock_active = account.stock_active or await self._app.stock.is_active(
            account.id
        )
        return message

    def _watched_accounts(self, account_id: str) -> list[str] | None:
        if account_id != ALL_ACCOUNTS:
            self._known_account(account_id, missing=NotFound)
            return [account_id]
        principal = current_principal()
        if principal.may_act_for(ALL_ACCOUNTS):
            return None
        return principal.visible(a.id for a in self._app.settings.accounts)

    def _known_account(
        self,
        account_id: str,
        *,
        missing: type[NotFound] | type[InvalidArgument] = InvalidArgument,
    ) -> Account:
        if not account_id:
            raise InvalidArgument([FieldViolation("account_id", "is required")])
        account = self._app.settings.account(account_id)
        if account is not None:
            return account
        if missing is NotFound:
            msg = f"account {account_id} is not configured"
            raise NotFound(msg, metadata={"account_id": account_id})
        raise InvalidArgument(
            [FieldViolation("account_id", "is not a configured account")]
        )


_OUTCOMES = {
    Outcome.SKIPPED: pb.CreateOrderResponse.OUTCOME_SKIPPED,
    Outcome.ACCEPTED: pb.CreateOrderResponse.OUTCOME_ACCEPTED,
    Outcome.SENT: pb.CreateOrderResponse.OUTCOME_SENT,
}


def _cursor(text: str) -> int:
    if not text:
        return 0
    if not text.isdigit():
        raise InvalidArgument(
            [FieldViolation("after_cursor", "is not a cursor of this stream")]
        )
    return int(text)


async def _until(
    stream: AsyncIterator[Event], stop: asyncio.Event
) -> AsyncIterator[Event]:
    """The stream's items until `stop` is set (the server is shutting down)."""
    stopper = asyncio.ensure_future(stop.wait())
    try:
        while True:
            step = asyncio.ensure_future(anext(stream))
            done, _ = await asyncio.wait(
                {step, stopper}, return_when=asyncio.FIRST_COMPLETED
            )
            if step not in done:
                step.cancel()
                return
            try:
                yield step.result()
            except StopAsyncIteration:
                return
    finally:
        stopper.cancel()


def _account_to_proto(account: Account) -> pb.Account:
    boltrics = account.boltrics
    return pb.Account(
        account_id=account.id,
        display_name=account.name or account.id,
        boltrics_configured=boltrics is not None,
        boltrics_base_url=boltrics.base_url if boltrics else "",
        boltrics_company_id=boltrics.company_id if boltrics else "",
        stock_active=account.stock_active,
        link_by_barcode=account.link_by_barcode,
    )
