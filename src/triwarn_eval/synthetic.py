"""Synthetic pictures of one launch, for the UI's tests, its benchmark and a preview.

Until the node produces pictures, this makes them from the physics engine: `triwarn.physics.flight.fly`
flies the October 2022 IRBM (Mupyong-ni over Aomori, apogee 970 km, range 4,600 km) with its warhead
and spent stages. What each nation sees differs as it would: which sensors contributed, which links
are up. Alerts follow the warhead's ground track over Aomori and Hokkaido. This is a stand-in for the
node, not a warning engine: nothing here decides a real alert.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from triwarn.api.picture import (
    AlertLogEntry,
    AreaAlert,
    ImpactView,
    LaunchView,
    LinkView,
    Picture,
    TrackView,
)
from triwarn.geo.areas_names import AREA_NAMES
from triwarn.geo.frames import ecef_to_geodetic
from triwarn.physics.flight import fly
from triwarn.physics.launch import PHASE_BOOST, LaunchSpec

SAMPLE_S = 2.0
TRAIL_SAMPLES = 60
OCT_2022 = LaunchSpec(
    40.6, 126.4, apogee_km=970.0, range_km=4600.0, aim_lat_deg=40.82, aim_lon_deg=140.74, missile_class="irbm"
)
# Who contributes to the tracks in each view: own sensors plus what partners share.
VIEW_SOURCES = {"us": ["us", "jp", "kr"], "jp": ["jp", "us"], "kr": ["kr", "us"]}
PEERS = {"us": ["jp", "kr"], "jp": ["us", "kr"], "kr": ["us", "jp"]}
# Areas under the warhead's path, with the longitude (deg E) where it has passed each (a stand-in for
# the assessment, which decides this in the real chain).
CROSSED_AREAS = {"JP-02": 141.7, "JP-01": 145.8}


@dataclass(frozen=True)
class SyntheticObject:
    """One flying object's samples: seconds after launch, geodetic degrees and metres, speed m/s."""

    object_id: str
    kind: str
    t_s: NDArray[np.float64]
    lat_deg: NDArray[np.float64]
    lon_deg: NDArray[np.float64]
    alt_m: NDArray[np.float64]
    speed_mps: NDArray[np.float64]
    separation_t_s: float  # before it, the object is part of the vehicle and has no track of its own
    boost_end_t_s: float

    @property
    def impact_t_s(self) -> float:
        return float(self.t_s[-1])

    def index_at(self, t_after_launch_s: float) -> int:
        i = np.searchsorted(self.t_s, t_after_launch_s, side="right") - 1
        return int(np.clip(i, 0, len(self.t_s) - 1))


@dataclass(frozen=True)
class SyntheticFlight:
    """The objects of one launch (warhead first) and its launch time (Unix s)."""

    launch_unix_s: float
    objects: tuple[SyntheticObject, ...]

    @property
    def warhead(self) -> SyntheticObject:
        return self.objects[0]

    @property
    def impact_t_s(self) -> float:
        """When the last object comes down, seconds after launch."""
        return max(o.impact_t_s for o in self.objects)


@functools.cache
def _flown(spec: LaunchSpec) -> tuple[SyntheticObject, ...]:
    flight = fly(spec, dt_s=SAMPLE_S)
    out = []
    for obj in flight.objects:
        lat, lon, alt = ecef_to_geodetic(obj.pos_ecef_m)
        ballistic = np.flatnonzero(obj.phase != PHASE_BOOST)
        sep = float(obj.t_s[ballistic[0]]) if ballistic.size else float(obj.t_s[-1])
        boost_end = float(flight.burnout_t_s) if obj.kind == "warhead" else sep
        out.append(
            SyntheticObject(
                object_id=obj.object_id,
                kind=obj.kind,
                t_s=np.asarray(obj.t_s, float),
                lat_deg=np.degrees(lat),
                lon_deg=np.degrees(lon),
                alt_m=np.maximum(alt, 0.0),
                speed_mps=np.linalg.norm(obj.vel_ecef_mps, axis=1),
                separation_t_s=0.0 if obj.kind == "warhead" else sep,
                boost_end_t_s=boost_end,
            )
        )
    return tuple(out)


def fly_overflight(launch_unix_s: float = 1_664_835_720.0, spec: LaunchSpec = OCT_2022) -> SyntheticFlight:
    """The launch flown by the physics engine (cached per spec), launched at launch_unix_s.

    The default time is the real one: 2022-10-03 22:22 UTC (07:22 JST on 4 October).
    """
    return SyntheticFlight(launch_unix_s=launch_unix_s, objects=_flown(spec))


def _alert(code: str, state: str, since: float, ident: str) -> AreaAlert:
    en, ja, ko = AREA_NAMES[code]
    return AreaAlert(
        area=code,
        name_en=en,
        name_ja=ja,
        name_ko=ko,
        state=state,  # type: ignore[arg-type]
        since_unix_s=since,
        cap_identifier=ident,
    )


def picture_at(
    flight: SyntheticFlight, nation: str, t_unix_s: float, *, link_down: tuple[str, ...] = ()
) -> Picture:
    """The `nation` view of the flight at sim time t_unix_s (exercise mode)."""
    tl = t_unix_s - flight.launch_unix_s
    tracks: list[TrackView] = []
    impacts: list[ImpactView] = []
    alerts: list[AreaAlert] = []
    log: list[AlertLogEntry] = []
    detect_s = 20.0 if nation != "us" else 10.0  # the US view has the satellite detection
    sources = [s for s in VIEW_SOURCES[nation] if s == nation or s not in link_down]
    w = flight.warhead
    launch = LaunchView(float(w.lat_deg[0]), float(w.lon_deg[0]), flight.launch_unix_s)
    for n, obj in enumerate(flight.objects):
        if not (max(detect_s, obj.separation_t_s) <= tl <= obj.impact_t_s):
            continue
        tid = f"{nation.upper()}-T{n + 1}"
        i = obj.index_at(tl)
        j0 = max(obj.index_at(detect_s), i - TRAIL_SAMPLES + 1)
        trail = [
            (
                flight.launch_unix_s + float(obj.t_s[k]),
                float(obj.lat_deg[k]),
                float(obj.lon_deg[k]),
                float(obj.alt_m[k]),
            )
            for k in range(j0, i + 1)
        ]
        powered = tl < obj.boost_end_t_s
        tracks.append(
            TrackView(
                id=tid,
                lat_deg=float(obj.lat_deg[i]),
                lon_deg=float(obj.lon_deg[i]),
                alt_m=float(obj.alt_m[i]),
                speed_mps=float(obj.speed_mps[i]),
                mode="boost" if powered else "ballistic",
                kind=obj.kind,
                nations=sources,
                trail=trail,
                launch=launch,
            )
        )  # type: ignore[arg-type]
        # The prediction tightens as the track matures; powered predictions are much wider.
        semi_major = (400e3 if powered else 60e3) * max(0.05, 1.0 - tl / obj.impact_t_s)
        step = max(1, (len(obj.t_s) - i) // 60)
        ground = [(float(obj.lat_deg[k]), float(obj.lon_deg[k])) for k in range(i, len(obj.t_s), step)]
        ground.append((float(obj.lat_deg[-1]), float(obj.lon_deg[-1])))
        impacts.append(
            ImpactView(
                track=tid,
                lat_deg=float(obj.lat_deg[-1]),
                lon_deg=float(obj.lon_deg[-1]),
                time_unix_s=flight.launch_unix_s + obj.impact_t_s,
                semi_major_m=semi_major,
                semi_minor_m=semi_major * 0.35,
                orientation_deg=95.0,
                powered=powered,
                ground_track=ground,
            )
        )
    landed = tl > w.impact_t_s
    alert_t = flight.launch_unix_s + 60.0
    if tl >= 60.0:
        ident = f"triwarn.{nation}-node.{int(alert_t)}.1"
        log.append(
            AlertLogEntry(
                t_unix_s=alert_t,
                cap_identifier=ident,
                msg_type="Alert",
                status="Exercise",
                areas=list(CROSSED_AREAS),
                headline_en="EXERCISE: Missile launch. Take shelter.",
            )
        )
        for code, lon_east in CROSSED_AREAS.items():
            passed_t = flight.launch_unix_s + float(w.t_s[int(np.argmax(w.lon_deg > lon_east))])
            if landed:
                alerts.append(
                    _alert(code, "all_clear", flight.launch_unix_s + w.impact_t_s, ident + ".clear")
                )
            elif t_unix_s >= passed_t:
                alerts.append(_alert(code, "passed", passed_t, ident))
            else:
                alerts.append(_alert(code, "shelter", alert_t, ident))
        if landed:
            log.append(
                AlertLogEntry(
                    t_unix_s=flight.launch_unix_s + w.impact_t_s,
                    cap_identifier=ident + ".clear",
                    msg_type="Update",
                    status="Exercise",
                    areas=list(CROSSED_AREAS),
                    headline_en="EXERCISE: All clear.",
                )
            )
    links = [
        LinkView(
            peer=p,
            state="down" if p in link_down else "up",
            last_heard_unix_s=None if p in link_down else t_unix_s - 0.4,
            latency_ms=None if p in link_down else 38.0 + 7.0 * len(p),
        )
        for p in PEERS[nation]
    ]
    return Picture(
        nation=nation,
        t_unix_s=t_unix_s,
        mode="exercise",  # type: ignore[arg-type]
        exercise_name="October 2022 overflight (synthetic)",
        tracks=tracks,
        impacts=impacts,
        alerts=alerts,
        alert_log=log,
        links=links,
    )


def crowd_picture(
    nation: str, t_unix_s: float, n_tracks: int, *, trail_len: int = 10, seed: int = 0
) -> Picture:
    """A load picture: n_tracks tracks on great-circle-ish straight paths over the region at sim time t.

    Positions move with t so that every track changes at every picture (the worst case for deltas).
    """
    rng = np.random.default_rng(seed)
    lat0 = rng.uniform(25.0, 48.0, n_tracks)
    lon0 = rng.uniform(120.0, 160.0, n_tracks)
    heading = rng.uniform(0.0, 2 * np.pi, n_tracks)
    rate_deg_s = rng.uniform(0.005, 0.03, n_tracks)
    ts = t_unix_s - np.arange(trail_len)[::-1] * 1.0
    phase = ts[None, :] % 3600.0
    lat = lat0[:, None] + np.cos(heading)[:, None] * rate_deg_s[:, None] * phase
    lon = lon0[:, None] + np.sin(heading)[:, None] * rate_deg_s[:, None] * phase
    alt = 50e3 + 250e3 * np.abs(np.sin(phase / 600.0 + heading[:, None]))
    tracks = []
    for k in range(n_tracks):
        trail = list(zip(ts.tolist(), lat[k].tolist(), lon[k].tolist(), alt[k].tolist(), strict=True))
        tracks.append(
            TrackView(
                id=f"L{k:04d}",
                lat_deg=trail[-1][1],
                lon_deg=trail[-1][2],
                alt_m=trail[-1][3],
                speed_mps=float(rate_deg_s[k] * 111e3),
                mode="ballistic",
                kind="unknown",
                nations=[nation],
                trail=trail,
            )
        )  # type: ignore[list-item]
    return Picture(
        nation=nation,
        t_unix_s=t_unix_s,
        mode="exercise",
        exercise_name="Load test",  # type: ignore[arg-type]
        tracks=tracks,
    )
