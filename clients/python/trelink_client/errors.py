"""Errors as Python exceptions: one class per gRPC status a trelink service
returns, all under :class:`TrelinkError`, plus the client's own checks
(a bad row, a bad certificate file) under the same classes.

A service's INVALID_ARGUMENT may carry ``google.rpc.Status`` details with
``google.rpc.BadRequest`` field violations in the ``grpc-status-details-bin``
trailer; they are decoded into :attr:`TrelinkError.field_violations` (empty
when the server sends none). Connection and TLS failures get a message in
plain language instead of gRPC's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Type

import grpc

__all__ = [
    "FieldViolation", "TrelinkError", "InvalidArgument", "NotFound", "AlreadyExists", "PermissionDenied",
    "Unauthenticated", "FailedPrecondition", "ResourceExhausted", "Unavailable", "ConnectionFailed",
    "DeadlineExceeded", "Unimplemented", "DataLoss", "Internal", "InvalidRecord", "RowsRejected", "RejectedRow",
]


@dataclass(frozen=True)
class FieldViolation:
    """One bad field: its path ("records[3].event_date", "region") and why."""
    field: str
    description: str


class TrelinkError(Exception):
    """Any error of a trelink call. ``code`` is the gRPC status (None for an
    error found by the client before any call), ``service`` the service
    that answered ("linker"), ``field_violations`` the server's details."""

    code: Optional[grpc.StatusCode] = None

    def __init__(self, message: str, *, code: Optional[grpc.StatusCode] = None, service: str = "",
                 field_violations: Sequence[FieldViolation] = ()) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.service = service
        self.field_violations: List[FieldViolation] = list(field_violations)


class InvalidArgument(TrelinkError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(TrelinkError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(TrelinkError):
    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(TrelinkError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(TrelinkError):
    code = grpc.StatusCode.UNAUTHENTICATED


class FailedPrecondition(TrelinkError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class ResourceExhausted(TrelinkError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(TrelinkError):
    code = grpc.StatusCode.UNAVAILABLE


class ConnectionFailed(Unavailable):
    """The service could not be reached or the TLS handshake failed; the
    message says which, in plain language."""


class DeadlineExceeded(TrelinkError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class Unimplemented(TrelinkError):
    code = grpc.StatusCode.UNIMPLEMENTED


class DataLoss(TrelinkError):
    code = grpc.StatusCode.DATA_LOSS


class Internal(TrelinkError):
    code = grpc.StatusCode.INTERNAL


@dataclass(frozen=True)
class RejectedRow:
    """A row left out of an ingest: where it is ("line 7" of a CSV, "row 5"
    of a DataFrame), the column at fault when known, and why (never the value)."""
    row: str
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.row}: {self.reason}"


class InvalidRecord(InvalidArgument):
    """A row or column of the input is wrong; found before anything was sent.
    ``row`` is "" for a problem of the whole input (a missing column)."""

    def __init__(self, message: str, *, row: str = "", column: str = "") -> None:
        super().__init__(message, field_violations=[FieldViolation(column, message)] if column else [])
        self.row = row
        self.column = column


class RowsRejected(InvalidArgument):
    """Rows failed validation and nothing was sent. Pass ``allow_rejected=True``
    to send the others and get the rejected ones in the result instead."""

    def __init__(self, rejected: Sequence[RejectedRow], source: str) -> None:
        shown = "; ".join(str(r) for r in rejected[:5])
        more = f" (and {len(rejected) - 5} more)" if len(rejected) > 5 else ""
        super().__init__(f"{source}: {len(rejected)} rows failed validation, nothing was sent: {shown}{more}",
                         field_violations=[FieldViolation(r.column, str(r)) for r in rejected])
        self.rejected: List[RejectedRow] = list(rejected)


_BY_CODE: Dict[grpc.StatusCode, Type[TrelinkError]] = {
    cls.code: cls for cls in (InvalidArgument, NotFound, AlreadyExists, PermissionDenied, Unauthenticated,
                              FailedPrecondition, ResourceExhausted, Unavailable, DeadlineExceeded, Unimplemented,
                              DataLoss, Internal) if cls.code is not None
}


def _fields(data: bytes) -> Iterator[Tuple[int, int, object]]:
    """(field number, wire type, value) of a serialised protobuf message."""
    pos = 0

    def varint() -> int:
        nonlocal pos
        shift = result = 0
        while True:
            byte = data[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                return result
            shift += 7

    while pos < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            yield number, wire, varint()
        elif wire == 2:
            length = varint()
            yield number, wire, data[pos:pos + length]
            pos += length
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError("unsupported wire type")


_BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


def field_violations_from_details(details: bytes) -> List[FieldViolation]:
    """The BadRequest field violations of a serialised google.rpc.Status
    (code 1, message 2, details 3 = Any{type_url 1, value 2}); [] when it
    holds none or cannot be read."""
    violations: List[FieldViolation] = []
    try:
        for number, wire, any_bytes in _fields(details):
            if number != 3 or wire != 2:
                continue
            parts = {n: v for n, w, v in _fields(bytes(any_bytes)) if w == 2}  # type: ignore[arg-type]
            if bytes(parts.get(1, b"")).decode() != _BAD_REQUEST:  # type: ignore[arg-type]
                continue
            for n, w, violation in _fields(bytes(parts.get(2, b""))):  # type: ignore[arg-type]
                if n != 1 or w != 2:
                    continue
                f = {k: bytes(v).decode("utf-8", "replace") for k, t, v in _fields(bytes(violation))  # type: ignore[arg-type]
                     if t == 2}
                violations.append(FieldViolation(f.get(1, ""), f.get(2, "")))
    except (ValueError, IndexError):
        return []
    return violations


def _plain_connection_message(details: str, service: str, address: str) -> Optional[str]:
    text = details.lower()
    where = f"the {service} at {address}"
    if "connection refused" in text:
        return f"cannot reach {where}: nothing is listening there (connection refused). Is the service running, and is the port right?"
    if "name resolution" in text or "dns" in text or "could not resolve" in text:
        return f"cannot reach {where}: the host name does not resolve"
    if any(w in text for w in ("ssl", "tls", "handshake", "certificate", "socket closed", "connection reset",
                               "end of tcp stream")):
        return (f"the TLS handshake with {where} failed: the service did not accept this client's certificate "
                "(issued by a CA it does not trust, expired, or not a client certificate), or the service's "
                "certificate is not signed by the CA file given. Check the ca, cert and key files.")
    if "failed to connect" in text or "connect" in text and "timeout" in text:
        return f"cannot reach {where}: {details}"
    return None


def from_rpc_error(error: grpc.RpcError, service: str, address: str, method: str) -> TrelinkError:
    """The TrelinkError for a failed call (grpc.RpcError is also a grpc.Call)."""
    code: grpc.StatusCode = error.code()  # type: ignore[attr-defined]
    details: str = error.details() or ""  # type: ignore[attr-defined]
    violations: List[FieldViolation] = []
    for key, value in (error.trailing_metadata() or ()):  # type: ignore[attr-defined]
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            violations = field_violations_from_details(value)
    if code == grpc.StatusCode.UNAVAILABLE:
        plain = _plain_connection_message(details, service, address)
        if plain is not None:
            return ConnectionFailed(plain, code=code, service=service)
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return Unimplemented(f"the server at {address} does not offer {method}: is this the address of the {service}? "
                             f"({details or 'no detail'})", code=code, service=service)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return DeadlineExceeded(f"{service}: {method} took longer than the deadline; pass a larger timeout",
                                code=code, service=service)
    cls = _BY_CODE.get(code, TrelinkError)
    return cls(f"{service}: {details}", code=code, service=service, field_violations=violations)
