"""Notices for falls at sea per falling object, checked against the declared hazard zones (issue 14).

A notified launch (a satellite launch vehicle: the navigational warning declares zones where its first
stage, fairing and second stage will fall; geo.hazard_zones) sheds pieces that fall at sea one after
the other, minutes and hundreds of kilometres apart. With the zones in the policy (WarnPolicy.hazard_notice)
the warning machine therefore tells each fall on its own: one notice per falling object, aimed at the sea
round its predicted point (never at a prefecture's residents), saying whether the point lies inside a
declared zone (named) or how far outside the nearest one it is.

A fall gets a notice when:
  - its track's latest ballistic prediction is trustworthy: quality at least min_quality, not flagged
    short_track or implausible_state, and the track seen for at least short_track_s (the real failure of
    2023-04-13: a short track of a separated piece predicted a fall on land);
  - the predicted point is at sea (outside every area's land and territorial sea) and within
    fall_notice_within_m of the issuer's areas;
  - the object has not come down yet (a notice after the fall tells nobody anything).
A later prediction of the same fall replaces the notice (an Update) only when the point moves by
fall_notice_moved_m or the zone verdict changes; a fall within fall_notice_moved_m of one already told
(the same object under a new track) is the same fall. Falls on land are shelter matters (the machine's
area risks), never notices.

Distances are geodesic (WGS84); area outlines are lon/lat degrees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from triwarn.geo.geodesic import inverse
from triwarn.geo.hazard_zones import HazardNotice
from triwarn.records.events import ImpactPrediction
from triwarn.records.warnings import ImpactSummary, Reference

SEA_SUFFIX = "/sea"  # a piece notice's area code: the nearest area's code plus this (never the area itself)
SAME_FALL_S = 60.0  # two predictions of one fall: times within this (and points within fall_notice_moved_m)


@dataclass(frozen=True)
class PieceFall(ImpactSummary):
    """The predicted fall a piece notice is about: the impact summary plus the object's track, the area
    named for orientation (near_area), and the zone verdict: the zone the point lies in (inside) or the
    nearest zone (zone_km from it), the piece that zone was declared for (zone_piece, e.g. "stage1")."""

    track: str = ""
    near_area: str = ""
    near_km: float = 0.0
    zone: str | None = None
    zone_piece: str | None = None
    inside: bool = False
    zone_km: float | None = None

    @property
    def verdict(self) -> tuple[str | None, bool]:
        return self.zone, self.inside


@dataclass(frozen=True)
class ToldFall:
    """A fall told by a standing notice: where, when, its zone verdict and the message."""

    track: str
    lat_deg: float
    lon_deg: float
    time_unix_s: float
    verdict: tuple[str | None, bool]
    reference: Reference


def zone_verdict(notice: HazardNotice | None, lat_deg: float, lon_deg: float
                 ) -> tuple[str | None, str | None, bool, float | None]:
    """(zone label, the piece it is declared for, inside, km outside) of a point against the declared
    zones: the zone containing it, else the nearest; all None/False without a notice."""
    if notice is None or not notice.zones:
        return None, None, False, None
    inside = next((z for z in notice.zones if z.contains(lat_deg, lon_deg)), None)
    if inside is not None:
        return inside.label, inside.role, True, 0.0
    km = [(z.distance_km(lat_deg, lon_deg), z) for z in notice.zones]
    d, z = min(km, key=lambda x: x[0])
    return z.label, z.role, False, d


class SeaReach:
    """The issuer's areas (land plus territorial sea) as one lookup: whether a point is at sea, and the
    nearest area with its geodesic distance."""

    def __init__(self, codes: Iterable[str], geometry: Callable[[str], BaseGeometry | None]) -> None:
        pairs = [(c, g) for c in codes if (g := geometry(c)) is not None and not g.is_empty]
        self.codes = [c for c, _ in pairs]
        self._geoms = np.array([g for _, g in pairs], dtype=object)

    def nearest(self, lat_deg: float, lon_deg: float) -> tuple[str, float] | None:
        """(area code, km) of the nearest area, 0 km when the point is on its land or territorial sea;
        None when no area has an outline."""
        if not self.codes:
            return None
        pt = Point(lon_deg, lat_deg)
        deg = shapely.distance(self._geoms, pt)  # degrees: good enough to pick the nearest
        k = int(np.argmin(deg))
        if deg[k] == 0.0:
            return self.codes[k], 0.0
        near = nearest_points(self._geoms[k], pt)[0]
        dist_m, _ = inverse(lat_deg, lon_deg, near.y, near.x)
        return self.codes[k], float(dist_m) / 1e3


def trustworthy(imp: ImpactPrediction, seen_s: float, *, min_quality: float, min_seen_s: float) -> bool:
    """Whether a ballistic prediction may be told to the public as a fall: trusted quality, not from a
    short or implausible track, from a track seen for at least min_seen_s."""
    return (not imp.powered and imp.quality >= min_quality and not imp.short and not imp.implausible
            and seen_s >= min_seen_s)


def piece_fall(imp: ImpactPrediction, track: str, near: tuple[str, float],
               notice: HazardNotice | None) -> PieceFall:
    zone, piece, inside, km = zone_verdict(notice, imp.lat_deg, imp.lon_deg)
    return PieceFall(imp.lat_deg, imp.lon_deg, imp.time_unix_s, imp.semi_major_m, imp.semi_minor_m,
                     imp.orientation_deg, imp.confidence, False, track=track, near_area=near[0],
                     near_km=near[1], zone=zone, zone_piece=piece, inside=inside, zone_km=km)


def same_fall(told: ToldFall, fall: PieceFall, moved_m: float) -> bool:
    """A standing notice tells this fall already (its track's, or another track's within reach)."""
    d, _ = inverse(told.lat_deg, told.lon_deg, fall.lat_deg, fall.lon_deg)
    return float(d) < moved_m and (told.track == fall.track or abs(told.time_unix_s - fall.time_unix_s)
                                   <= SAME_FALL_S)


__all__ = ["SEA_SUFFIX", "PieceFall", "SeaReach", "ToldFall", "piece_fall", "same_fall", "trustworthy",
           "zone_verdict"]
