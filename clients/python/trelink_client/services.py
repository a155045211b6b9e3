"""One class per trelink service, each a thin typed wrapper of its gRPC stub
over mutual TLS: every RPC of PseudonymService, LinkageService,
AggregateService and AuditService, and the health service on each.

Every call has a deadline (``timeout`` seconds, per client or per call) and
raises a :class:`~trelink_client.errors.TrelinkError` subclass on failure.
"""

from __future__ import annotations

import os
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Iterator, List, Optional, TypeVar, Union

import grpc

from . import pb
from .errors import ConnectionFailed, InvalidArgument, TrelinkError, from_rpc_error
from .tables import CountResult, load_query

__all__ = ["TlsFiles", "Pseudonymiser", "Linker", "Aggregator", "Auditor"]

PathLike = Union[str, "os.PathLike[str]"]
T = TypeVar("T")


@dataclass(frozen=True)
class TlsFiles:
    """The PEM files of a client identity: the CA that signed the services'
    certificates, this client's certificate and its private key."""
    ca: PathLike
    cert: PathLike
    key: PathLike

    @classmethod
    def from_directory(cls, directory: PathLike, identity: str, ca: str = "ca.pem") -> "TlsFiles":
        """``DIR/ca.pem``, ``DIR/IDENTITY.pem`` and ``DIR/IDENTITY.key`` (the
        layout of deploy/dev-certs.sh)."""
        d = Path(directory)
        return cls(d / ca, d / f"{identity}.pem", d / f"{identity}.key")

    def credentials(self) -> grpc.ChannelCredentials:
        """Reads and checks the files: each must exist, the CA and certificate
        must be PEM certificates and the key must belong to the certificate,
        so that a mix-up is named here rather than as a failed handshake."""
        for what, path in (("CA file", self.ca), ("certificate", self.cert), ("private key", self.key)):
            if not Path(path).is_file():
                raise ConnectionFailed(f"TLS {what} {os.fspath(path)} does not exist")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            context.load_verify_locations(cafile=os.fspath(self.ca))
        except ssl.SSLError:
            raise ConnectionFailed(f"TLS CA file {os.fspath(self.ca)} holds no PEM certificate") from None
        try:
            context.load_cert_chain(os.fspath(self.cert), os.fspath(self.key))
        except ssl.SSLError as e:
            if "KEY_VALUES_MISMATCH" in str(e) or "key values mismatch" in str(e):
                raise ConnectionFailed(f"the private key {os.fspath(self.key)} does not belong to the certificate "
                                       f"{os.fspath(self.cert)}") from None
            raise ConnectionFailed(f"cannot read the certificate {os.fspath(self.cert)} or its key "
                                   f"{os.fspath(self.key)} as PEM ({e.reason or e})") from None
        return grpc.ssl_channel_credentials(root_certificates=Path(self.ca).read_bytes(),
                                            private_key=Path(self.key).read_bytes(),
                                            certificate_chain=Path(self.cert).read_bytes())


class _Service:
    """A channel to one service. Use as a context manager, or call close()."""

    service: ClassVar[str] = ""

    def __init__(self, address: str, tls: Optional[TlsFiles], *, timeout: float = 60.0,
                 insecure_plaintext: bool = False) -> None:
        """``address`` is HOST:PORT. ``tls`` is required unless the service runs
        with insecure_plaintext_loopback and ``insecure_plaintext`` is set."""
        if tls is None and not insecure_plaintext:
            raise InvalidArgument(f"{self.service}: tls files are required (the services use mutual TLS)")
        self.address = address
        self.timeout = timeout
        self._channel = (grpc.insecure_channel(address) if tls is None else
                         grpc.secure_channel(address, tls.credentials()))
        self._health = pb.health_pb2_grpc.HealthStub(self._channel)

    def _call(self, method: str, rpc: Callable[..., T], request: Any, timeout: Optional[float] = None) -> T:
        try:
            return rpc(request, timeout=self.timeout if timeout is None else timeout)
        except grpc.RpcError as e:
            raise from_rpc_error(e, self.service, self.address, method) from None

    def health(self, service: str = "") -> str:
        """The health status name ("SERVING", "NOT_SERVING", ...) of the
        server (``service`` "") or one of its services."""
        response = self._call("grpc.health.v1.Health/Check", self._health.Check,
                              pb.health_pb2.HealthCheckRequest(service=service))
        return str(pb.health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))

    def wait_until_serving(self, timeout: float = 30.0) -> None:
        """Waits (up to ``timeout`` seconds) until the server reports SERVING."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.health() == "SERVING":
                    return
            except ConnectionFailed:
                if time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                raise TrelinkError(f"the {self.service} at {self.address} is not SERVING after {timeout} s")
            time.sleep(0.1)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self: "S") -> "S":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


S = TypeVar("S", bound=_Service)


class ResponseStream(Iterator[T]):
    """The responses of a server-streaming call, raising TrelinkError on
    failure; cancel() ends the call early."""

    def __init__(self, service: _Service, method: str, responses: Any) -> None:
        self._service, self._method, self._responses = service, method, responses

    def __iter__(self) -> "ResponseStream[T]":
        return self

    def __next__(self) -> T:
        try:
            return next(self._responses)
        except grpc.RpcError as e:
            raise from_rpc_error(e, self._service.service, self._service.address, self._method) from None

    def cancel(self) -> None:
        self._responses.cancel()


class Pseudonymiser(_Service):
    """PseudonymService: identifiers in, match keys sealed to the linker out.
    Callers: providers (their datasets), linkage admins (opt-out lists)."""

    service = "pseudonymiser"

    def __init__(self, address: str, tls: Optional[TlsFiles], **kwargs: Any) -> None:
        super().__init__(address, tls, **kwargs)
        self._stub = pb.pseudonym_pb2_grpc.PseudonymServiceStub(self._channel)

    def pseudonymise(self, batch: pb.PseudonymiseBatchRequest,
                     timeout: Optional[float] = None) -> pb.PseudonymiseBatchResponse:
        """One batch (small batches; see pseudonymise_stream for bulk)."""
        return self._call("trelink.v1.PseudonymService/Pseudonymise", self._stub.Pseudonymise, batch, timeout)

    def pseudonymise_stream(self, batches: Iterable[pb.PseudonymiseBatchRequest],
                            timeout: Optional[float] = None) -> "ResponseStream[pb.PseudonymiseBatchResponse]":
        """Bulk: one response per batch, in order. The stream fails at the
        first bad batch; batches answered before it stand."""
        responses = self._stub.PseudonymiseStream(iter(batches), timeout=self.timeout if timeout is None else timeout)
        return ResponseStream(self, "trelink.v1.PseudonymService/PseudonymiseStream", responses)

    def key_info(self, project: str, timeout: Optional[float] = None) -> pb.GetKeyInfoResponse:
        """Key versions, the linker key's fingerprint, key names, batch limit."""
        return self._call("trelink.v1.PseudonymService/GetKeyInfo", self._stub.GetKeyInfo,
                          pb.GetKeyInfoRequest(project=project), timeout)


class Linker(_Service):
    """LinkageService: sealed keys plus content in, linkage generations out."""

    service = "linker"

    def __init__(self, address: str, tls: Optional[TlsFiles], **kwargs: Any) -> None:
        super().__init__(address, tls, **kwargs)
        self._stub = pb.linkage_pb2_grpc.LinkageServiceStub(self._channel)

    def ingest(self, batches: Iterable[pb.IngestBatchRequest], timeout: Optional[float] = None) -> pb.IngestResponse:
        """Stores each batch whole or not at all; a resent batch is a no-op."""
        return self._call("trelink.v1.LinkageService/Ingest", self._stub.Ingest, iter(batches), timeout)

    def run_linkage(self, project: str, timeout: Optional[float] = None) -> pb.LinkageReport:
        """Links every stored record of ``project`` into a new generation (linkage admins)."""
        return self._call("trelink.v1.LinkageService/RunLinkage", self._stub.RunLinkage,
                          pb.RunLinkageRequest(project=project), timeout)

    def linkage_report(self, project: str, timeout: Optional[float] = None) -> pb.LinkageReport:
        """The latest generation's report: counts under the disclosure threshold."""
        return self._call("trelink.v1.LinkageService/GetLinkageReport", self._stub.GetLinkageReport,
                          pb.GetLinkageReportRequest(project=project), timeout)

    def withdraw(self, sealed: pb.SealedBatch, timeout: Optional[float] = None) -> pb.WithdrawResponse:
        """Withdraws the records a sealed BATCH_WITHDRAWAL batch names."""
        return self._call("trelink.v1.LinkageService/Withdraw", self._stub.Withdraw,
                          pb.WithdrawRequest(sealed=sealed), timeout)

    def apply_opt_out(self, list_version: str, sealed: pb.SealedBatch, complete: bool,
                      timeout: Optional[float] = None) -> pb.OptOutResponse:
        """Loads one sealed BATCH_OPT_OUT batch of a national opt-out list;
        ``complete`` on the last batch activates the list."""
        return self._call("trelink.v1.LinkageService/ApplyOptOut", self._stub.ApplyOptOut,
                          pb.OptOutRequest(list_version=list_version, sealed=sealed, complete=complete), timeout)


class Aggregator(_Service):
    """AggregateService: the catalogue and count queries under disclosure control."""

    service = "aggregator"

    def __init__(self, address: str, tls: Optional[TlsFiles], **kwargs: Any) -> None:
        super().__init__(address, tls, **kwargs)
        self._stub = pb.aggregate_pb2_grpc.AggregateServiceStub(self._channel)

    def describe_catalogue(self, project: str = "", timeout: Optional[float] = None) -> pb.CatalogueDescription:
        """Datasets, dimensions and the disclosure policy; with a project the
        caller may query, also its generation and linkage quality."""
        return self._call("trelink.v1.AggregateService/DescribeCatalogue", self._stub.DescribeCatalogue,
                          pb.DescribeCatalogueRequest(project=project), timeout)

    def count(self, query: Union[pb.CountQuery, PathLike], timeout: Optional[float] = None) -> CountResult:
        """Runs a CountQuery (a message, or the path of one in text format).
        The answer, or the refusal, is in the disclosure log before it returns."""
        message = query if isinstance(query, pb.CountQuery) else load_query(query)
        table = self._call("trelink.v1.AggregateService/Count", self._stub.Count, message, timeout)
        return CountResult(table)

    def wait_for_generation(self, project: str, generation: int, timeout: float = 30.0) -> int:
        """Waits until counts of ``project`` are answered from ``generation``
        or a later one (the aggregator reloads the linked store every few
        seconds); returns the generation."""
        deadline = time.monotonic() + timeout
        while True:
            current = int(self.describe_catalogue(project).generation)
            if current >= generation:
                return current
            if time.monotonic() > deadline:
                raise TrelinkError(f"aggregator: project {project} still answers from generation {current} "
                                   f"after {timeout} s (waiting for {generation})")
            time.sleep(0.2)


class Auditor(_Service):
    """AuditService (auditor role): the disclosure log, its signed checkpoint
    and Merkle proofs. Verify what it returns offline with
    :func:`trelink_client.audit.verify_log`."""

    service = "aggregator"

    def __init__(self, address: str, tls: Optional[TlsFiles], **kwargs: Any) -> None:
        super().__init__(address, tls, **kwargs)
        self._stub = pb.disclosure_log_pb2_grpc.AuditServiceStub(self._channel)

    def checkpoint(self, timeout: Optional[float] = None) -> pb.Checkpoint:
        """The latest signed checkpoint (a C2SP signed note)."""
        return self._call("trelink.v1.AuditService/GetCheckpoint", self._stub.GetCheckpoint,
                          pb.GetCheckpointRequest(), timeout)

    def entries(self, start: int, end: int, timeout: Optional[float] = None) -> "ResponseStream[pb.RawLogEntry]":
        """Entries [start, end), in order, as the exact bytes that were hashed."""
        responses = self._stub.GetEntries(pb.GetEntriesRequest(start=start, end=end),
                                          timeout=self.timeout if timeout is None else timeout)
        return ResponseStream(self, "trelink.v1.AuditService/GetEntries", responses)

    def inclusion_proof(self, index: int, tree_size: int, timeout: Optional[float] = None) -> List[bytes]:
        """The audit path of entry ``index`` in the tree of ``tree_size`` entries."""
        proof = self._call("trelink.v1.AuditService/GetInclusionProof", self._stub.GetInclusionProof,
                           pb.GetInclusionProofRequest(index=index, tree_size=tree_size), timeout)
        return list(proof.hashes)

    def consistency_proof(self, old_size: int, new_size: int, timeout: Optional[float] = None) -> List[bytes]:
        """The proof that the first ``old_size`` entries are unchanged in the tree of ``new_size``."""
        proof = self._call("trelink.v1.AuditService/GetConsistencyProof", self._stub.GetConsistencyProof,
                           pb.GetConsistencyProofRequest(old_size=old_size, new_size=new_size), timeout)
        return list(proof.hashes)

    def fetch(self, timeout: Optional[float] = None) -> "FetchedLog":
        """The latest checkpoint and every entry it covers."""
        checkpoint = self.checkpoint(timeout)
        entries = [e.entry for e in self.entries(0, checkpoint.size, timeout)]
        if len(entries) != checkpoint.size:
            raise TrelinkError(f"aggregator: the checkpoint covers {checkpoint.size} entries but {len(entries)} were sent")
        return FetchedLog(checkpoint.signed_note, entries)


@dataclass
class FetchedLog:
    """A disclosure log as fetched: the signed checkpoint note and the raw
    entries. ``save(dir)`` writes the files trelink-audit verify reads."""
    checkpoint_note: str
    entries: List[bytes]

    def save(self, directory: PathLike) -> None:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        with open(d / "disclosure.log", "wb") as log:
            for entry in self.entries:
                log.write(len(entry).to_bytes(4, "little"))
                log.write(entry)
        (d / "checkpoint").write_text(self.checkpoint_note, encoding="utf-8")
