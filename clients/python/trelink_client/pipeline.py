"""The provider pipeline: rows in (a pandas DataFrame or a CSV file), their
identifiers to the pseudonymiser, the sealed keys with the rows' content to
the linker — what ``trelink-cli ingest``, ``withdraw`` and ``opt-out`` do,
with the same batches and batch ids (see records.py)."""

from __future__ import annotations

import datetime
import hashlib
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Iterator, List, Optional, Sequence, Union

from . import pb
from .errors import DataLoss, InvalidArgument, RejectedRow, RowsRejected, TrelinkError
from .records import (PathLike, Prepared, PreparedBatch, RecordTable, iter_chunks, load_catalogue,
                      normalise_nhs_number, prepare_batches, read_column, validate_extract_name)
from .services import Linker, Pseudonymiser

if TYPE_CHECKING:
    import pandas

__all__ = ["Pipeline", "IngestResult", "WithdrawResult", "OptOutResult"]

Rows = Union["pandas.DataFrame", PathLike]


@dataclass
class IngestResult:
    """What an ingest did: rows read and left out, what normalisation found
    (counts only), and what the linker stored."""
    project: str
    dataset: str
    source: str
    extract: str
    rows_read: int = 0
    records: int = 0
    batches: int = 0
    participants: int = 0
    invalid_nhs_numbers: int = 0
    missing_nhs_numbers: int = 0
    keys_not_formed: int = 0
    key_version: int = 0
    recipient_fingerprint: str = ""
    batches_stored: int = 0
    batches_already_stored: int = 0
    records_replaced: int = 0
    unreadable_values: int = 0
    rejected: List[RejectedRow] = field(default_factory=list)
    sealed: List[pb.SealedBatch] = field(default_factory=list, repr=False)

    def add(self, response: pb.PseudonymiseBatchResponse) -> None:
        s = response.stats
        self.batches += 1
        self.records += s.records
        self.participants += s.participants
        self.invalid_nhs_numbers += s.invalid_nhs_numbers
        self.missing_nhs_numbers += s.missing_nhs_numbers
        self.keys_not_formed += s.keys_not_formed
        self.key_version = response.sealed.key_version
        self.recipient_fingerprint = response.sealed.recipient_fingerprint

    def __str__(self) -> str:
        lines = [f"{self.source} ({self.dataset}, project {self.project}, extract {self.extract})",
                 f"  records           {self.records} in {self.batches} batches",
                 f"  participants      {self.participants}",
                 f"  NHS numbers       {self.invalid_nhs_numbers} invalid (treated as missing), "
                 f"{self.missing_nhs_numbers} missing",
                 f"  keys not formed   {self.keys_not_formed} (a field was missing)",
                 f"  rows read         {self.rows_read}, {len(self.rejected)} left out for failing validation"]
        lines += [f"    {r}" for r in self.rejected[:10]]
        lines.append(f"  linker            {self.batches_stored} batches stored, {self.batches_already_stored} "
                     "already stored (resent, unchanged)")
        return "\n".join(lines)


@dataclass
class WithdrawResult:
    named: int
    withdrawn: int
    already_withdrawn: int
    not_found: int


@dataclass
class OptOutResult:
    numbers_read: int
    invalid: int
    numbers_in_list: int
    active_list: str


_RECORDS_AT = re.compile(r"records\[(\d+)\]")


def _with_row(message: str, batch: Optional[PreparedBatch], source: str) -> str:
    """Rewrites a service's "records[N]" as the row it came from, as the CLI does."""
    match = _RECORDS_AT.search(message)
    if batch is None or match is None or int(match.group(1)) >= len(batch.rows):
        return message
    return f"{source} {batch.rows[int(match.group(1))]}: {message}"


def _reword(error: TrelinkError, message: str) -> None:
    error.message = message
    error.args = (message,)


def _table(data: Rows) -> RecordTable:
    if isinstance(data, (str, os.PathLike)):
        return RecordTable.from_csv(data)
    if hasattr(data, "columns") and hasattr(data, "itertuples"):
        return RecordTable.from_dataframe(data)
    raise InvalidArgument("data: a pandas DataFrame or the path of a CSV file")


class Pipeline:
    """A provider's (or a TRE's) pipeline to the pseudonymiser and linker.

    ``catalogue`` is the TRE's catalogue: a ``pb.Catalogue`` (for example
    ``Aggregator.describe_catalogue().catalogue``) or the path of its text
    format; it decides the columns, age bands and validation."""

    def __init__(self, pseudonymiser: Pseudonymiser, linker: Linker, catalogue: Union[pb.Catalogue, PathLike],
                 *, batch_size: int = 2000) -> None:
        self.pseudonymiser = pseudonymiser
        self.linker = linker
        self.catalogue = catalogue if isinstance(catalogue, pb.Catalogue) else load_catalogue(catalogue)
        self.batch_size = batch_size

    def prepare(self, data: Rows, *, project: str, dataset: str, extract: Optional[str] = None,
                today: Optional[datetime.date] = None) -> Prepared:
        """Maps and validates the rows without sending anything."""
        return prepare_batches(_table(data), self.catalogue, project=project, dataset=dataset,
                               batch_size=self.batch_size, extract=extract, today=today)

    def ingest(self, data: Rows, *, project: str, dataset: str, extract: Optional[str] = None,
               allow_rejected: bool = False, today: Optional[datetime.date] = None) -> IngestResult:
        """Pseudonymises and ingests every row. Rows failing validation stop
        the ingest before anything is sent (RowsRejected naming each row,
        column and reason) unless ``allow_rejected``: then the others are
        sent and the rejected ones are in the result. ``extract`` names the
        delivery (default: a digest of the data, so resending the same data
        stores nothing twice)."""
        prepared = self.prepare(data, project=project, dataset=dataset, extract=extract, today=today)
        if prepared.rejected and not allow_rejected:
            raise RowsRejected(prepared.rejected, prepared.source)
        result = IngestResult(project, dataset, prepared.source, prepared.extract, rows_read=prepared.rows_read,
                              unreadable_values=prepared.unreadable_values, rejected=prepared.rejected)
        if not prepared.batches:
            return result
        sealed = self.pseudonymiser.pseudonymise_stream(b.identifiers for b in prepared.batches)
        failure: List[TrelinkError] = []
        sent = 0

        def requests() -> Iterator[pb.IngestBatchRequest]:
            nonlocal sent
            try:
                for batch in prepared.batches:
                    response = next(sealed)
                    result.add(response)
                    yield pb.IngestBatchRequest(sealed=response.sealed, records=batch.content)
                    sent += 1
            except TrelinkError as e:
                failure.append(e)
            except StopIteration:
                pass

        try:
            response = self.linker.ingest(requests())
        except TrelinkError as e:
            batch = next((b for b in prepared.batches if e.message.startswith(f"linker: batch {b.identifiers.batch_id}:")),
                         None)
            _reword(e, _with_row(e.message, batch, prepared.source))
            raise
        finally:
            sealed.cancel()
        if failure:
            e = failure[0]
            _reword(e, _with_row(e.message, prepared.batches[sent], prepared.source))
            raise e
        if sent != len(prepared.batches):
            raise DataLoss(f"the pseudonymiser stream ended before taking every batch: {prepared.source} from "
                           f"{prepared.batches[sent].rows[0]} was not processed")
        for batch_result in response.batches:
            if batch_result.already_stored:
                result.batches_already_stored += 1
            else:
                result.batches_stored += 1
            result.records_replaced += batch_result.records_replaced
        return result

    def withdraw(self, record_ids: Union[Iterable[str], Rows], *, project: str, dataset: str,
                 extract: Optional[str] = None) -> WithdrawResult:
        """Withdraws records by the provider's record_id (a list, or the
        ``record_id`` column of a DataFrame or CSV). They leave linkage and
        counts from the next linkage run; repeating it changes nothing."""
        ids, label = self._column(record_ids, "record_id")
        extract = extract or label
        validate_extract_name(extract)
        total = WithdrawResult(len(ids), 0, 0, 0)
        for start, chunk in zip(range(0, len(ids), self.batch_size), iter_chunks(ids, self.batch_size)):
            request = pb.PseudonymiseBatchRequest(project=project, dataset=dataset,
                                                  batch_id=f"{dataset}:withdraw-{extract}:{start:09d}",
                                                  purpose=pb.BATCH_WITHDRAWAL,
                                                  records=[pb.IdentifierRecord(record_id=i) for i in chunk])
            response = self.linker.withdraw(self.pseudonymiser.pseudonymise(request).sealed)
            total.withdrawn += response.withdrawn
            total.already_withdrawn += response.already_withdrawn
            total.not_found += response.not_found
        return total

    def apply_opt_out(self, nhs_numbers: Union[Iterable[str], Rows], *, project: str,
                      list_version: str) -> OptOutResult:
        """Loads a national data opt-out list (linkage admins): numbers that
        are not valid NHS numbers are left out and counted; the last batch
        activates the list. Applies from the next linkage run."""
        numbers, _ = self._column(nhs_numbers, "nhs_number")
        valid = [n for n in (normalise_nhs_number(x) for x in numbers) if n is not None]
        if not valid:
            raise InvalidArgument("nhs_numbers: no valid NHS number; nothing was activated")
        chunks = list(iter_chunks(valid, self.batch_size))
        response = pb.OptOutResponse()
        for index, chunk in enumerate(chunks):
            request = pb.PseudonymiseBatchRequest(
                project=project, dataset="opt-out", batch_id=f"opt-out:{list_version}:{index:06d}",
                purpose=pb.BATCH_OPT_OUT,
                records=[pb.IdentifierRecord(participants=[pb.Participant(role="opt-out",
                                                                          identifiers=pb.Identifiers(nhs_number=n))])
                         for n in chunk])
            sealed = self.pseudonymiser.pseudonymise(request).sealed
            response = self.linker.apply_opt_out(list_version, sealed, complete=index == len(chunks) - 1)
        return OptOutResult(len(numbers), len(numbers) - len(valid), response.numbers_in_list, response.active_list)

    def close(self) -> None:
        """Closes the channels to both services."""
        self.pseudonymiser.close()
        self.linker.close()

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _column(values: Union[Iterable[str], Rows], column: str) -> "tuple[List[str], str]":
        """The values and a digest label of them (the file's, for a CSV)."""
        if isinstance(values, (str, os.PathLike)) or hasattr(values, "itertuples"):
            table = _table(values)  # type: ignore[arg-type]
            return [v for _, v in read_column(table, column)], table.digest_label
        items: Sequence[str] = [str(v) for v in values]
        if any(not v for v in items):
            raise InvalidArgument(f"{column}: an empty value at position {[bool(v) for v in items].index(False)}")
        digest = hashlib.sha256("\n".join(items).encode("utf-8")).hexdigest()[:16]
        return list(items), f"sha256-{digest}"

