"""Count queries and their answers: load a CountQuery from text format, and
turn a CountTable into rows or a pandas DataFrame (pandas is imported only
when a DataFrame is asked for)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Union

from google.protobuf import text_format

from . import pb
from .errors import InvalidArgument

if TYPE_CHECKING:
    import pandas

__all__ = ["load_query", "CountResult", "Cell", "released"]

PathLike = Union[str, "os.PathLike[str]"]


def load_query(path: PathLike) -> pb.CountQuery:
    """Reads a CountQuery in protobuf text format (the files in deploy/queries)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        return text_format.Parse(text, pb.CountQuery())
    except text_format.ParseError as e:
        raise InvalidArgument(f"{os.fspath(path)}: {e}") from None


def released(cell: pb.Cell) -> bool:
    """True when the cell's count was released (possibly rounded), not suppressed."""
    return cell.status in (pb.RELEASED, pb.ROUNDED)


@dataclass(frozen=True)
class Cell:
    """One cell: its values (one per dimension, "*" in a margin), the
    released count (None when suppressed) and the status name."""
    values: Tuple[str, ...]
    count: Optional[int]
    status: str
    is_total: bool

    @property
    def suppressed(self) -> bool:
        return self.count is None


class CountResult:
    """A count table as the aggregator released it, with the provenance an
    analyst must keep beside it: the linkage generation, the disclosure
    policy version, the disclosure-log index recording the answer and the
    opt-out list applied."""

    def __init__(self, table: pb.CountTable) -> None:
        self.table = table
        self.query_name: str = table.query_name
        self.dimensions: List[str] = list(table.dimensions)
        self.generation: int = table.generation
        self.policy_version: str = table.policy_version
        self.log_index: int = table.log_index
        self.opt_out_list: str = table.opt_out_list
        self.cells: List[Cell] = [
            Cell(tuple(c.values), int(c.count) if released(c) else None, pb.CellStatus.Name(c.status), c.is_total)
            for c in table.cells
        ]

    @property
    def provenance(self) -> Dict[str, Any]:
        return {"query_name": self.query_name, "generation": self.generation, "policy_version": self.policy_version,
                "log_index": self.log_index, "opt_out_list": self.opt_out_list}

    def rows(self) -> List[Dict[str, Any]]:
        """One dict per cell: the dimensions' values, ``count`` (None when
        suppressed), ``status``, ``suppressed`` and ``is_total``."""
        out = []
        for cell in self.cells:
            row: Dict[str, Any] = dict(zip(self.dimensions, cell.values))
            row.update(count=cell.count, status=cell.status, suppressed=cell.suppressed, is_total=cell.is_total)
            out.append(row)
        return out

    def to_dataframe(self) -> "pandas.DataFrame":
        """A DataFrame, one row per cell: a column per dimension, ``count``
        (nullable Int64; <NA> where suppressed), ``status``, ``suppressed``,
        ``is_total``. The provenance is in ``df.attrs`` (generation,
        policy_version, log_index, query_name, opt_out_list)."""
        import pandas

        columns = [*self.dimensions, "count", "status", "suppressed", "is_total"]
        frame = pandas.DataFrame(self.rows(), columns=columns)
        frame["count"] = frame["count"].astype("Int64")
        frame.attrs.update(self.provenance)
        return frame

    def __len__(self) -> int:
        return len(self.cells)

    def __repr__(self) -> str:
        suppressed = sum(c.suppressed for c in self.cells)
        return (f"CountResult({self.query_name!r}, {len(self.cells)} cells, {suppressed} suppressed, "
                f"generation {self.generation}, policy {self.policy_version!r}, log index {self.log_index})")
