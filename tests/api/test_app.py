"""The operator API: REST answers from the hub, the SSE stream over a real uvicorn, the OpenAPI contract."""

from __future__ import annotations

import asyncio
import json

import httpx
import msgspec
import pytest
import schemathesis
import shapely
from hypothesis import HealthCheck, settings
from lxml import etree

from triwarn.api.app import create_app
from triwarn.api.picture import PictureDelta, PictureHub, apply_delta
from triwarn.api.serve import start_server
from triwarn_eval.synthetic import fly_overflight, picture_at

FLIGHT = fly_overflight()
T_MID = FLIGHT.launch_unix_s + 400.0

CAP_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>triwarn.jp-node.1664838060.1</identifier><sender>triwarn.jp-node</sender>
  <sent>2022-10-03T23:01:00-00:00</sent><status>Exercise</status><msgType>Alert</msgType><scope>Public</scope>
  <info><language>en-US</language><category>Safety</category><event>Missile</event><urgency>Immediate</urgency>
  <severity>Extreme</severity><certainty>Likely</certainty><headline>EXERCISE: Take shelter</headline>
  <area><areaDesc>Aomori</areaDesc></area></info>
</alert>"""


class BoxAreas:
    """Two areas as lon/lat boxes: the `geometry(code, zone)` interface of the packaged area index."""

    codes = ("JP-01", "JP-02")

    def geometry(self, code: str, zone: str):
        if zone != "land":
            raise KeyError(zone)
        return {
            "JP-01": shapely.box(139.5, 41.5, 145.8, 45.5),
            "JP-02": shapely.box(139.5, 40.2, 141.7, 41.5),
        }[code]


def make_app(hub: PictureHub):
    return create_app(hub, cap_feed=lambda: [CAP_XML], areas=BoxAreas())


@pytest.fixture
async def client_and_hub():
    hub = PictureHub()
    for nation in ("us", "jp"):
        await hub.publish(picture_at(FLIGHT, nation, T_MID))
    transport = httpx.ASGITransport(app=make_app(hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, hub


async def test_rest_serves_the_latest_picture(client_and_hub):
    client, _ = client_and_hub
    r = await client.get("/api/picture", params={"nation": "jp"})
    assert r.status_code == 200
    assert r.json()["tracks"][0]["id"] == "JP-T1"
    assert r.json()["t_unix_s"] == T_MID
    tracks = (await client.get("/api/tracks", params={"nation": "us"})).json()
    kinds = [(t["id"], t["kind"]) for t in tracks]
    assert kinds == [("US-T1", "warhead"), ("US-T2", "stage"), ("US-T3", "stage")]
    assert tracks[0]["nations"] == ["us", "jp", "kr"]
    alerts = (await client.get("/api/alerts", params={"nation": "jp"})).json()
    assert {a["area"]: a["state"] for a in alerts["alerts"]} == {"JP-02": "shelter", "JP-01": "shelter"}
    assert alerts["alert_log"][0]["msg_type"] == "Alert"
    nations = (await client.get("/api/nations")).json()
    assert [(n["code"], n["has_picture"]) for n in nations] == [("us", True), ("jp", True), ("kr", False)]
    health = (await client.get("/api/health")).json()
    assert health["picture_t_unix_s"] == {"us": T_MID, "jp": T_MID, "kr": None}


async def test_errors_name_what_was_wrong(client_and_hub):
    client, _ = client_and_hub
    r = await client.get("/api/picture", params={"nation": "kr"})
    assert r.status_code == 404 and "'kr' view" in r.json()["detail"]
    r = await client.get("/api/picture", params={"nation": "fr"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "nation"]
    r = await client.get("/api/tracks")
    assert r.status_code == 422


async def test_national_node_serves_only_its_view():
    hub = PictureHub(["kr"])
    await hub.publish(picture_at(FLIGHT, "kr", T_MID))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(hub)), base_url="http://t"
    ) as client:
        assert [n["code"] for n in (await client.get("/api/nations")).json()] == ["kr"]
        r = await client.get("/api/picture", params={"nation": "jp"})
        assert r.status_code == 404 and "not served here" in r.json()["detail"]
        atom = await client.get("/api/cap/feed.atom")  # no cap_feed given: an empty, valid feed
        assert etree.fromstring(atom.content).tag == "{http://www.w3.org/2005/Atom}feed"


async def test_cap_feed_is_atom_with_the_cap_inline(client_and_hub):
    client, _ = client_and_hub
    r = await client.get("/api/cap/feed.atom")
    assert r.headers["content-type"].startswith("application/atom+xml")
    feed = etree.fromstring(r.content)
    ns = {"a": "http://www.w3.org/2005/Atom", "c": "urn:oasis:names:tc:emergency:cap:1.2"}
    entries = feed.findall("a:entry", ns)
    assert len(entries) == 1
    assert (
        entries[0].findtext("a:content/c:alert/c:identifier", namespaces=ns) == "triwarn.jp-node.1664838060.1"
    )
    assert feed.find("a:link[@rel='self']", ns).get("href").endswith("/api/cap/feed.atom")


async def test_area_outlines_are_geojson_lon_lat(client_and_hub):
    client, _ = client_and_hub
    r = await client.get("/api/areas.geojson")
    fc = r.json()
    assert r.headers["content-type"] == "application/geo+json"
    assert {f["id"] for f in fc["features"]} == {"JP-01", "JP-02"}
    aomori = next(f for f in fc["features"] if f["id"] == "JP-02")
    assert aomori["properties"]["name_ja"] == "青森県"
    lon, lat = aomori["geometry"]["coordinates"][0][0]
    assert 139 < lon < 142 and 40 < lat < 42
    assert shapely.LinearRing(aomori["geometry"]["coordinates"][0]).is_ccw  # RFC 7946 winding


async def test_index_and_static_assets_are_packaged(client_and_hub):
    client, _ = client_and_hub
    page = await client.get("/")
    assert page.status_code == 200 and '<canvas id="map"' in page.text
    for asset in ("/static/app.js", "/static/style.css", "/static/basemap.json"):
        assert (await client.get(asset)).status_code == 200, asset
    basemap = (await client.get("/static/basemap.json")).json()
    assert basemap["projection"]["rotate"] == [-160, 0]
    assert len(basemap["land"]) > 1000 and len(basemap["borders"]) > 100


async def read_events(response: httpx.Response, n: int) -> list[PictureDelta]:
    out: list[PictureDelta] = []
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            out.append(msgspec.json.decode(line[6:], type=PictureDelta))
            if len(out) == n:
                break
    return out


async def test_stream_pushes_deltas_over_real_http():
    hub = PictureHub()
    server = await start_server(make_app(hub))
    try:
        await hub.publish(picture_at(FLIGHT, "jp", T_MID))
        async with httpx.AsyncClient(base_url=server.url, timeout=10.0) as client:
            async with client.stream("GET", "/api/stream", params={"nation": "jp"}) as response:
                assert response.headers["content-type"].startswith("text/event-stream")

                async def feed():
                    for k in range(1, 4):
                        await asyncio.sleep(0.15)
                        await hub.publish(picture_at(FLIGHT, "jp", T_MID + 30.0 * k))

                feeder = asyncio.create_task(feed())
                deltas = await asyncio.wait_for(read_events(response, 4), 10.0)
                await feeder
            r = await client.get("/api/stream", params={"nation": "xx"})
            assert r.status_code == 422
        held = None
        for d in deltas:
            held = apply_delta(held, d)
        assert deltas[0].full and not any(d.full for d in deltas[1:])
        assert held.t_unix_s == T_MID + 90.0
        assert held.tracks == picture_at(FLIGHT, "jp", T_MID + 90.0).tracks
    finally:
        await server.stop()
    assert server.task.done()


# The OpenAPI contract, exercised by schemathesis: every documented endpoint, valid and invalid inputs,
# every response checked against its documented status codes, media types and schemas.
def _contract_app():
    hub = PictureHub(["us", "jp", "kr"])
    for nation in ("us", "jp"):  # seeded before any loop runs: schemathesis drives the app on its own
        hub.publish_nowait(picture_at(FLIGHT, nation, T_MID))
    return make_app(hub)


schema = schemathesis.openapi.from_asgi("/openapi.json", _contract_app())


@schema.exclude(path="/api/stream").parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_rest_endpoints_follow_their_openapi(case):
    case.call_and_validate()


def test_openapi_documents_the_picture_types():
    doc = _contract_app().openapi()
    components = doc["components"]["schemas"]
    for name in (
        "Picture",
        "PictureDelta",
        "TrackView",
        "ImpactView",
        "AreaAlert",
        "AlertLogEntry",
        "LinkView",
        "IncidentView",
    ):
        assert name in components, name
    assert set(components["AreaAlert"]["properties"]["state"]["enum"]) == {
        "shelter",
        "notice",
        "passed",
        "all_clear",
        "cancelled",
    }
    json.dumps(doc)  # serialisable as served


async def test_server_stops_promptly_with_a_browser_still_streaming():
    hub = PictureHub(["jp"])
    server = await start_server(make_app(hub))
    hub.publish_nowait(picture_at(FLIGHT, "jp", T_MID))
    async with httpx.AsyncClient(base_url=server.url, timeout=10.0) as client:
        async with client.stream("GET", "/api/stream", params={"nation": "jp"}) as response:
            lines = response.aiter_lines()
            while not (line := await asyncio.wait_for(anext(lines), 5.0)).startswith("data: "):
                pass
            assert msgspec.json.decode(line[6:], type=PictureDelta).full
            t0 = asyncio.get_running_loop().time()
            await server.stop()
            assert asyncio.get_running_loop().time() - t0 < 1.5  # not uvicorn's graceful timeout
            remaining = [line async for line in lines]  # the stream ends, cleanly
            assert not any(line.startswith("data: ") for line in remaining)
