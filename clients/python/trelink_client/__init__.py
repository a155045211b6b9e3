"""trelink's Python client: every RPC of the pseudonymiser, linker and
aggregator over mutual TLS, the provider pipeline from pandas DataFrames or
CSV files, count tables as DataFrames and offline verification of the
disclosure log.

    from trelink_client import TlsFiles, Pseudonymiser, Linker, Aggregator, Pipeline

    tls = TlsFiles.from_directory("run/certs", "provider.maternity")
    with Pseudonymiser(PSEUDONYMISER, tls) as p, Linker(LINKER, tls) as l:
        Pipeline(p, l, "catalogue.textproto").ingest(df, project="demo", dataset="maternity")

    with Aggregator(AGGREGATOR, TlsFiles.from_directory("run/certs", "analyst")) as a:
        table = a.count("deploy/queries/q6_parental_learning_disability.textproto").to_dataframe()

Install: see clients/python/README.md (offline, Debian packages only).
"""

from . import pb
from .audit import NoteVerifier, LogVerification, verify_consistency, verify_inclusion, verify_log
from .errors import (AlreadyExists, ConnectionFailed, DataLoss, DeadlineExceeded, FailedPrecondition, FieldViolation,
                     Internal, InvalidArgument, InvalidRecord, NotFound, PermissionDenied, RejectedRow,
                     ResourceExhausted, RowsRejected, TrelinkError, Unauthenticated, Unavailable, Unimplemented)
from .pipeline import IngestResult, OptOutResult, Pipeline, WithdrawResult
from .records import load_catalogue
from .services import Aggregator, Auditor, FetchedLog, Linker, Pseudonymiser, TlsFiles
from .tables import Cell, CountResult, load_query, released

__all__ = [
    "pb", "TlsFiles", "Pseudonymiser", "Linker", "Aggregator", "Auditor", "FetchedLog", "Pipeline", "IngestResult",
    "WithdrawResult", "OptOutResult", "CountResult", "Cell", "load_query", "load_catalogue", "released",
    "NoteVerifier", "LogVerification", "verify_log", "verify_inclusion", "verify_consistency",
    "TrelinkError", "FieldViolation", "InvalidArgument", "InvalidRecord", "RowsRejected", "RejectedRow", "NotFound",
    "AlreadyExists", "PermissionDenied", "Unauthenticated", "FailedPrecondition", "ResourceExhausted", "Unavailable",
    "ConnectionFailed", "DeadlineExceeded", "Unimplemented", "DataLoss", "Internal",
]
__version__ = "0.2.0"
