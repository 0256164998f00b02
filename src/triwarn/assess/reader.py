"""Reader of tracks.jsonl (the tracker's output, docs/formats.md) into national track tables, by time.

One JSON object a line: {"t", "track", "ecef_m": [3], "vel_ecef_mps": [3], "cov_ecef_m2": 6x6 (or 3x3
position only), "mode": "boost" | "ballistic", optional "quality", "boost_probability", "nation",
"lat_deg", "lon_deg", "alt_m"}. Blank lines are skipped. Any other problem stops the read with an
InputError that names the file, line and field. A 3x3 covariance gets a velocity variance of
VELOCITY_VAR_FALLBACK_M2_S2 (the tracker said nothing about velocity: assume it poorly known).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import msgspec
import numpy as np

from triwarn.errors import InputError
from triwarn.records.tracks import MODE_BOOST, MODES, NationalTracks

VELOCITY_VAR_FALLBACK_M2_S2 = 100.0**2


class _Record(msgspec.Struct, forbid_unknown_fields=False):
    t: float
    track: str | int
    ecef_m: list[float]
    vel_ecef_mps: list[float]
    cov_ecef_m2: list[list[float]]
    mode: str
    quality: float | None = None
    boost_probability: float | None = None
    nation: str | None = None


class TrackRow(NamedTuple):
    """One checked line: a row of a national track table."""

    nation: str
    track_id: str
    t_unix_s: float
    pos_ecef_m: np.ndarray
    vel_ecef_mps: np.ndarray
    cov_ecef_m2: np.ndarray
    boost: bool
    quality: float
    boost_probability: float


_decoder = msgspec.json.Decoder(_Record)


def _field_of(message: str) -> str | None:
    # msgspec says e.g. "Expected `float`, got `str` - at `$.ecef_m[0]`" or "missing required field `t`".
    if "- at `$." in message:
        return message.rsplit("- at `$.", 1)[1].rstrip("`")
    if "required field `" in message:
        return message.split("required field `", 1)[1].split("`", 1)[0]
    return None


def parse_line(line: bytes, source: str, lineno: int, default_nation: str) -> TrackRow:
    """One line to a TrackRow; InputError naming source, line and field on bad input."""
    try:
        rec = _decoder.decode(line)
    except msgspec.ValidationError as exc:
        msg = str(exc)
        raise InputError(msg.split(" - at ")[0], source=source, line=lineno, field=_field_of(msg)) from None
    except msgspec.DecodeError as exc:
        raise InputError(f"not valid JSON ({exc})", source=source, line=lineno) from None

    def bad(field: str, why: str) -> InputError:
        return InputError(why, source=source, line=lineno, field=field)

    if not np.isfinite(rec.t):
        raise bad("t", "must be a finite number of unix seconds")
    pos = np.asarray(rec.ecef_m, float)
    vel = np.asarray(rec.vel_ecef_mps, float)
    for name, arr in (("ecef_m", pos), ("vel_ecef_mps", vel)):
        if arr.shape != (3,):
            raise bad(name, f"must hold 3 numbers, got {arr.size}")
        if not np.all(np.isfinite(arr)):
            raise bad(name, "must be finite")
    try:
        cov_in = np.asarray(rec.cov_ecef_m2, float)
    except ValueError:
        raise bad("cov_ecef_m2", "must be a 6x6 or 3x3 matrix (ragged rows)") from None
    if cov_in.shape == (3, 3):
        cov = np.zeros((6, 6))
        cov[:3, :3] = cov_in
        cov[3:, 3:] = np.eye(3) * VELOCITY_VAR_FALLBACK_M2_S2
    elif cov_in.shape == (6, 6):
        cov = cov_in
    else:
        raise bad("cov_ecef_m2", f"must be a 6x6 or 3x3 matrix, got shape {cov_in.shape}")
    if not np.all(np.isfinite(cov)):
        raise bad("cov_ecef_m2", "must be finite")
    if not np.allclose(cov, cov.T, rtol=1e-6, atol=1e-9 * max(1.0, float(np.abs(cov).max()))):
        raise bad("cov_ecef_m2", "must be symmetric")
    eig = np.linalg.eigvalsh(cov)
    if eig[0] < -1e-9 * max(1.0, eig[-1]) or eig[-1] <= 0.0:
        raise bad("cov_ecef_m2", "must be positive semi-definite and not zero")
    if rec.mode not in MODES:
        raise bad("mode", f"must be one of {', '.join(MODES)}, got {rec.mode!r}")
    if rec.quality is not None and not (0.0 <= rec.quality <= 1.0):
        raise bad("quality", "must be in [0, 1]")
    if rec.boost_probability is not None and not (0.0 <= rec.boost_probability <= 1.0):
        raise bad("boost_probability", "must be in [0, 1]")
    nation = rec.nation if rec.nation else default_nation
    return TrackRow(nation, str(rec.track), float(rec.t), pos, vel, 0.5 * (cov + cov.T), rec.mode == MODE_BOOST,
                    np.nan if rec.quality is None else float(rec.quality),
                    np.nan if rec.boost_probability is None else float(rec.boost_probability))


def read_tracks(path: Path, default_nation: str) -> dict[float, NationalTracks]:
    """All tracks of a file, as {t: table of the tracks reported at t} (each row naming its nation, in
    file order). InputError if the file cannot be read."""
    by_time: dict[float, list[TrackRow]] = defaultdict(list)
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", source=str(path)) from None
    with fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            row = parse_line(line, str(path), lineno, default_nation)
            by_time[row.t_unix_s].append(row)
    return {t: _table(rows) for t, rows in by_time.items()}


def _table(rows: list[TrackRow]) -> NationalTracks:
    cols = TrackRow(*(list(col) for col in zip(*rows, strict=True)))
    return NationalTracks(cols.track_id, cols.t_unix_s, cols.pos_ecef_m, cols.vel_ecef_mps, cols.cov_ecef_m2,
                          boost=cols.boost, quality=cols.quality, boost_probability=cols.boost_probability,
                          nation=cols.nation)
