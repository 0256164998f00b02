"""truth.jsonl: the TruthLog record (true object states, one row per object per sample) and its reader.

Extra fields are ignored; a bad line raises InputError naming file, line and field (see docs/formats.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import numpy as np
from numpy.typing import NDArray

from triwarn.errors import InputError
from triwarn.sensors.jsonl_blocks import block_lines, decode_clean_block, line_blocks, open_for_reading
from triwarn.sensors.line_checks import Reject, decode_line, finite, vector3


class TruthLine(msgspec.Struct, omit_defaults=True):
    """One line of truth.jsonl, as read and written."""

    t: float | None = None
    object: str | None = None
    ecef_m: list[float] | None = None
    vel_ecef_mps: list[float] | None = None
    kind: str | None = None
    phase: str | None = None
    launch: str | None = None


@dataclass
class TruthLog:
    """Truth samples, one row per object per sample. object_idx indexes object_ids; SI units, ECEF.

    kind maps object id to "warhead" or "stage" (or "unknown"); phase is "boost" or "ballistic" per row
    ("" when the file did not say); launch maps object id to its launch id.
    """

    object_ids: list[str]
    t_unix_s: NDArray[np.float64]
    object_idx: NDArray[np.int32]
    pos_ecef_m: NDArray[np.float64]
    vel_ecef_mps: NDArray[np.float64]
    phase: NDArray[np.str_]
    kind: dict[str, str] = field(default_factory=dict)
    launch: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.t_unix_s)

    def object_rows(self, object_id: str) -> NDArray[np.intp]:
        """Row indices of one object's samples, in time order."""
        return np.flatnonzero(self.object_idx == self.object_ids.index(object_id))


def _truth_block_fast(recs: list[TruthLine], index_of: dict[str, int], kind: dict[str, str],
                      launch: dict[str, str]) -> tuple[NDArray, ...] | None:
    """Columns of a decoded block of truth lines, or None (nothing taken) if any line is bad."""
    try:
        t = np.array([r.t for r in recs], float)
        pos = np.array([r.ecef_m for r in recs], float)
        vel = np.array([r.vel_ecef_mps for r in recs], float)
    except (TypeError, ValueError):  # a missing field or a ragged vector
        return None
    n = len(recs)
    if pos.shape != (n, 3) or vel.shape != (n, 3) or t.shape != (n,):
        return None
    if not (np.isfinite(t).all() and np.isfinite(pos).all() and np.isfinite(vel).all()):
        return None
    objects = [r.object for r in recs]
    if None in objects:
        return None
    obj = np.empty(n, np.int32)
    for k, r in enumerate(recs):
        obj[k] = index_of.setdefault(r.object, len(index_of))
        if r.kind is not None:
            kind[r.object] = r.kind
        if r.launch is not None:
            launch[r.object] = r.launch
    phase = np.asarray([r.phase or "" for r in recs], dtype=np.str_)
    return t, obj, pos, vel, phase


def _truth_block_slow(raws: list[bytes], first: int, decoder: msgspec.json.Decoder, source: str,
                      index_of: dict[str, int], kind: dict[str, str], launch: dict[str, str]) -> tuple[NDArray, ...]:
    """Line by line: columns of the good lines; the first bad line raises InputError (file, line, field)."""
    t_l: list[float] = []
    o_l: list[int] = []
    p_l: list[list[float]] = []
    v_l: list[list[float]] = []
    ph_l: list[str] = []
    for lineno, raw in enumerate(raws, start=first):
        if not raw.strip():
            continue
        try:
            rec = decode_line(decoder, raw, TruthLine)
            for name in ("t", "object", "ecef_m", "vel_ecef_mps"):
                if getattr(rec, name) is None:
                    raise Reject("missing_field", name, "missing required field")
            finite(rec.t, "t")
            vector3(rec.ecef_m, "ecef_m")
            vector3(rec.vel_ecef_mps, "vel_ecef_mps")
        except Reject as rej:
            raise InputError(rej.why, source=source, line=lineno, field=rej.field_name) from None
        idx = index_of.setdefault(rec.object, len(index_of))
        if rec.kind is not None:
            kind[rec.object] = rec.kind
        if rec.launch is not None:
            launch[rec.object] = rec.launch
        t_l.append(rec.t)
        o_l.append(idx)
        p_l.append(rec.ecef_m)
        v_l.append(rec.vel_ecef_mps)
        ph_l.append(rec.phase or "")
    return (np.asarray(t_l, float), np.asarray(o_l, np.int32), np.asarray(p_l, float).reshape(-1, 3),
            np.asarray(v_l, float).reshape(-1, 3), np.asarray(ph_l, dtype=np.str_))


def read_truth(path: str | Path) -> TruthLog:
    """Read truth.jsonl. Extra fields are ignored; a bad line raises InputError naming file, line, field.

    Read a block of lines at a time (clean blocks decoded into arrays at once), so memory holds the
    columns and one block, never the file or a Python object per line.
    """
    path = Path(path)
    source = str(path)
    fh = open_for_reading(path, "truth")
    decoder = msgspec.json.Decoder(TruthLine)
    index_of: dict[str, int] = {}
    kind: dict[str, str] = {}
    launch: dict[str, str] = {}
    chunks: list[tuple[NDArray, ...]] = []
    with fh:
        for first, block in line_blocks(fh, source, "truth"):
            recs = decode_clean_block(decoder, block)
            cols = None if recs is None else _truth_block_fast(recs, index_of, kind, launch)
            del recs
            if cols is None:
                cols = _truth_block_slow(block_lines(block), first, decoder, source, index_of, kind, launch)
            chunks.append(cols)
    if not chunks or sum(len(c[0]) for c in chunks) == 0:
        raise InputError("truth file has no samples", source=source)
    t, obj, pos, vel, phase = (np.concatenate([c[k] for c in chunks]) for k in range(5))
    return TruthLog(list(index_of), t, obj, pos, vel, phase, kind, launch)
