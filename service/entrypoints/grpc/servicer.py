"""The gRPC servicer: proto in, use case, proto out. Nothing else lives here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from buckles.boltrics.v1 import connector_pb2 as pb
from buckles.boltrics.v1 import connector_pb2_grpc as pb_grpc
from service.bootstrap import App
from service.config import Account
from service.errors import FieldViolation, InvalidArgument, NotFound, NotImplementedYet

Context = grpc.aio.ServicerContext[Any, Any]


def _missing(rpc: str, what: str) -> NotImplementedYet:
    return NotImplementedYet(
        f"{rpc} is not available yet: {what}", metadata={"rpc": rpc}
    )


class ConnectorServicer(pb_grpc.BoltricsConnectorServiceServicer):
    """Implements buckles.boltrics.v1.BoltricsConnectorService."""

    def __init__(self, app: App):
        self._app = app

    async def GetAccount(
        self, request: pb.GetAccountRequest, context: Context
    ) -> pb.GetAccountResponse:
        """Describe an account."""
        account = self._known_account(request.account_id, missing=NotFound)
        return pb.GetAccountResponse(account=_account_to_proto(account))

    async def CreateOrder(
        self, request: pb.CreateOrderRequest, context: Context
    ) -> pb.CreateOrderResponse:
        """Hand an order over for fulfilment."""
        raise _missing("CreateOrder", "the order pipeline to Boltrics has not landed")

    async def GetOrder(
        self, request: pb.GetOrderRequest, context: Context
    ) -> pb.GetOrderResponse:
        """An order's state."""
        raise _missing("GetOrder", "the order pipeline to Boltrics has not landed")

    async def ListOrders(
        self, request: pb.ListOrdersRequest, context: Context
    ) -> pb.ListOrdersResponse:
        """An account's orders."""
        raise _missing("ListOrders", "the order pipeline to Boltrics has not landed")

    async def RetryOrder(
        self, request: pb.RetryOrderRequest, context: Context
    ) -> pb.RetryOrderResponse:
        """Send an order again."""
        raise _missing("RetryOrder", "the order pipeline to Boltrics has not landed")

    async def ReportShipment(
        self, request: pb.ReportShipmentRequest, context: Context
    ) -> pb.ReportShipmentResponse:
        """Take a shipment confirmation."""
        raise _missing("ReportShipment", "shipment handling has not landed")

    async def UpsertProduct(
        self, request: pb.UpsertProductRequest, context: Context
    ) -> pb.UpsertProductResponse:
        """Take one product."""
        raise _missing("UpsertProduct", "product identity has not landed")

    async def SyncProducts(
        self, request: pb.SyncProductsRequest, context: Context
    ) -> pb.SyncProductsResponse:
        """Take many products."""
        raise _missing("SyncProducts", "product identity has not landed")

    async def GetProduct(
        self, request: pb.GetProductRequest, context: Context
    ) -> pb.GetProductResponse:
        """A product's identity."""
        raise _missing("GetProduct", "product identity has not landed")

    async def ActivateAccount(
        self, request: pb.ActivateAccountRequest, context: Context
    ) -> pb.ActivateAccountResponse:
        """Activate an account's stock link."""
        raise _missing("ActivateAccount", "stock from Boltrics has not landed")

    async def SyncStock(
        self, request: pb.SyncStockRequest, context: Context
    ) -> AsyncIterator[pb.SyncStockResponse]:
        """Stream an account's stock levels."""
        raise _missing("SyncStock", "stock from Boltrics has not landed")
        yield  # pragma: no cover - makes this an async generator, as the stream needs

    async def EvaluateShippingRules(
        self, request: pb.EvaluateShippingRulesRequest, context: Context
    ) -> pb.EvaluateShippingRulesResponse:
        """Dry-run the shipping rules."""
        raise _missing(
            "EvaluateShippingRules", "the shipping rule engine has not landed"
        )

    async def WatchEvents(
        self, request: pb.WatchEventsRequest, context: Context
    ) -> AsyncIterator[pb.WatchEventsResponse]:
        """Stream what happened."""
        raise _missing("WatchEvents", "the event log has not landed")
        yield  # pragma: no cover - makes this an async generator, as the stream needs

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
