"""A satellite launch in the operator UI (issue 14), in a real browser: the bundled 2023-11-21 launch's
orbiting payload with its ground track ahead and the areas it crosses, the declared hazard zones of its
navigational warning, and the falling pieces with their predicted fall points against those zones.

The picture comes from the real flight (physics.slv), the real orbit estimate (assess.orbit, SGP4) and
the scenario's own notice, through the real picture adapter (api.picture_feed) and API; the assessment
chain that would make them is tested elsewhere (tests/assess/test_orbit.py, tests/share/test_orbit_report.py).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from triwarn.api.app import create_app
from triwarn.api.picture import PictureHub
from triwarn.api.picture_feed import PictureFeed
from triwarn.api.serve import start_server
from triwarn.assess.orbit import estimate_orbit
from triwarn.geo.areas import AreaIndex
from triwarn.geo.frames import ecef_to_geodetic
from triwarn.node.orbit_sharing import orbit_record
from triwarn.physics.slv import fly_slv
from triwarn.records.events import ImpactPrediction
from triwarn.sensors.scenario import bundled_dir, load_scenario
from triwarn.web.browser import chromium_page

pytestmark = pytest.mark.slow  # Chromium

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"


def slv_step():
    """The JP node's step 30 s after the payload's insertion: its tracks (payload, pieces still falling),
    their fall predictions and the payload's orbit estimate."""
    sc = load_scenario(bundled_dir() / "2023-11-21-slv-orbit.yaml")
    ev = sc.launches[0]
    flight = fly_slv(ev.spec, sc.flight_dt_s)
    t_s = flight.burnout_t_s + 30.0
    t = ev.t_unix_s + t_s
    ids, pos, events = [], [], []
    for o in flight.objects:
        if not o.t_s[0] <= t_s <= o.t_s[-1]:
            continue
        k = int(np.argmin(np.abs(o.t_s - t_s)))
        tid = f"JP-S{len(ids) + 1}"
        ids.append(tid)
        pos.append(o.pos_ecef_m[k])
        if o.object_id == "payload":
            rec = orbit_record(estimate_orbit(tid, t, o.pos_ecef_m[k], o.vel_ecef_mps[k],
                                              np.diag([200.0**2] * 3 + [2.0**2] * 3)), t, "jp")
        else:
            fall = next(p for p in flight.extra["pieces"] if p["object_id"] == o.object_id)
            events.append(ImpactPrediction(t=t, track=tid, lat_deg=fall["lat_deg"], lon_deg=fall["lon_deg"],
                                           time_unix_s=ev.t_unix_s + fall["t_s"], semi_major_m=8e3,
                                           semi_minor_m=3e3, orientation_deg=0.0, object="separated"))
    lat, lon, alt = ecef_to_geodetic(np.array(pos))
    n = len(ids)
    st = SimpleNamespace(track_id=np.array(ids, dtype=object), lat_deg=np.degrees(lat), lon_deg=np.degrees(lon),
                         alt_m=alt, vel_ecef_mps=np.tile([7000.0, 0.0, 0.0], (n, 1)), boost=np.zeros(n, bool),
                         nations=[("jp",)] * n, sources=np.array([()] * n, dtype=object))
    res = SimpleNamespace(t_unix_s=t, events=events, system_tracks=st, warnings=[], orbits=[rec],
                          partner_orbits=[])
    return sc, res, rec


async def test_the_orbit_the_zones_and_the_falling_pieces_are_drawn():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    sc, res, rec = slv_step()
    assert len(res.events) >= 2  # stage 2 and the fairing are still falling
    hub = PictureHub(("jp",))
    feed = PictureFeed(hub, "SLV-2023-11-21", hazard_notice=sc.hazard_notice, areas=AreaIndex.load())
    feed.on_step("jp", res)
    server = await start_server(create_app(hub))
    try:
        async with chromium_page(f"{server.url}/?nation=jp") as (page, errors):
            await page.wait_for_selector("html[data-ready='1']", timeout=10_000)
            n_zones = len(sc.hazard_notice.zones)
            await page.wait_for_function(
                "(() => { const v = window.__triwarnView(); return v.drawn.orbits === 1"
                f" && v.drawn.zones === {n_zones} && v.drawn.falls >= 2; }})()", timeout=15_000)
            got = await page.evaluate("window.__triwarnView()")
            [orbit] = got["orbits"]
            assert orbit["track"] == rec.track and orbit["points"] >= 50  # 20 minutes ahead, every 20 s
            assert got["zones"] == [z.label for z in sc.hazard_notice.zones]
            assert got["drawn"]["orbitPoints"] == orbit["points"]
            zone_label = page.locator(".maplabel[data-kind='zone']").first
            await zone_label.wait_for(timeout=10_000)
            assert (await zone_label.inner_text()).startswith("zone ")
            falls = page.locator(".maplabel[data-kind='impact']")
            await falls.first.wait_for(timeout=10_000)
            texts = await falls.all_inner_texts()
            assert any("zone" in t for t in texts), texts  # each fall said against its declared zone
            legend = await page.locator("#legend").inner_text()
            assert "orbit ahead" in legend and "hazard zone" in legend
            await page.screenshot(path=str(ARTIFACTS / "slv-orbit-zones.png"))
            assert errors == []
    finally:
        with contextlib.suppress(Exception):
            await server.stop()
