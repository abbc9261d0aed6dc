"""Translation of the service's errors into gRPC status with rich details."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from service import errors

ERROR_DOMAIN = "boltrics.buckles.io"

_CODES: dict[type[errors.ConnectorError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.OutOfRange: grpc.StatusCode.OUT_OF_RANGE,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.NotImplementedYet: grpc.StatusCode.UNIMPLEMENTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
    errors.ConfigurationError: grpc.StatusCode.FAILED_PRECONDITION,
}


def code_for(error: errors.ConnectorError) -> grpc.StatusCode:
    """The status code of an error: that of its nearest mapped class."""
    for cls in type(error).__mro__:
        code = _CODES.get(cls)
        if code is not None:
            return code
    return grpc.StatusCode.INTERNAL


def to_status(error: errors.ConnectorError) -> grpc.Status:
    """A gRPC status carrying an ErrorInfo and, for bad input, a BadRequest."""
    code = code_for(error)
    details = [_pack(_error_info(error))]
    if isinstance(error, errors.InvalidArgument):
        details.append(_pack(_bad_request(error)))

    status = status_pb2.Status(
        code=code.value[0], message=error.message, details=details
    )
    return rpc_status.to_status(status)


def internal_status() -> grpc.Status:
    """The status of an unexpected failure; says nothing about its insides."""
    info = error_details_pb2.ErrorInfo(reason="INTERNAL", domain=ERROR_DOMAIN)
    status = status_pb2.Status(
        code=code_pb2.INTERNAL,
        message="internal error; it has been logged",
        details=[_pack(info)],
    )
    return rpc_status.to_status(status)


def _error_info(error: errors.ConnectorError) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(
        reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata
    )


def _bad_request(error: errors.InvalidArgument) -> error_details_pb2.BadRequest:
    return error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(
                field=v.field, description=v.description
            )
            for v in error.violations
        ]
    )


def _pack(
    message: error_details_pb2.ErrorInfo | error_details_pb2.BadRequest,
) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed
