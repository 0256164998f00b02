"""Operator pictures from the nodes' real step results: the adapter StepResult -> api.picture.Picture.

The UI's adapter, used by the live node's HTTP face (api/node_app.py) and by the demo and exercise
views. One `PictureFeed` per run serves every nation's view: `on_step(nation, result)` (a runner's
on_step callback) updates that nation's state (track trails, latest impact predictions and launch
points, area alert states and the alert log from the warnings it issued, incidents) and publishes the
nation's Picture to the PictureHub. Link status comes from the nation's node runner (`runners`: the
lockstep's NodeRunners, or the live node): its link_state (up / degraded / down, and why) and the time the
partner was last heard (any accepted message, heartbeats too), the very figures /api/health shows; the
lockstep's RunLog adds the last wall transit time. Without a runner (tests of the adapter alone) a
LinkModel-like `reachable(a, b, t)` says up or down.

Track kinds come from the assessment: the latest ImpactPrediction or AreaRisk of a track gives its
object role (records.events.ObjectRole): primary -> warhead, separated -> stage, unresolved -> unknown
with the reason; a track with no assessment yet is unknown, saying so.

Partners' assessments: the partners' latest impact reports (StepResult.partner_impacts) are shown
among the impacts, labelled with the partner nation ("kr:KR-T3": the partner's own track id), while
fresh (sent within PARTNER_REPORT_MAX_AGE_S of the step) and not yet past by more than that; a
partner's launch report gives the launch point of a system track that holds that partner's track
(SystemTracks.sources "NATION:track_id") and has no launch point of the nation's own.
Orbits (issue 14): the view's own orbit estimates (StepResult.orbits) of the tracks it holds and the
partners' recent ones (StepResult.partner_orbits, "NATION:track_id"), each with its ground track ahead and
the areas it crosses (api.picture_orbits); the scenario's declared hazard zones (hazard_notice) in every
view, and for each predicted fall the declared zone it is in or nearest.
A live node's feed (live=True) makes "live" pictures whose alert log carries CAP status Actual; an
exercise feed makes "exercise" pictures (status Exercise, "EXERCISE" in every headline). One feed is one
or the other for its whole life: a message of the other kind is refused (ValueError), never shown.
Degrees, metres and unix seconds, as in api/picture.py.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import msgspec
import numpy as np

from triwarn.api.picture import (
    AlertLogEntry,
    AreaAlert,
    ImpactView,
    IncidentView,
    LaunchView,
    LinkView,
    OrbitView,
    Picture,
    PictureHub,
    SharingGainView,
    TrackView,
)
from triwarn.api.picture_orbits import OrbitViews, hazard_zone_views, nearest_zone
from triwarn.geo.areas_names import AREA_NAMES
from triwarn.geo.hazard_zones import HazardNotice
from triwarn.geo.wgs84 import GM_M3_S2
from triwarn.node.core import StepResult
from triwarn.node.lockstep import LinkModel, RunLog
from triwarn.records.events import AreaRisk, ImpactPrediction, LaunchEvent, ObjectRole

TRAIL_POINTS = 60
PARTNER_REPORT_MAX_AGE_S = 30.0  # a partner's impact report older than this (clock s) leaves the picture
ORBIT_REPORT_MAX_AGE_S = 120.0  # a partner's orbit estimate older than this (epoch, clock s) leaves it
STATE_WORDS = {"shelter": "shelter", "notice": "notice", "passed": "passed", "clear": "all_clear",
               "error": "cancelled"}
KINDS = {ObjectRole.PRIMARY: ("warhead", ""), ObjectRole.SEPARATED: ("stage", ""),
         ObjectRole.UNRESOLVED: ("unknown", "not yet told apart from the other objects of its launch")}
NOT_ASSESSED = ("unknown", "not assessed yet")
GAIN_PENDING = ("alone: the no-sharing baseline runs beside the exercise in another process; its first alerts, "
                "the gains and why come when the exercise ends")
GAIN_NO_BASELINE = "no no-sharing baseline was run: no gain to show"
GAIN_FIELDS = frozenset(SharingGainView.__struct_fields__)
HEADLINE = {"shelter": "take shelter", "notice": "information notice", "passed": "missile passed",
            "clear": "all clear", "error": "cancelled, issued in error"}


@dataclass
class _View:
    trails: dict[str, deque] = field(default_factory=dict)
    launches: dict[str, LaunchView] = field(default_factory=dict)
    impacts: dict[str, ImpactView] = field(default_factory=dict)
    alerts: dict[str, AreaAlert] = field(default_factory=dict)
    log: list[AlertLogEntry] = field(default_factory=list)
    incidents: dict[str, IncidentView] = field(default_factory=dict)
    roles: dict[str, tuple[float, ObjectRole]] = field(default_factory=dict)  # track -> (event t, role)
    firsts: dict[str, dict[str, float]] = field(default_factory=dict)  # area -> {"shelter"|"notice": first sent}


class _Partner(Protocol):
    last_heard_unix_s: float | None


class LinkSource(Protocol):
    """What the feed asks a node's runner (NodeRunner, or LiveNode which delegates to its runner)."""

    partners: Mapping[str, _Partner]

    def link_state(self, partner: str, now_unix_s: float | None = None) -> tuple[str, str]: ...


class PictureFeed:
    """Builds and publishes each nation's picture from its node's step results (see module docstring)."""

    def __init__(self, hub: PictureHub, exercise_name: str, links: LinkModel | None = None,
                 run_log: RunLog | None = None, *, live: bool = False,
                 runners: Mapping[str, LinkSource] | None = None, hazard_notice: HazardNotice | None = None,
                 areas=None) -> None:
        if live and exercise_name:
            raise ValueError(f"a live picture feed has no exercise name (got {exercise_name!r})")
        self.live = live
        self.hub = hub
        self.exercise_name = exercise_name
        self.links = links if links is not None else LinkModel()
        self.run_log = run_log
        # nation -> its runner; may be filled after construction (run_lockstep fills the dict it is given)
        self.runners = runners if runners is not None else {}
        self.views: dict[str, _View] = {n: _View() for n in hub.nations}
        self.published = 0
        self.first_alert_unix_s: float | None = None
        # The scenario's declared hazard zones (geo.hazard_zones), shown in every view; areas: the AreaIndex
        # for the areas an orbit's ground track crosses (None: loaded when the first orbit appears).
        self.hazard_notice = hazard_notice
        self._zones = hazard_zone_views(hazard_notice)
        self._areas = areas
        self._orbit_views: OrbitViews | None = None
        # The exercise's sharing gain: shown once attach() says a run with a no-sharing baseline feeds this
        # feed; per nation once the run has reported it (on_exercise_end), and why none.
        self.gain_expected = False
        self._gain_final: dict[str, list[SharingGainView]] | None = None
        self._gain_note = ""

    def attach(self, opts) -> None:
        """Feed on an exercise run: opts is its exercise.engine.ExerciseOptions. Adds on_step to its step
        callbacks and on_exercise_end to its end callbacks, and shows the sharing gain when the run has a
        no-sharing baseline."""
        opts.on_step.append(self.on_step)
        opts.on_end.append(self.on_exercise_end)
        self.gain_expected = bool(opts.baseline) and not self.live

    def on_step(self, nation: str, res: StepResult) -> None:
        if nation not in self.views:
            return
        self.hub.publish_nowait(self.picture(nation, res))
        self.published += 1

    def picture(self, nation: str, res: StepResult) -> Picture:
        """Update nation's view with one step's result and return its picture at res.t_unix_s."""
        v = self.views[nation]
        t = res.t_unix_s
        for ev in res.events:
            if isinstance(ev, LaunchEvent):
                v.launches[ev.track] = LaunchView(ev.lat_deg, ev.lon_deg, ev.time_unix_s)
            elif isinstance(ev, ImpactPrediction):
                ground = [(float(p[0]), float(p[1])) for p in (ev.corridor or [])]
                zone, zone_km = nearest_zone(self.hazard_notice, ev.lat_deg, ev.lon_deg) if not ev.powered \
                    else ("", None)
                v.impacts[ev.track] = ImpactView(
                    track=ev.track, lat_deg=ev.lat_deg, lon_deg=ev.lon_deg, time_unix_s=ev.time_unix_s,
                    semi_major_m=ev.semi_major_m, semi_minor_m=ev.semi_minor_m,
                    orientation_deg=ev.orientation_deg % 360.0, powered=ev.powered, ground_track=ground,
                    zone=zone, zone_km=zone_km)
            if isinstance(ev, ImpactPrediction | AreaRisk) and ev.track:
                prev = v.roles.get(ev.track)
                if prev is None or ev.t >= prev[0]:
                    v.roles[ev.track] = (ev.t, ev.role)
        tracks = []
        st = res.system_tracks  # records.tracks.SystemTracks: one row per system track
        ids = st.track_id.tolist()
        live = set(ids)
        if ids:
            lat, lon, alt = st.lat_deg.tolist(), st.lon_deg.tolist(), st.alt_m.tolist()
            speed = np.linalg.norm(st.vel_ecef_mps, axis=1).tolist()
            boost = st.boost.tolist()
            for i, tid in enumerate(ids):
                trail = v.trails.setdefault(tid, deque(maxlen=TRAIL_POINTS))
                trail.append((t, lat[i], lon[i], alt[i]))
                role = v.roles.get(tid)
                kind, why = KINDS.get(role[1], NOT_ASSESSED) if role is not None else NOT_ASSESSED
                tracks.append(TrackView(
                    id=tid, lat_deg=lat[i], lon_deg=lon[i], alt_m=alt[i], speed_mps=speed[i],
                    mode="boost" if boost[i] else "ballistic", kind=kind, kind_reason=why,
                    nations=[n for n in st.nations[i] if n in ("us", "jp", "kr")],
                    trail=list(trail), launch=v.launches.get(tid)))
        for gone in [k for k in v.trails if k not in live]:
            del v.trails[gone]
        for gone in [k for k in v.roles if k not in live]:
            del v.roles[gone]
        v.impacts = {k: imp for k, imp in v.impacts.items() if k in live}
        tracks = self._partner_launches(tracks, res)
        for m in res.warnings:
            self._warning(v, m)
        return Picture(nation=nation, t_unix_s=t, mode="live" if self.live else "exercise",
                       exercise_name=None if self.live else self.exercise_name,
                       tracks=tracks, impacts=list(v.impacts.values()) + self._partner_impacts(nation, res),
                       alerts=list(v.alerts.values()),
                       alert_log=list(v.log), links=self._links(nation, t), incidents=list(v.incidents.values()),
                       orbits=self._orbits(nation, res, live), hazard_zones=self._zones,
                       **self._sharing_gain(nation))

    def _sharing_gain(self, nation: str) -> dict:
        """The Picture's sharing_gain fields for a view: the run's reported rows once it has ended, before
        that the view's own first alerts with sharing (the baseline's come at the end); none when live."""
        if self.live or not (self.gain_expected or self._gain_final is not None):
            return {}
        if self._gain_final is not None:
            return {"sharing_gain": self._gain_final.get(nation, []), "sharing_gain_final": True,
                    "sharing_gain_note": self._gain_note}
        firsts = self.views[nation].firsts
        rows = [SharingGainView(node=nation, area=code, first_shelter_shared_unix_s=f.get("shelter"),
                                first_notice_shared_unix_s=f.get("notice")) for code, f in sorted(firsts.items())]
        return {"sharing_gain": rows, "sharing_gain_final": False, "sharing_gain_note": GAIN_PENDING}

    def on_exercise_end(self, summary: Mapping) -> None:
        """The exercise has reported (ExerciseOptions.on_end, with summary.json's content): each view's
        sharing gain becomes summary["sharing_gain"]'s rows for its nation (none, saying why, when the run had
        no baseline), and every view's latest picture is republished with them."""
        if self.live:
            return
        rows = summary.get("sharing_gain")
        final: dict[str, list[SharingGainView]] = {n: [] for n in self.views}
        for r in rows or ():
            if r.get("node") in final:
                final[r["node"]].append(msgspec.convert({k: v for k, v in r.items() if k in GAIN_FIELDS},
                                                        SharingGainView))
        self._gain_final = final
        self._gain_note = "" if rows is not None else GAIN_NO_BASELINE
        for nation in self.views:
            pic = self.hub.latest(nation)
            if pic is not None:
                self.hub.publish_nowait(msgspec.structs.replace(pic, **self._sharing_gain(nation)))

    def _orbits(self, nation: str, res: StepResult, live: set[str]) -> list[OrbitView]:
        """The view's own orbit estimates of tracks it still holds, then the partners' (labelled
        "NATION:track_id") whose epoch is within ORBIT_REPORT_MAX_AGE_S of the step."""
        own = [o for o in getattr(res, "orbits", ()) if o.track in live]
        partners = [r for r in getattr(res, "partner_orbits", ())
                    if r.sender != nation and res.t_unix_s - r.epoch_unix_s <= ORBIT_REPORT_MAX_AGE_S]
        if not own and not partners:
            return []
        if self._orbit_views is None:
            if self._areas is None:
                from triwarn.geo.areas import AreaIndex

                self._areas = AreaIndex.load()
            self._orbit_views = OrbitViews(self._areas)
        ov, t = self._orbit_views, res.t_unix_s
        out = [ov.view(o.track, o.tle, o.epoch_unix_s, o.incl_deg, o.perigee_km, o.apogee_km, o.period_s, t)
               for o in own]
        out += [ov.view(f"{r.sender}:{r.track_id}", (r.tle_line1, r.tle_line2), r.epoch_unix_s, r.incl_deg,
                        r.perigee_alt_m / 1e3, r.apogee_alt_m / 1e3,
                        2 * math.pi * math.sqrt(r.sma_m**3 / GM_M3_S2), t) for r in partners]
        return out

    @staticmethod
    def _partner_impacts(nation: str, res: StepResult) -> list[ImpactView]:
        """The partners' fresh impact reports, labelled "NATION:track_id"."""
        t = res.t_unix_s
        out = []
        for r in getattr(res, "partner_impacts", ()):
            if r.sender == nation or t - r.sent_unix_s > PARTNER_REPORT_MAX_AGE_S \
                    or t - r.impact_t_unix_s > PARTNER_REPORT_MAX_AGE_S:
                continue
            out.append(ImpactView(
                track=f"{r.sender}:{r.track_id}", lat_deg=r.lat_deg, lon_deg=r.lon_deg, time_unix_s=r.impact_t_unix_s,
                semi_major_m=r.semi_major_m, semi_minor_m=r.semi_minor_m, orientation_deg=r.bearing_deg,
                powered=False))
        return out

    @staticmethod
    def _partner_launches(tracks: list[TrackView], res: StepResult) -> list[TrackView]:
        """Launch points from the partners' launch reports for system tracks that have none of their own."""
        reports = getattr(res, "partner_launches", ())
        if not reports or not tracks:
            return tracks
        by_source = {f"{r.sender}:{tid}": r for r in reports for tid in r.track_ids}
        st = res.system_tracks
        sources = dict(zip(st.track_id.tolist(), st.sources.tolist(), strict=True))
        out = []
        for trk in tracks:
            if trk.launch is None:
                hit = next((by_source[src] for src in sources.get(trk.id, ()) if src in by_source), None)
                if hit is not None:
                    trk = msgspec.structs.replace(trk, launch=LaunchView(hit.lat_deg, hit.lon_deg,
                                                                          hit.launch_t_unix_s))
            out.append(trk)
        return out

    def _warning(self, v: _View, m) -> None:
        if (m.exercise is None) != self.live:
            kind = "an exercise" if m.exercise is not None else "a live"
            raise ValueError(f"{kind} message {m.identifier} cannot go into a {'live' if self.live else 'exercise'}"
                             " picture: a node never mixes the two")
        if self.first_alert_unix_s is None:
            self.first_alert_unix_s = m.sent_unix_s
        codes = []
        for a in m.areas:
            if m.msg_type != "Cancel" and a.state in ("shelter", "notice"):
                v.firsts.setdefault(a.code, {}).setdefault(a.state, m.sent_unix_s)
            state = "cancelled" if m.msg_type == "Cancel" else STATE_WORDS.get(a.state, "notice")
            prev = v.alerts.get(a.code)
            names = AREA_NAMES.get(a.code, (a.code, a.code, a.code))
            since = prev.since_unix_s if prev is not None and prev.state == state else m.sent_unix_s
            v.alerts[a.code] = AreaAlert(area=a.code, name_en=names[0], name_ja=names[1], name_ko=names[2],
                                         state=state, since_unix_s=since, cap_identifier=m.identifier)
            codes.append(a.code)
        states = sorted({a.state for a in m.areas})
        words = "; ".join(HEADLINE.get(s, s) for s in states) or m.msg_type
        v.log.append(AlertLogEntry(t_unix_s=m.sent_unix_s, cap_identifier=m.identifier, msg_type=m.msg_type,
                                   status="Actual" if self.live else "Exercise", areas=codes,
                                   headline_en=("" if self.live else "EXERCISE: ")
                                   + f"missile warning: {words} ({', '.join(codes)})"))
        inc = v.incidents.get(m.incident)
        areas = sorted(set(codes) | set(inc.areas if inc else ()))
        v.incidents[m.incident] = IncidentView(id=m.incident, opened_unix_s=inc.opened_unix_s if inc else m.sent_unix_s,
                                           tracks=[], areas=areas,
                                           closed=all(a.state in ("clear", "error") for a in m.areas))

    def _links(self, nation: str, t: float) -> list[LinkView]:
        heard: dict[str, float] = {}
        transit: dict[str, float] = {}
        if self.run_log is not None:
            for d in reversed(self.run_log.deliveries[-200:]):
                if d.receiver == nation and d.sender not in heard:
                    heard[d.sender] = d.delivered_unix_s
                    if d.wall_transit_s is not None:
                        transit[d.sender] = d.wall_transit_s * 1e3
        runner = self.runners.get(nation)
        out = []
        for peer in ("us", "jp", "kr"):
            if peer == nation:
                continue
            if runner is not None:  # the runner's judgement, as /api/health gives it
                partner = runner.partners.get(peer)
                state, why = runner.link_state(peer) if partner is not None else ("down", "not a partner")
                last = partner.last_heard_unix_s if partner is not None else None
            else:
                up = self.links.reachable(peer, nation, t)
                state, why, last = ("up" if up else "down"), "", heard.get(peer)
            out.append(LinkView(peer=peer, state=state, last_heard_unix_s=last, why=why,
                                latency_ms=transit.get(peer) if state == "up" else None))
        return out
