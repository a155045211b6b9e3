"""Offline verification of the disclosure log, as ``trelink-audit verify``
does it (common/disclosure_log/log_verifier.cc), in Python:

- the Merkle tree of RFC 9162 over the entries (leaf SHA-256(0x00 || entry),
  node SHA-256(0x01 || left || right)), its root against the signed
  checkpoint, and inclusion and consistency proofs;
- the checkpoint, a C2SP signed note, against the pinned verifier key
  ("name+keyid+base64(0x01 || Ed25519 key)"), with PyNaCl (Debian's
  python3-nacl, imported only here);
- consistency with an earlier checkpoint the auditor kept;
- the disclosure policy replayed over every released table (statuses, no
  value behind a suppression, threshold, rounding, reasons, the release
  audit summary, no line of a table with exactly one suppressed cell), and
  the dp budget ledger's running totals.

Not replayed here (``trelink-audit verify`` does): that a dp charge's query
digest matches its query and that a repeat's table equals the earlier one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

from google.protobuf.message import DecodeError

from . import pb
from .errors import InvalidArgument

__all__ = ["leaf_hash", "node_hash", "merkle_root", "verify_inclusion", "verify_consistency", "NoteVerifier",
           "CheckpointBody", "LogProblem", "LogVerification", "verify_log"]

PathLike = Union[str, "os.PathLike[str]"]


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """RFC 9162 root of the given leaf hashes (SHA-256 of "" when empty)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    # Fold equal-sized subtrees like carries, then the peaks from the right.
    peaks: List[Tuple[int, bytes]] = []
    for leaf in leaves:
        size, node = 1, leaf
        while peaks and peaks[-1][0] == size:
            node = node_hash(peaks.pop()[1], node)
            size *= 2
        peaks.append((size, node))
    root = peaks[-1][1]
    for _, peak in reversed(peaks[:-1]):
        root = node_hash(peak, root)
    return root


def verify_inclusion(index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: ``leaf`` (a leaf hash) is entry ``index`` of the tree."""
    if index >= tree_size:
        return False
    fn, sn, r = index, tree_size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while (fn & 1) == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: the tree of ``old_size`` is a prefix of that of ``new_size``."""
    if old_size > new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while (fn & 1) == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


@dataclass(frozen=True)
class CheckpointBody:
    origin: str
    size: int
    root: bytes


_SIGNATURE_PREFIX = "\u2014 "  # em dash and space


class NoteVerifier:
    """A pinned verifier key of the log, "name+keyid+base64(0x01 || key)"
    (the log.pub file trelink-keygen writes)."""

    def __init__(self, vkey: str) -> None:
        parts = vkey.strip().split("+", 2)
        try:
            key = base64.b64decode(parts[2], validate=True) if len(parts) == 3 else b""
        except binascii.Error:
            key = b""
        if len(parts) != 3 or not parts[0] or len(parts[1]) != 8 or len(key) != 33 or key[0] != 1:
            raise InvalidArgument("not a verifier key (name+keyid+base64 of 0x01 and an Ed25519 key)")
        self.name = parts[0]
        self.key = key[1:]
        self.key_id = hashlib.sha256(self.name.encode() + b"\n\x01" + self.key).digest()[:4]
        if parts[1] != self.key_id.hex():
            raise InvalidArgument("verifier key: key id does not match the key")

    @classmethod
    def load(cls, path: PathLike) -> "NoteVerifier":
        with open(path, encoding="utf-8") as f:
            return cls(f.read())

    def verify(self, note: str) -> CheckpointBody:
        """The checkpoint's body, if the note carries a valid signature by this key."""
        try:
            from nacl.exceptions import BadSignatureError
            from nacl.signing import VerifyKey
        except ImportError:
            raise ImportError("verifying checkpoints needs PyNaCl (Debian: apt-get install python3-nacl)") from None
        split = note.find("\n\n")
        if split < 0:
            raise InvalidArgument("checkpoint: no blank line before signatures")
        text = note[:split + 1]
        verified = False
        for line in filter(None, note[split + 2:].split("\n")):
            if not line.startswith(_SIGNATURE_PREFIX):
                raise InvalidArgument("checkpoint: malformed signature line")
            name, _, signature_b64 = line[len(_SIGNATURE_PREFIX):].partition(" ")
            if name != self.name:
                continue
            try:
                signature = base64.b64decode(signature_b64, validate=True)
            except binascii.Error:
                continue
            if len(signature) != 68 or signature[:4] != self.key_id:
                continue
            try:
                VerifyKey(self.key).verify(text.encode(), signature[4:])
                verified = True
            except BadSignatureError:
                pass
        if not verified:
            raise InvalidArgument(f"checkpoint: no valid signature by {self.name}")
        lines = text.split("\n")
        try:
            root = base64.b64decode(lines[2], validate=True)
            size = int(lines[1])
        except (IndexError, ValueError, binascii.Error):
            root, size = b"", -1
        if len(lines) < 4 or size < 0 or len(root) != 32:
            raise InvalidArgument("checkpoint: body is not origin, size and base64 root hash")
        return CheckpointBody(lines[0], size, root)


@dataclass(frozen=True)
class LogProblem:
    entry: int  # -1: about the log as a whole
    check: str  # "checkpoint", "consistency", "sequence", "parse", "policy", "budget"
    detail: str

    def __str__(self) -> str:
        at = f" (entry {self.entry})" if self.entry >= 0 else ""
        return f"FAIL {self.check}{at}: {self.detail}"


@dataclass
class LogVerification:
    entries: int = 0
    released_tables: int = 0
    refusals: int = 0
    cells_checked: int = 0
    checkpoint_size: int = 0
    root_hex: str = ""
    budgets: Dict[str, int] = field(default_factory=dict)  # dp project -> micro-epsilon spent
    problems: List[LogProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        head = (f"{self.entries} entries ({self.released_tables} released tables, {self.refusals} refusals), "
                f"{self.cells_checked} cells replayed; checkpoint covers {self.checkpoint_size}, root {self.root_hex}")
        return "\n".join([head, *map(str, self.problems), "OK" if self.ok else "FAILED"])


def _released(status: int) -> bool:
    return status in (pb.RELEASED, pb.ROUNDED)


def _replay_policy(index: int, entry: pb.LogEntry, result: LogVerification) -> None:
    def problem(detail: str) -> None:
        result.problems.append(LogProblem(index, "policy", detail))

    policy, table = entry.policy, entry.table
    dp = policy.mode == pb.DisclosurePolicy.DP
    if table.policy_version != policy.version:
        problem("table policy version differs from the entry's policy")
    cells: Dict[Tuple[str, ...], pb.Cell] = {}
    for c, cell in enumerate(table.cells):
        result.cells_checked += 1
        key = tuple(cell.values)
        where = f"cell {c} ({','.join(key)})"
        if len(key) != len(table.dimensions):
            problem(f"{where}: {len(key)} values for {len(table.dimensions)} dimensions")
            continue
        cells[key] = cell
        if not _released(cell.status):
            if cell.status != pb.SUPPRESSED:
                problem(f"{where}: status {cell.status} is none an analyst may see (RELEASED, ROUNDED or SUPPRESSED)")
            if cell.count != 0:
                problem(f"{where}: suppressed but carries a count")
            continue
        if not dp and cell.count == 0 and not policy.release_zeros:
            problem(f"{where}: a zero released although the policy does not release zeros")
        if (dp or cell.count != 0) and cell.count < policy.threshold:
            problem(f"{where}: released count {cell.count} is below the threshold {policy.threshold}")
        if cell.status == pb.ROUNDED and policy.rounding_base > 1 and cell.count % policy.rounding_base:
            problem(f"{where}: released count {cell.count} is not a multiple of {policy.rounding_base}")
        if cell.status == pb.RELEASED and policy.rounding_base > 1:
            problem(f"{where}: released unrounded under a rounding policy")
    reasons = list(entry.suppression_reasons)
    repeat = entry.privacy.repeat if dp else entry.HasField("repeat_of")
    if not (not reasons and repeat):
        if len(reasons) != len(table.cells):
            problem(f"{len(reasons)} suppression reasons for {len(table.cells)} cells")
        else:
            for c, reason in enumerate(reasons):
                suppressed = not _released(table.cells[c].status)
                if reason not in pb.SuppressionReason.values():
                    problem(f"cell {c}: unknown suppression reason {reason}")
                elif suppressed and reason == pb.NOT_SUPPRESSED:
                    problem(f"cell {c}: suppressed without a reason")
                elif not suppressed and reason != pb.NOT_SUPPRESSED:
                    problem(f"cell {c}: released but logged as suppressed ({pb.SuppressionReason.Name(reason)})")
    if dp:
        if entry.HasField("release_audit"):
            problem("a dp release carries a release audit summary")
        return
    if entry.HasField("repeat_of"):
        # Audited when first released; the ledger checks the table is the same.
        if entry.HasField("release_audit"):
            problem("a repeat carries a release audit summary")
        return
    if not entry.HasField("release_audit"):
        problem("an sdc release without its release audit summary")
    elif entry.release_audit.whole_table_suppressed:
        for c, cell in enumerate(table.cells):
            if _released(cell.status):
                problem(f"cell {c}: released although the release audit withheld the whole table")
    elif entry.release_audit.protected_counts > 0 and entry.release_audit.narrowest_interval < policy.threshold:
        problem(f"the release audit left a protected count an interval {entry.release_audit.narrowest_interval} "
                f"wide, narrower than the threshold {policy.threshold}")
    for d in range(len(table.dimensions)):
        lines: Dict[Tuple[str, ...], List[int]] = defaultdict(lambda: [0, 0, 0])  # margin, unknown, members
        for key, cell in cells.items():
            line = lines[key[:d] + ("*",) + key[d + 1:]]
            line[1] += not _released(cell.status)
            if key[d] == "*":
                line[0] = 1
            else:
                line[2] += 1
        for line_key, (margin, unknown, members) in sorted(lines.items()):
            if margin and members > 0 and unknown == 1:
                problem(f"line of margin ({','.join(line_key)}) has exactly one suppressed cell: it can be "
                        "recovered by subtraction")


def _replay_budget(index: int, entry: pb.LogEntry, spent: Dict[str, int], result: LogVerification) -> None:
    dp = entry.policy.mode == pb.DisclosurePolicy.DP
    if not entry.HasField("table"):
        return
    if not dp:
        if entry.HasField("privacy"):
            result.problems.append(LogProblem(index, "budget", f"entry {entry.index} (project {entry.project}): a charge outside dp mode"))
        return
    charge = entry.privacy
    fail = f"entry {entry.index} (project {entry.project}): "
    if not entry.HasField("privacy"):
        result.problems.append(LogProblem(index, "budget", fail + "a dp answer without a privacy charge"))
        return
    if charge.budget_micro != entry.policy.dp.budget_micro:
        result.problems.append(LogProblem(index, "budget", fail + "the charge's budget is not the policy's"))
    expected = 0 if charge.repeat else entry.policy.dp.epsilon_per_query_micro
    if charge.charged_micro != expected:
        result.problems.append(LogProblem(index, "budget", fail + "charged other than the policy's epsilon per query"
                                          if not charge.repeat else fail + "a repeat was charged"))
    total = spent.get(entry.project, 0) + charge.charged_micro
    if charge.spent_micro != total:
        result.problems.append(LogProblem(index, "budget", fail + f"says {charge.spent_micro} micro-epsilon spent; "
                                          f"the log adds up to {total}"))
    if total > charge.budget_micro:
        result.problems.append(LogProblem(index, "budget", fail + "spent more than the budget"))
    spent[entry.project] = total
    result.budgets[entry.project] = total


def verify_log(entries: Sequence[bytes], checkpoint_note: str, verifier: Union[NoteVerifier, str],
               earlier_checkpoint: Optional[str] = None) -> LogVerification:
    """Verifies a fetched log offline; ``verifier`` is the pinned key (a
    NoteVerifier or its text). Every problem names its entry and check."""
    if isinstance(verifier, str):
        verifier = NoteVerifier(verifier)
    result = LogVerification(entries=len(entries))
    leaves = [leaf_hash(e) for e in entries]
    spent: Dict[str, int] = {}
    for i, raw in enumerate(entries):
        entry = pb.LogEntry()
        try:
            entry.ParseFromString(raw)
        except DecodeError:
            result.problems.append(LogProblem(i, "parse", "not a LogEntry"))
            continue
        if entry.index != i:
            result.problems.append(LogProblem(i, "sequence", f"entry says it is number {entry.index} (entries "
                                              "dropped, inserted or reordered)"))
        if entry.HasField("table"):
            result.released_tables += 1
            _replay_policy(i, entry, result)
        else:
            result.refusals += 1
        _replay_budget(i, entry, spent, result)
    try:
        checkpoint = verifier.verify(checkpoint_note)
    except InvalidArgument as e:
        result.problems.append(LogProblem(-1, "checkpoint", e.message))
        return result
    result.checkpoint_size = checkpoint.size
    if checkpoint.size > len(entries):
        result.problems.append(LogProblem(-1, "checkpoint", f"the checkpoint covers {checkpoint.size} entries but "
                                          f"the log has {len(entries)} (entries were removed)"))
    else:
        root = merkle_root(leaves[:checkpoint.size])
        result.root_hex = root.hex()
        if root != checkpoint.root:
            result.problems.append(LogProblem(-1, "checkpoint", f"the log's first {checkpoint.size} entries do not "
                                              "hash to the signed root (an entry was altered, dropped or reordered)"))
        if checkpoint.size < len(entries):
            result.problems.append(LogProblem(checkpoint.size, "checkpoint", f"{len(entries) - checkpoint.size} "
                                              "entries are not covered by the signed checkpoint"))
    if earlier_checkpoint is not None:
        try:
            earlier = verifier.verify(earlier_checkpoint)
        except InvalidArgument as e:
            result.problems.append(LogProblem(-1, "consistency", f"earlier checkpoint: {e.message}"))
            return result
        if earlier.size > len(entries):
            result.problems.append(LogProblem(-1, "consistency", f"the earlier checkpoint covers {earlier.size} "
                                              f"entries; the log now has only {len(entries)} (truncated)"))
        elif merkle_root(leaves[:earlier.size]) != earlier.root:
            result.problems.append(LogProblem(-1, "consistency", f"the log's first {earlier.size} entries no longer "
                                              "match the earlier checkpoint (history rewritten)"))
    return result
