"""How a warned area leaves the warning: passed, all-clear or error (`leave`), and the decisive let-go of a
wrong boost-phase alert (`LetGo`), for triwarn.warn.machine.

The ordinary let-go waits: an area goes only min_hold_s after it went on and off_hold_s after its risk
fell below off_probability (WarnPolicy), because an area the ground track only clips drops out of single
assessment cycles and flapping alerts are worse than late all-clears. A shelter order that came from
while the motor was burning (the boost-phase probability layer, or a cut-off path's band) is different:
when the motor has stopped, the ballistic prediction that takes over says where the object will fall,
and when that fall and the path to it are clear of the area, the alert was wrong and waiting tells
people nothing (issue 13: the correction within 10 s of the evidence). The decisive let-go acts then,
and only then:

  - every track of the area's alert is ballistic now (a trusted ballistic impact prediction newer than
    its last powered record: thrust ended), that prediction's own area risks (its cycle's, before the
    assessment's settling discount, which holds back alerts, not let-gos) leave the area below
    off_probability, and the ground path from the object to the predicted fall, extended by the fall
    ellipse's semi-major axis, stays letgo_path_margin_m clear of the area: the object is not still
    heading there (a cut-off path's areas are held for that reason, WarnPolicy.trust_cutoff_path);
  - a lost track so judged is judged on its last prediction only if it was last seen over the sea: a
    track lost over land stays a threat;
  - the area was put on by powered risks only (no trusted ballistic risk of its tracks ever reached
    on_probability: a ballistic alert's risk wobbling is ordinary noise), nothing of the incident
    holds it (its probability over every track is below off_probability, no separated piece flies over
    it), and an operator did not pin it.
Then the area is all-cleared at once, its reason saying why in every language ("thrust_ended_short" or
"lost_at_sea" when the predicted fall is at sea, else "no_longer_at_risk") and a note with the point,
and when nothing else of the incident remains the machine sends a Cancel instead (WarningMachine._evaluate). The passage
rules are untouched: "passed" only when seen past.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import shapely
import shapely.affinity
from shapely.geometry import LineString

from triwarn.geo.areas_names import AREA_NAMES
from triwarn.records.events import AreaRisk, ImpactPrediction, ObjectRole, WarnInput
from triwarn.warn.geometry import MEAN_EARTH_RADIUS_M, unit

if TYPE_CHECKING:
    from triwarn.warn.incident import Incident, IncidentArea, Track
    from triwarn.warn.machine import WarningMachine

PATH_POINTS = 64  # points along the ground path from the object to its predicted fall (the test's resolution)
CYCLES_KEPT = 8  # area-risk cycles kept per track while waiting for their prediction
STAGING_S = 10.0  # a track first seen this soon before another's thrust end, or after it, may be its next stage


@dataclass
class Evidence:
    """What one track's records say about its motor and its ballistic fall (LetGo)."""

    powered_t: float = -math.inf  # its latest powered record (corridor, cut-off path, boost layer)
    impact: ImpactPrediction | None = None  # its latest trusted ballistic prediction that starts a cycle
    cycles: dict[float, dict[str, float]] = field(default_factory=dict)  # t -> area -> ballistic probability
    powered_on: set[str] = field(default_factory=set)  # areas its trusted powered risks put on
    ballistic_on: set[str] = field(default_factory=set)  # areas its trusted ballistic risks put on

    def ballistic(self) -> bool:
        """Thrust ended: the newest trusted ballistic prediction is newer than every powered record."""
        return self.impact is not None and self.impact.t > self.powered_t


class LetGo:
    """The decisive let-go of one machine (module doc): evidence per track, notes per incident."""

    def __init__(self, machine: WarningMachine) -> None:
        self.m = machine
        self.evidence: dict[str, Evidence] = {}
        self.wrong: dict[str, set[str]] = {}  # per incident, the areas let go decisively
        self.notes: dict[str, list[str]] = {}  # per incident, this step's explanations
        self._land: np.ndarray | None = None  # the issuer's areas' outlines (land and territorial sea)

    def observe(self, rec: WarnInput) -> None:
        """Take one record (before the incident book does)."""
        if not isinstance(rec, (AreaRisk, ImpactPrediction)):
            return
        pol, ev = self.m.policy, self.evidence.setdefault(rec.track, Evidence())
        if rec.powered:
            ev.powered_t = max(ev.powered_t, rec.t)
            if isinstance(rec, AreaRisk) and rec.probability >= pol.on_probability and self.m.book.trusted(rec):
                ev.powered_on.add(rec.area)
            return
        if isinstance(rec, ImpactPrediction):
            if rec.quality >= pol.min_quality and not rec.areas_held and (ev.impact is None or rec.t >= ev.impact.t):
                ev.impact = rec
                self._cycle(ev, rec.t)  # its areas were assessed: one it names none of is at no risk
            return
        if rec.implausible or (rec.role == ObjectRole.SEPARATED and rec.kind == "overflight"):
            return
        # Every quality: a settling cycle's risks are discounted to hold back alerts; for letting go, an area
        # the prediction still names at off_probability or more is still at risk.
        cycle = self._cycle(ev, rec.t)
        cycle[rec.area] = max(cycle.get(rec.area, 0.0), rec.probability)
        if rec.probability >= pol.on_probability and self.m.book.trusted(rec):
            ev.ballistic_on.add(rec.area)

    @staticmethod
    def _cycle(ev: Evidence, t: float) -> dict[str, float]:
        cycle = ev.cycles.setdefault(t, {})
        if len(ev.cycles) > CYCLES_KEPT:
            del ev.cycles[min(ev.cycles)]
        return cycle

    def forget(self, open_tracks: set[str]) -> None:
        """Drop the evidence of tracks no open incident holds."""
        self.evidence = {k: v for k, v in self.evidence.items() if k in open_tracks}

    def release_short(self, inc: Incident, now: float) -> None:
        """Drop the cut-off path holds of the areas each track's ballistic fall decisively leaves."""
        for trk in inc.tracks.values():
            # Only short of it: an area beside the path (the band's edge) passes or clears as before, since a
            # multi-stage vehicle's spent stage turns ballistic while the next one burns on another track.
            for code in [c for c in trk.held if self._clear_of(inc, trk, c, now, short_only=True) is not None]:
                del trk.held[code]

    def decide(self, inc: Incident, area: IncidentArea, credited: list[Track], now: float) -> str | None:
        """The clear reason if the area is to be let go now (module doc), else None. Records the
        explanation for the step's message."""
        support = [self.evidence.get(t) for t in area.support]
        if not any(e is not None and area.code in e.powered_on for e in support):
            return None
        if any(e is not None and area.code in e.ballistic_on for e in support):
            return None
        flying = [t for t in credited if not self.m.book.flight_over(t, now)]
        whys = [self._clear_of(inc, t, area.code, now) for t in flying]
        if not flying or any(w is None for w in whys):
            return None
        self.wrong.setdefault(inc.name, set()).add(area.code)
        reasons = {w[0] for w in whys if w is not None}
        reason = reasons.pop() if len(reasons) == 1 else "no_longer_at_risk"
        why = whys[0][1] if whys[0] is not None else ""
        note = self.notes.setdefault(inc.name, [])
        if why not in note:
            note.append(why)
        return reason

    def note(self, inc: Incident) -> str | None:
        """This step's explanations for the incident, taken (None when nothing was let go decisively)."""
        parts = self.notes.pop(inc.name, None)
        return " ".join(parts) if parts else None

    def all_wrong(self, inc: Incident) -> bool:
        """Every area of the incident was let go decisively or is in error: the thread told nothing true."""
        wrong = self.wrong.get(inc.name, set())
        return bool(wrong) and all(a.state == "error" or (a.state == "clear" and c in wrong)
                                   for c, a in inc.areas.items())

    def _clear_of(self, inc: Incident, trk: Track, code: str, now: float, *,
                  short_only: bool = False) -> tuple[str, str] | None:
        """Why the track's ballistic fall is decisively clear of the area (the clear reason, one of
        records.warnings.CLEAR_REASONS, and the note), or None when it is not (short_only: only when it
        falls short of the area along its course)."""
        pol, book = self.m.policy, self.m.book
        ev = self.evidence.get(trk.track_id)
        if ev is None or not ev.ballistic() or not trk.obs:
            return None
        imp = ev.impact
        if any(o.powered_t >= imp.t for t, o in self.evidence.items() if t in inc.tracks):
            return None  # something of the incident burns still (the next stage, on a track of its own)
        if any(o is not trk and not o.discredited and o.object != ObjectRole.SEPARATED and not book.is_lost(o, now)
               and o.first_t >= ev.powered_t - STAGING_S for o in inc.tracks.values()):
            return None  # a new track at its thrust end may be the next stage, not yet seen burning
        cycle = ev.cycles.get(imp.t)
        if cycle is None or cycle.get(code, 0.0) >= pol.off_probability:
            return None  # no area cycle of that prediction yet, or it still names the area
        last = trk.obs[-1]
        lost = book.is_lost(trk, now)
        if lost and self._on_land(last.lat_deg, last.lon_deg):
            return None  # a track lost over land stays a threat
        geom = self.m.passage.geometry(code)
        if geom is None or geom.is_empty:
            return None
        reach = imp.semi_major_m
        if _gap_m(geom, last.lat_deg, last.lon_deg, imp.lat_deg, imp.lon_deg, reach) < pol.letgo_path_margin_m:
            return None  # still heading there, or falling near it
        course = _off_course(geom, trk, imp, reach + pol.letgo_path_margin_m, pol.letgo_path_margin_m)
        if course is None or (short_only and course != "short"):
            return None
        where = f"{abs(imp.lat_deg):.1f}{'N' if imp.lat_deg >= 0 else 'S'} " \
                f"{abs(imp.lon_deg):.1f}{'E' if imp.lon_deg >= 0 else 'W'}"
        at_sea = not self._on_land(imp.lat_deg, imp.lon_deg)
        fall = f"the predicted fall ({where}){' is at sea and' if at_sea else ''} is clear of the areas all-cleared"
        if lost:
            return ("lost_at_sea" if at_sea else "no_longer_at_risk",
                    f"Radar lost the missile over the sea after its thrust ended; {fall}.")
        if course == "short":
            return "thrust_ended_short" if at_sea else "no_longer_at_risk", f"Thrust ended short: {fall}."
        return "no_longer_at_risk", f"Thrust ended: the predicted path passes beside the areas all-cleared and {fall}."

    def _on_land(self, lat_deg: float, lon_deg: float) -> bool:
        """Inside one of the issuer's areas (land and territorial sea)."""
        if self._land is None:
            codes = self.m.area_codes or tuple(AREA_NAMES)
            self._land = np.array([g for g in (self.m.passage.geometry(c) for c in codes)
                                   if g is not None and not g.is_empty])
        return bool(self._land.size) and bool(shapely.contains_xy(self._land, lon_deg, lat_deg).any())


def _gap_m(geom, lat0_deg: float, lon0_deg: float, lat1_deg: float, lon1_deg: float, extend_m: float) -> float:
    """Distance (m) from the area to the ground path from (lat0, lon0) to (lat1, lon1) extended beyond the
    latter by extend_m, on the sphere: the path is sampled along the great circle and both are projected
    onto the area's local plane (equirectangular about its centroid; a few per cent over 1,000 km)."""
    a, b = unit(lat0_deg, lon0_deg), unit(lat1_deg, lon1_deg)
    ang = float(np.arccos(np.clip(a @ b, -1.0, 1.0)))
    if ang < 1e-9:
        pts = a[None, :]
    else:
        total = ang + extend_m / MEAN_EARTH_RADIUS_M
        s = np.linspace(0.0, total, PATH_POINTS)[:, None]
        pts = (np.sin(ang - s) * a + np.sin(s) * b) / np.sin(ang)
    lat = np.degrees(np.arcsin(np.clip(pts[:, 2], -1.0, 1.0)))
    lon = np.degrees(np.arctan2(pts[:, 1], pts[:, 0]))
    c = geom.centroid
    lon = (lon - c.x + 180.0) % 360.0 + c.x - 180.0  # the path's longitudes next to the area's
    k = MEAN_EARTH_RADIUS_M * math.pi / 180.0
    cos0 = math.cos(math.radians(c.y))
    plane = shapely.affinity.affine_transform(geom, [k * cos0, 0.0, 0.0, k, -k * cos0 * c.x, -k * c.y])
    line = LineString(np.column_stack([k * cos0 * (lon - c.x), k * (lat - c.y)])) if len(lat) > 1 else \
        shapely.Point(k * cos0 * (lon[0] - c.x), k * (lat[0] - c.y))
    return float(plane.distance(line))


def _off_course(geom, trk: Track, imp: ImpactPrediction, reach_m: float, margin_m: float) -> str | None:
    """Along the observed course (the great circle through the last observed ground point in the direction
    of travel), the area lies beyond the predicted fall plus reach_m ("short"), or at least margin_m to one
    side of the course ("beside"); None when neither, or when the course cannot be judged (fewer than two
    observations, no movement)."""
    if len(trk.obs) < 2:
        return None
    prev, last = trk.obs[-2], trk.obs[-1]
    here = unit(last.lat_deg, last.lon_deg)
    step = here - unit(prev.lat_deg, prev.lon_deg)
    ahead = step - (step @ here) * here
    norm = float(np.linalg.norm(ahead))
    if norm == 0.0:
        return None
    ahead /= norm
    side = np.cross(here, ahead)
    lon, lat = [], []
    for part in getattr(geom, "geoms", [geom]):
        if not part.is_empty:
            xy = np.asarray(part.convex_hull.exterior.coords if part.convex_hull.geom_type == "Polygon"
                            else part.convex_hull.coords)
            lon.append(xy[:, 0])
            lat.append(xy[:, 1])
    pts = unit(np.concatenate(lat), np.concatenate(lon))
    along = MEAN_EARTH_RADIUS_M * np.arctan2(pts @ ahead, pts @ here)
    cross = MEAN_EARTH_RADIUS_M * np.arcsin(np.clip(pts @ side, -1.0, 1.0))
    fall = unit(imp.lat_deg, imp.lon_deg)
    fall_along = MEAN_EARTH_RADIUS_M * float(np.arctan2(fall @ ahead, fall @ here))
    if float(along.min()) > fall_along + reach_m:
        return "short"
    return "beside" if (cross > margin_m).all() or (cross < -margin_m).all() else None


def leave(m: WarningMachine, inc: Incident, area: IncidentArea, p: float, now: float) -> None:
    """Move an active area to passed, clear or error when the evidence says so; p is its current
    probability over the tracks that count (WarningMachine's rules, docs/warnings.md)."""
    pol, book, passage = m.policy, m.book, m.passage
    if p < pol.off_probability:
        area.low_since_t = now if area.low_since_t is None else area.low_since_t
    else:
        area.low_since_t = None
    tracks = [inc.tracks[t] for t in area.support if t in inc.tracks]
    credited = [t for t in tracks if not t.discredited]
    # A lost track continued by a live one is that one from now on (one object, two system tracks).
    credited = list({id(c): c for c in (book.continuer(inc, t) for t in credited)}.values())
    pinned = (inc.name, area.code) in m.pinned  # added by an operator (triwarn.warn.correction)
    if tracks and not credited and not pinned:
        area.state, area.reason = "error", "separated_piece"
        return
    # Every track that ever put the area at risk and may still be flying must be seen past it: a lost
    # track is never past anything, whatever its predicted time.
    flying = [t for t in credited if not book.flight_over(t, now)]
    was_passed = area.state == "passed"
    again = inc.cleared_after_passage.get(area.code)
    if again is not None and area.state == "shelter" and all(
            passage.along_m(area.code, t) is None or passage.seen_past(area.code, t, pol.pass_margin_m)
            for t in flying):
        # Cleared after the object passed, then put at risk again by tracks seen past it already (the
        # same objects under new tracks), or not yet seen enough to tell: the state stands, with the
        # reason it was cleared for. A track seen short of the area alerts it again a step later.
        area.state, area.reason = "clear", again
        return
    if credited and all(book.flight_over(t, now) for t in credited):
        lost = any(book.is_lost(t, now) and not book.has_landed(t, now) for t in credited)
        if area.state == "passed" or not lost:
            area.state, area.reason = "clear", "landed"
        else:
            area.state, area.reason = "clear", "lost_no_threat"
        if was_passed:
            inc.cleared_after_passage[area.code] = area.reason
        return
    if area.state == "passed":
        if flying and all(passage.seen_past(area.code, t, pol.beyond_margin_m) for t in flying):
            area.state, area.reason = "clear", "beyond"
            inc.cleared_after_passage[area.code] = area.reason
        return
    if area.state == "shelter" and flying and all(passage.seen_past(area.code, t, pol.pass_margin_m) for t in flying):
        area.state, area.reason = "passed", None
        for t in flying:
            t.past.add(area.code)
        return
    if pol.decisive_letgo and not pinned and area.state == "shelter" and p < pol.off_probability and not area.passing:
        reason = m.letgo.decide(inc, area, credited, now)
        if reason is not None:  # a wrong boost-phase alert (module doc)
            area.state, area.reason = "clear", reason
            return
    if (not pinned and p < pol.off_probability and now - area.on_since_t >= pol.min_hold_s
            and now - area.low_since_t >= pol.off_hold_s):
        # A prediction that drops the area while the object is passing it must not pre-empt the
        # observed passage: wait until it is seen past.
        if area.passing:  # a separated piece still flies over it: wait until it is past
            return
        if not any(passage.alongside(area.code, t) for t in flying if not book.is_lost(t, now)):
            area.state, area.reason = "clear", "no_longer_at_risk"


def passing(m: WarningMachine, inc: Incident, now: float) -> dict[str, set[str]]:
    """Per area, the separated pieces of the incident whose last cycle flies over it and whose flight
    is not over (replayed 2022-10-04 IRBM with sharing: Japan's track of the spent first stage, labelled a
    separated piece, was over JP-02 when JP-02 was all-cleared on the warhead alone)."""
    if m.policy.separated_overflight:  # then they count as risks already
        return {}
    out: dict[str, set[str]] = {}
    for trk in inc.tracks.values():
        if trk.object != ObjectRole.SEPARATED or not trk.passing or trk.discredited:
            continue
        if m.book.object_down(inc, trk, now):
            continue
        for code in trk.passing:
            if code not in trk.past:  # a piece seen past an area holds it no longer
                out.setdefault(code, set()).add(trk.track_id)
    return out


__all__ = ["Evidence", "LetGo", "leave", "passing"]
