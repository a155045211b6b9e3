"""A dataset's rows (a CSV file or a pandas DataFrame) split into the
identifier half for the pseudonymiser and the content half for the linker,
driven by the catalogue and with the same mapping, age-band derivation,
validation and batch ids as ``trelink-cli ingest`` (services/cli/
csv_batches.cc, common/csv/record_columns.cc):

- a column the dataset's ``identifier_columns`` names holds that identifier
  for that role; otherwise ``nhs_number``, ``given_name``, ``family_name``,
  ``dob``, ``sex``, ``postcode`` belong to the role "person" and
  ``ROLE_FIELD`` (mother_dob) to ROLE; ``event``/``event_date`` are the
  content's; a column named after an attribute is content; ``record_id`` and
  ``provider_columns`` stay with the provider; any other column is an error;
- attributes with age bands are derived from the role's date of birth and
  the event date, so only the band leaves the provider;
- batch ids are ``<dataset>:<extract>:<first record's index, 9 digits>``;
  the default extract of a file is ``sha256-`` and 16 hex digits of its
  bytes' SHA-256.

Beyond the CLI, the input is checked whole before anything is sent, and a
column a catalogue rule needs is required up front: a required attribute,
and the date of birth an age band is derived from (without it the band
would silently be missing).
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from google.protobuf import text_format

from . import pb
from .errors import InvalidArgument, InvalidRecord, RejectedRow

if TYPE_CHECKING:
    import pandas

__all__ = ["load_catalogue", "RecordTable", "PreparedBatch", "Prepared", "prepare_batches", "file_digest_label",
           "validate_extract_name", "normalise_nhs_number"]

PathLike = Union[str, "os.PathLike[str]"]

_FIELDS = ("nhs_number", "given_name", "family_name", "dob", "sex", "postcode")
_PROTO_FIELD = {"nhs_number": "nhs_number", "given_name": "given_name", "family_name": "family_name",
                "dob": "date_of_birth", "sex": "sex", "postcode": "postcode"}
_IDENTIFIER_NAME = re.compile(r"[a-z0-9_]{1,64}")
_EXTRACT = re.compile(r"[A-Za-z0-9_.-]{1,40}")


def load_catalogue(path: PathLike) -> pb.Catalogue:
    """Reads a catalogue in protobuf text format (deploy/config/catalogue.textproto)."""
    with open(path, encoding="utf-8") as f:
        try:
            return text_format.Parse(f.read(), pb.Catalogue())
        except text_format.ParseError as e:
            raise InvalidArgument(f"{os.fspath(path)}: {e}") from None


def file_digest_label(path: PathLike) -> str:
    """"sha256-" and the first 16 hex digits of the SHA-256 of the file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            digest.update(chunk)
    return "sha256-" + digest.hexdigest()[:16]


def validate_extract_name(extract: str) -> None:
    if not _EXTRACT.fullmatch(extract):
        raise InvalidArgument("extract: must be 1-40 characters of [A-Za-z0-9_.-]")


def normalise_nhs_number(raw: str) -> Optional[str]:
    """The 10 digits of a valid NHS number (spaces, hyphens, tabs allowed;
    modulus-11 check digit; not one digit repeated), else None."""
    digits = ""
    for c in raw:
        if "0" <= c <= "9":
            digits += c
        elif c not in " -\t":
            return None
    if len(digits) != 10 or len(set(digits)) == 1:
        return None
    check = 11 - sum(int(d) * (10 - i) for i, d in enumerate(digits[:9])) % 11
    check = 0 if check == 11 else check
    return digits if check != 10 and check == int(digits[9]) else None


def parse_iso_date(text: str) -> Optional[datetime.date]:
    """A date written exactly YYYY-MM-DD that exists, else None."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-" or not all(text[i].isdigit() and text[i].isascii()
                                                                      for i in (0, 1, 2, 3, 5, 6, 8, 9)):
        return None
    try:
        return datetime.date(int(text[:4]), int(text[5:7]), int(text[8:]))
    except ValueError:
        return None


# --- input tables -----------------------------------------------------------


@dataclass
class RecordTable:
    """Rows of strings with a header, and where each row came from ("line 7"
    of a CSV file, "row 5" of a DataFrame, by index label). ``source``
    names the input in messages; ``digest_label`` is its default extract."""
    header: List[str]
    rows: List[Tuple[str, List[str]]]
    source: str
    digest_label: str

    @classmethod
    def from_csv(cls, path: PathLike) -> "RecordTable":
        """An RFC 4180 CSV file (UTF-8, optional byte-order mark, header row)."""
        name = os.fspath(path)
        with open(path, "rb") as f:
            data = f.read()
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        # surrogateescape keeps bytes that are not UTF-8, so each cell can be
        # checked (and named) the way the CLI does.
        text = data.decode("utf-8", "surrogateescape")
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        rows: List[Tuple[str, List[str]]] = []
        header: Optional[List[str]] = None
        line = 1
        try:
            for row in reader:
                label = f"line {line}"
                line = reader.line_num + 1
                if header is None:
                    header = row
                elif row and row != [""]:
                    rows.append((label, row))
        except csv.Error as e:
            raise InvalidRecord(f"{name} line {line}: {e}", row=f"line {line}") from None
        if header is None:
            raise InvalidRecord(f"{name}: empty file, expected a header row")
        return cls(header, rows, name, file_digest_label(path))

    @classmethod
    def from_dataframe(cls, frame: "pandas.DataFrame", source: str = "DataFrame") -> "RecordTable":
        """A DataFrame, each cell as text: missing values (None, NaN, NaT) are
        empty, whole floats lose their ".0" (a column of integers with gaps),
        timestamps become ISO dates. Its default extract is the SHA-256 of
        its CSV form (header and rows, comma separated, minimal quoting)."""
        header = [str(c) for c in frame.columns]
        rows = [(f"row {label}", [_cell_text(v) for v in values])
                for label, values in zip(frame.index, frame.itertuples(index=False, name=None))]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(cells for _, cells in rows)
        digest = hashlib.sha256(buffer.getvalue().encode("utf-8", "surrogateescape")).hexdigest()[:16]
        return cls(header, rows, source, "sha256-" + digest)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    try:
        import pandas
        if value is pandas.NaT or value is pandas.NA:
            return ""
    except ImportError:
        pass
    return str(value)


# --- columns ------------------------------------------------------------------


@dataclass
class _Column:
    kind: str  # "ignored", "identifier", "event", "event_date", "attribute"
    name: str
    role: int = -1
    field: str = ""  # an Identifiers field name, or "" for an other identifier
    other: str = ""
    compact_date: bool = False
    invalid_as_missing: bool = False


class DatasetColumns:
    """The meaning of each column of a header for one dataset of the catalogue."""

    def __init__(self, raw_header: Sequence[str], spec: pb.DatasetSpec, source: str) -> None:
        self.spec = spec
        self.roles = list(spec.roles)
        self.implied_sex = {r.role: r.sex for r in spec.role_implies if r.sex}
        # A newborn lives at its mother's address: the role whose postcode a
        # role without one takes.
        self.postcode_from = {r.role: r.postcode_from_role for r in spec.role_implies if r.postcode_from_role}
        self.columns: List[_Column] = []
        self.derived = [a for a in spec.attributes if a.HasField("age_bands")]
        has_event, has_date = bool(spec.default_event), bool(spec.default_event_date)
        header: List[str] = []
        mapped = {m.column: m for m in spec.identifier_columns}
        plain_attributes = {a.name for a in spec.attributes if not a.HasField("age_bands")}
        for c, raw in enumerate(raw_header):
            name = raw.strip(" \t\r\n\f\v")
            at = f'{source}: header column {c + 1} "{name}"'
            if name in header:
                raise InvalidRecord(f"{at} repeats column {header.index(name) + 1}", column=name)
            header.append(name)
            column = _Column("ignored", name)
            if name in mapped:
                m = mapped[name]
                column.kind = "identifier"
                column.role = 0 if not m.role else (self.roles.index(m.role) if m.role in self.roles else -1)
                column.field = _PROTO_FIELD.get(m.identifier, "")
                if not column.field:
                    column.other = m.identifier
                column.compact_date = m.date_format == "YYYYMMDD"
                column.invalid_as_missing = m.invalid_as_missing
                if column.role < 0 or (not column.field and not _IDENTIFIER_NAME.fullmatch(column.other)):
                    raise InvalidRecord(f"{at}: its identifier_columns entry names no role or identifier", column=name)
            elif name == "record_id" or name in spec.provider_columns:
                pass
            elif name == "event":
                column.kind, has_event = "event", True
            elif name == "event_date":
                column.kind, has_date = "event_date", True
            elif name in plain_attributes:
                column.kind = "attribute"
            else:
                for suffix in _FIELDS:
                    if name == suffix:
                        role = "person"
                    elif name.endswith("_" + suffix):
                        role = name[:-len(suffix) - 1]
                    else:
                        continue
                    if role in self.roles:
                        column.kind, column.role, column.field = "identifier", self.roles.index(role), _PROTO_FIELD[suffix]
                    break
                if column.kind != "identifier":
                    raise InvalidRecord(f"{at} is not a column of dataset {spec.name}", column=name)
            self.columns.append(column)
        if not has_event or not has_date:
            missing = "event" if not has_event else "event_date"
            raise InvalidRecord(f"{source}: column {missing} is missing (event and event_date are required)",
                                column=missing)
        self._require_catalogue_columns(source)
        self.record_id = header.index("record_id") if "record_id" in header else -1

    def _require_catalogue_columns(self, source: str) -> None:
        present = {c.name for c in self.columns if c.kind == "attribute"}
        for attribute in self.spec.attributes:
            if attribute.required and not attribute.HasField("age_bands") and attribute.name not in present:
                raise InvalidRecord(f"{source}: column {attribute.name} is missing: dataset {self.spec.name} requires "
                                    f"it on every row", column=attribute.name)
        for attribute in self.derived:
            role = attribute.age_bands.role
            if not any(c.kind == "identifier" and c.field == "date_of_birth" and c.role >= 0 and
                       self.roles[c.role] == role for c in self.columns):
                source_column = "dob" if role == "person" else f"{role}_dob"
                raise InvalidRecord(f"{source}: column {source_column} is missing: {attribute.name} is derived from "
                                    f"the {role}'s date of birth and would be missing on every row",
                                    column=source_column)

    def fill(self, row: Sequence[str]) -> Tuple[pb.IdentifierRecord, pb.ContentRecord, int]:
        participants = [pb.Participant() for _ in self.roles]
        present = [False] * len(self.roles)
        content = pb.ContentRecord(event=self.spec.default_event, event_date=self.spec.default_event_date)
        unreadable = 0
        for column, raw in zip(self.columns, row):
            value = raw.strip(" \t\r\n\f\v")
            if column.kind == "identifier":
                if not value:
                    continue
                value, readable = _read_identifier(column, value)
                if not readable:
                    unreadable += 1
                    continue
                ids = participants[column.role].identifiers
                if column.field:
                    setattr(ids, column.field, value)
                else:
                    ids.other[column.other] = value
                present[column.role] = True
            elif column.kind == "event":
                content.event = value
            elif column.kind == "event_date":
                content.event_date = value
            elif column.kind == "attribute" and value:
                content.attributes[column.name] = value
        event_day = parse_iso_date(content.event_date)
        for attribute in self.derived:
            role = attribute.age_bands.role
            if role not in self.roles or event_day is None:
                continue
            dob = parse_iso_date(participants[self.roles.index(role)].identifiers.date_of_birth)
            if dob is None:
                continue  # missing: no band
            days = (event_day - dob).days
            for band in attribute.age_bands.bands:
                if band.min_days <= days <= band.max_days:
                    content.attributes[attribute.name] = band.label
                    break
        for r, role in enumerate(self.roles):
            source = self.postcode_from.get(role)
            if not present[r] or source not in self.roles or not present[self.roles.index(source)]:
                continue
            if not participants[r].identifiers.postcode:
                participants[r].identifiers.postcode = participants[self.roles.index(source)].identifiers.postcode
        identifiers = pb.IdentifierRecord()
        for r, role in enumerate(self.roles):
            if not present[r]:
                continue
            participant = participants[r]
            participant.role = role
            if not participant.identifiers.sex and self.implied_sex.get(role):
                participant.identifiers.sex = self.implied_sex[role]
            identifiers.participants.append(participant)
        return identifiers, content, unreadable


def _read_identifier(column: _Column, value: str) -> Tuple[str, bool]:
    if column.field != "date_of_birth":
        return value, True
    if column.compact_date and len(value) == 8 and value.isdigit() and value.isascii():
        value = f"{value[:4]}-{value[4:6]}-{value[6:]}"
    if not column.invalid_as_missing or parse_iso_date(value) is not None:
        return value, True
    return "", False


# --- row validation (the checks the pseudonymiser and the linker make) --------


def _valid_text(text: str) -> Optional[str]:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid UTF-8"
    return "contains a NUL byte" if "\0" in text else None


def _normalise_date(raw: str, today: datetime.date) -> Optional[str]:
    s = raw.strip(" \t\r\n\f\v")
    if not s:
        return None
    shaped = (len(s) == 10 and s[4] == "-" and s[7] == "-" and s[0].isdigit() and s[5].isdigit() and s[8].isdigit()
              and all(p.lstrip("+-").isdigit() for p in (s[:4], s[5:7], s[8:])))
    if not shaped:
        return "not an ISO date YYYY-MM-DD"
    try:
        day = datetime.date(int(s[:4]), int(s[5:7]), int(s[8:]))
    except ValueError:
        return "not a calendar date"
    if day > today:
        return "date is in the future"
    if day < datetime.date(1900, 1, 1):
        return "date is before 1900-01-01, the earliest accepted"
    return None


def _outward(s: str) -> bool:
    if not 2 <= len(s) <= 4 or not ("A" <= s[0] <= "Z"):
        return False
    i = 2 if "A" <= s[1] <= "Z" else 1
    if i >= len(s) or not ("0" <= s[i] <= "9"):
        return False
    i += 1
    if i == len(s):
        return True
    return i + 1 == len(s) and ("0" <= s[i] <= "9" or "A" <= s[i] <= "Z")


def _postcode_error(raw: str) -> Optional[str]:
    compact = "".join(c for c in raw if c not in " \t").upper()
    if not compact or compact == "GIR0AA" or _outward(compact):
        return None
    inward = compact[-3:]
    if len(compact) >= 5 and _outward(compact[:-3]) and inward[0].isdigit() and inward[1:].isalpha() \
            and inward.isascii():
        return None
    return "not a UK postcode or outward code"


def _participant_error(ids: pb.Identifiers, today: datetime.date) -> Optional[Tuple[str, str]]:
    """(field, message) of the first identifier the pseudonymiser would refuse."""
    date_error = _normalise_date(ids.date_of_birth, today)
    if date_error:
        return "date_of_birth", f"date_of_birth: {date_error}"
    sex = ids.sex.strip(" \t\r\n\f\v")
    if sex and sex.upper() not in ("F", "M", "U"):
        return "sex", "sex: sex must be F, M or U"
    postcode_error = _postcode_error(ids.postcode)
    if postcode_error:
        return "postcode", f"postcode: {postcode_error}"
    for name in ("given_name", "family_name"):
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in getattr(ids, name)):
            return name, f"{name}: contains a control character"
    return None


def _content_error(spec: pb.DatasetSpec, content: pb.ContentRecord, today: datetime.date) -> Optional[Tuple[str, str]]:
    """(column, message) as common/catalogue's ValidateContent and ValidateEventNotFuture."""
    if content.event not in spec.events:
        return "event", f"event: not an event of dataset {spec.name} (see the catalogue)"
    day = parse_iso_date(content.event_date)
    if day is None:
        return "event_date", "event_date: not an ISO date YYYY-MM-DD"
    earliest = parse_iso_date(spec.earliest_event_date) or datetime.date.min
    latest = parse_iso_date(spec.latest_event_date) or datetime.date.max
    if day < earliest or day > latest:
        return "event_date", (f"event_date: outside the dataset's range {spec.earliest_event_date} to "
                              f"{spec.latest_event_date}")
    specs = {a.name: a for a in spec.attributes}
    for name in sorted(content.attributes):
        value = content.attributes[name]
        a = specs[name]
        where = f"attributes.{name}: "
        if a.type == pb.AttributeSpec.CODE and value not in a.allowed_values:
            return name, where + "not one of the catalogue's allowed values"
        if a.type == pb.AttributeSpec.INTEGER:
            if not re.fullmatch(r"[+-]?[0-9]+", value.strip()):
                return name, where + "not an integer"
            if not a.min <= int(value) <= a.max:
                return name, where + f"outside {a.min}..{a.max}"
        if a.type == pb.AttributeSpec.DATE and parse_iso_date(value) is None:
            return name, where + "not an ISO date"
        if a.type == pb.AttributeSpec.TEXT and (len(value.encode("utf-8", "surrogateescape")) > 64 or
                                                 not all(" " <= c < "\x7f" for c in value)):
            return name, where + "must be up to 64 printable ASCII characters"
    for a in spec.attributes:
        if a.required and not content.attributes.get(a.name):
            return a.name, f"attributes.{a.name}: required"
    if day > today:
        return "event_date", "event_date: after today"
    return None


# --- batches ------------------------------------------------------------------------


@dataclass
class PreparedBatch:
    """One batch: the request for the pseudonymiser, the content records in
    the same order, and where each record came from."""
    identifiers: pb.PseudonymiseBatchRequest
    content: List[pb.ContentRecord]
    rows: List[str]


@dataclass
class Prepared:
    batches: List[PreparedBatch]
    rejected: List[RejectedRow]
    rows_read: int
    unreadable_values: int
    extract: str
    source: str

    @property
    def records(self) -> int:
        return sum(len(b.content) for b in self.batches)


def _role_column(role: str, field: str) -> str:
    suffix = {"date_of_birth": "dob"}.get(field, field)
    return suffix if role == "person" else f"{role}_{suffix}"


def prepare_batches(table: RecordTable, catalogue: pb.Catalogue, *, project: str, dataset: str,
                    batch_size: int = 2000, extract: Optional[str] = None,
                    today: Optional[datetime.date] = None) -> Prepared:
    """Maps and validates every row; rows that fail are in ``rejected`` (by
    row, column and reason, never the value), the others in batches."""
    if batch_size <= 0:
        raise InvalidArgument("batch_size must be positive")
    extract = extract or table.digest_label
    validate_extract_name(extract)
    spec = next((d for d in catalogue.datasets if d.name == dataset), None)
    if spec is None:
        raise InvalidArgument(f'dataset "{dataset}" is not in the catalogue')
    today = today or datetime.datetime.now(datetime.timezone.utc).date()
    columns = DatasetColumns(table.header, spec, table.source)
    width = len(columns.columns)
    seen_ids: Dict[str, str] = {}
    accepted: List[Tuple[str, pb.IdentifierRecord, pb.ContentRecord]] = []
    rejected: List[RejectedRow] = []
    unreadable = 0
    for label, row in table.rows:
        if len(row) != width:
            raise InvalidRecord(f"{table.source} {label}: {len(row)} fields, the header has {width}", row=label)
        problem = _text_problem(columns, row)
        if problem is None and columns.record_id >= 0:
            rid = row[columns.record_id]
            if not rid:
                problem = ("record_id", "record_id: empty")
            elif rid in seen_ids:
                problem = ("record_id", f"record_id: repeats {seen_ids[rid]}")
            else:
                seen_ids[rid] = label
        if problem is None:
            identifiers, content, n = columns.fill(row)
            unreadable += n
            if columns.record_id >= 0:
                identifiers.record_id = row[columns.record_id]
            problem = _row_problem(columns, identifiers, content, today)
        if problem is not None:
            rejected.append(RejectedRow(label, problem[0], problem[1]))
            continue
        accepted.append((label, identifiers, content))
    batches: List[PreparedBatch] = []
    for start in range(0, len(accepted), batch_size):
        chunk = accepted[start:start + batch_size]
        request = pb.PseudonymiseBatchRequest(project=project, dataset=dataset,
                                              batch_id=f"{dataset}:{extract}:{start:09d}",
                                              records=[ids for _, ids, _ in chunk])
        batches.append(PreparedBatch(request, [c for _, _, c in chunk], [label for label, _, _ in chunk]))
    return Prepared(batches, rejected, len(table.rows), unreadable, extract, table.source)


def _text_problem(columns: DatasetColumns, row: Sequence[str]) -> Optional[Tuple[str, str]]:
    for column, cell in zip(columns.columns, row):
        error = _valid_text(cell)
        if error:
            return column.name, f"column {column.name}: {error}"
    return None


def _row_problem(columns: DatasetColumns, identifiers: pb.IdentifierRecord, content: pb.ContentRecord,
                 today: datetime.date) -> Optional[Tuple[str, str]]:
    if not identifiers.participants:
        return "", "no identifiers"
    for participant in identifiers.participants:
        error = _participant_error(participant.identifiers, today)
        if error:
            return _role_column(participant.role, error[0]), f"{participant.role} {error[1]}"
    error = _content_error(columns.spec, content, today)
    if error:
        return error
    event_day = parse_iso_date(content.event_date)
    if event_day is None:
        return None
    for attribute in columns.derived:
        role = attribute.age_bands.role
        for participant in identifiers.participants:
            dob = parse_iso_date(participant.identifiers.date_of_birth)
            if participant.role == role and dob is not None and event_day < dob:
                return "event_date", f"event_date: before the {role}'s date_of_birth"
    return None


def read_column(table: RecordTable, column: str) -> List[Tuple[str, str]]:
    """(row, value) of one named column; an empty value is an error naming
    its row, as trelink-cli withdraw and opt-out read their lists."""
    header = [h.strip() for h in table.header]
    if column not in header:
        raise InvalidRecord(f"{table.source}: no {column} column in the header", column=column)
    index = header.index(column)
    values = []
    for label, row in table.rows:
        if len(row) != len(header) or not row[index]:
            raise InvalidRecord(f"{table.source} {label}: {column}: missing", row=label, column=column)
        values.append((label, row[index]))
    return values


def iter_chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


__all__ += ["DatasetColumns", "read_column", "iter_chunks", "parse_iso_date"]
