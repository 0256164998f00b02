"""Operator pictures from the nodes' real step results: the adapter StepResult -> api.picture.Picture.

One `PictureFeed` per run serves every nation's view: `on_step(nation, result)` (a lockstep on_step
callback) updates that nation's state (track trails, latest impact predictions and launch points,
area alert states and the alert log from the warnings it issued, incidents) and publishes the
nation's Picture to the PictureHub. Link status comes from the exercise's LinkModel (up or down at the
sim time) and the lockstep's RunLog (when a partner was last heard, the last wall transit time).
A live node's feed (live=True) makes "live" pictures whose alert log carries CAP status Actual; an
exercise feed makes "exercise" pictures (status Exercise, "EXERCISE" in every headline). One feed is one
or the other for its whole life: a message of the other kind is refused (ValueError), never shown.
Degrees, metres and unix seconds, as in api/picture.py.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from triwarn.api.picture import (
    AlertLogEntry,
    AreaAlert,
    ImpactPrediction,
    Incident,
    LaunchPoint,
    LinkStatus,
    Picture,
    PictureHub,
    SystemTrack,
)
from triwarn.assess.events import ImpactPrediction as AssessImpact
from triwarn.assess.events import LaunchEvent as AssessLaunch
from triwarn.geo.areas_names import AREA_NAMES
from triwarn.geo.frames import ecef_to_geodetic
from triwarn.node.core import StepResult
from triwarn.node.lockstep import LinkModel, RunLog

TRAIL_POINTS = 60
STATE_WORDS = {"shelter": "shelter", "notice": "notice", "passed": "passed", "clear": "all_clear",
               "error": "cancelled"}
HEADLINE = {"shelter": "take shelter", "notice": "information notice", "passed": "missile passed",
            "clear": "all clear", "error": "cancelled, issued in error"}


@dataclass
class _View:
    trails: dict[str, deque] = field(default_factory=dict)
    launches: dict[str, LaunchPoint] = field(default_factory=dict)
    impacts: dict[str, ImpactPrediction] = field(default_factory=dict)
    alerts: dict[str, AreaAlert] = field(default_factory=dict)
    log: list[AlertLogEntry] = field(default_factory=list)
    incidents: dict[str, Incident] = field(default_factory=dict)


class PictureFeed:
    """Builds and publishes each nation's picture from its node's step results (see module docstring)."""

    def __init__(self, hub: PictureHub, exercise_name: str, links: LinkModel, run_log: RunLog | None = None,
                 *, live: bool = False) -> None:
        if live and exercise_name:
            raise ValueError(f"a live picture feed has no exercise name (got {exercise_name!r})")
        self.live = live
        self.hub = hub
        self.exercise_name = exercise_name
        self.links = links
        self.run_log = run_log
        self.views: dict[str, _View] = {n: _View() for n in hub.nations}
        self.published = 0
        self.first_alert_unix_s: float | None = None

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
            if isinstance(ev, AssessLaunch):
                v.launches[ev.track] = LaunchPoint(ev.lat_deg, ev.lon_deg, ev.time_unix_s)
            elif isinstance(ev, AssessImpact):
                ground = [(float(p[0]), float(p[1])) for p in (ev.corridor or [])]
                v.impacts[ev.track] = ImpactPrediction(
                    track=ev.track, lat_deg=ev.lat_deg, lon_deg=ev.lon_deg, time_unix_s=ev.time_unix_s,
                    semi_major_m=ev.semi_major_m, semi_minor_m=ev.semi_minor_m,
                    orientation_deg=ev.orientation_deg % 360.0, powered=ev.powered, ground_track=ground)
        tracks = []
        live = {s.track_id for s in res.system_tracks}
        if res.system_tracks:
            pos = np.stack([s.pos_ecef_m for s in res.system_tracks])
            lat, lon, alt = ecef_to_geodetic(pos)
            lat, lon = np.degrees(lat), np.degrees(lon)
            for i, s in enumerate(res.system_tracks):
                trail = v.trails.setdefault(s.track_id, deque(maxlen=TRAIL_POINTS))
                trail.append((t, float(lat[i]), float(lon[i]), float(alt[i])))
                tracks.append(SystemTrack(
                    id=s.track_id, lat_deg=float(lat[i]), lon_deg=float(lon[i]), alt_m=float(alt[i]),
                    speed_mps=float(np.linalg.norm(s.vel_ecef_mps)),
                    mode="boost" if s.powered else "ballistic", kind="unknown",
                    nations=[n for n in s.nations if n in ("us", "jp", "kr")],
                    trail=list(trail), launch=v.launches.get(s.track_id)))
        for gone in [k for k in v.trails if k not in live]:
            del v.trails[gone]
        v.impacts = {k: imp for k, imp in v.impacts.items() if k in live}
        for m in res.warnings:
            self._warning(v, m)
        return Picture(nation=nation, t_unix_s=t, mode="live" if self.live else "exercise",
                       exercise_name=None if self.live else self.exercise_name,
                       tracks=tracks, impacts=list(v.impacts.values()), alerts=list(v.alerts.values()),
                       alert_log=list(v.log), links=self._links(nation, t), incidents=list(v.incidents.values()))

    def _warning(self, v: _View, m) -> None:
        if (m.exercise is None) != self.live:
            kind = "an exercise" if m.exercise is not None else "a live"
            raise ValueError(f"{kind} message {m.identifier} cannot go into a {'live' if self.live else 'exercise'}"
                             " picture: a node never mixes the two")
        if self.first_alert_unix_s is None:
            self.first_alert_unix_s = m.sent_unix_s
        codes = []
        for a in m.areas:
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
        v.incidents[m.incident] = Incident(id=m.incident, opened_unix_s=inc.opened_unix_s if inc else m.sent_unix_s,
                                           tracks=[], areas=areas,
                                           closed=all(a.state in ("clear", "error") for a in m.areas))

    def _links(self, nation: str, t: float) -> list[LinkStatus]:
        heard: dict[str, float] = {}
        transit: dict[str, float] = {}
        if self.run_log is not None:
            for d in reversed(self.run_log.deliveries[-200:]):
                if d.receiver == nation and d.sender not in heard:
                    heard[d.sender] = d.delivered_unix_s
                    if d.wall_transit_s is not None:
                        transit[d.sender] = d.wall_transit_s * 1e3
        out = []
        for peer in ("us", "jp", "kr"):
            if peer == nation:
                continue
            up = self.links.reachable(peer, nation, t)
            out.append(LinkStatus(peer=peer, state="up" if up else "down", last_heard_unix_s=heard.get(peer),
                                  latency_ms=transit.get(peer) if up else None))
        return out
