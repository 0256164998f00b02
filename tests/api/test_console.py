"""The operator console's security and the operator's Cancel at the API: sessions (401), roles and nations
(403), Host and Origin refusals, login throttling, stream limits, the audit log, and a Cancel queued at
the API that the node's real runner issues at its next step (CAP in every language, valid), with the
second operator a live node may require. The users file and `triwarn users` are checked here too."""

from __future__ import annotations

import asyncio
import json
import ssl
import time

import httpx
import pytest
from lxml import etree
from typer.testing import CliRunner

from triwarn.api.app import create_app
from triwarn.api.audit import AuditLog
from triwarn.api.auth import SessionStore, add_user, hash_password, load_users, verify_password
from triwarn.api.guard import ConsoleSecurity
from triwarn.api.picture import PictureHub
from triwarn.api.serve import check_bind, start_server
from triwarn.cli import app as cli_app
from triwarn.errors import InputError
from triwarn.node.core import NationalNode, NodeSettings
from triwarn.node.runner import NodeRunner
from triwarn.warn.cap import validate_cap
from triwarn.warn.reader import read_events
from triwarn_eval.synthetic import fly_overflight, picture_at

T0 = 1_664_835_720.0
PASSWORD = "correct horse battery"
ORIGIN = {"origin": "http://127.0.0.1"}
CAP_NS = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}


def alerting_runner(exercise: str | None, nation: str = "jp") -> NodeRunner:
    """A real node runner whose warning machine has issued one Alert (incident trun-1, JP-02 shelter)."""
    node = NationalNode(NodeSettings(nation, exercise=exercise, run_id="trun"), {})
    events = [{"type": "launch", "t": T0 + 20, "lat_deg": 40.6, "lon_deg": 126.4, "time_unix_s": T0,
               "uncertainty_m": 2000.0},
              {"type": "area_risk", "t": T0 + 30, "track": "W1", "area": "JP-02", "kind": "impact",
               "probability": 0.9, "enter_time_unix_s": T0 + 400}]
    if exercise:
        events = [{**e, "exercise": exercise} for e in events]
    issued = node.warner.step(read_events(events, node.warner.issuer), T0 + 30)
    assert [m.msg_type for m in issued] == ["Alert"]
    return NodeRunner(node, None, lambda: T0 + 31)


@pytest.fixture(scope="module")
def users_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("users") / "users.json"
    for name, nation, role in (("aiko", "jp", "operator"), ("ben", "jp", "operator"), ("chie", "jp", "viewer"),
                               ("minho", "kr", "operator")):
        add_user(path, name, nation, role, PASSWORD)
    return path


async def console(users_file, tmp_path, *, nations=("jp",), exercise="DRILL", two_person=False, **limits):
    hub = PictureHub(nations)
    flight = fly_overflight()
    for n in nations:
        await hub.publish(picture_at(flight, n, flight.launch_unix_s + 400.0))
    runner = alerting_runner(exercise)
    security = ConsoleSecurity.for_bind("127.0.0.1", nations, users=load_users(users_file),
                                        audit=AuditLog(tmp_path / "audit.jsonl"), two_person_live=two_person)
    for k, v in limits.items():
        setattr(security, k, v)
    app = create_app(hub, security=security, operators={"jp": runner})
    return app, security, runner


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")


async def login(c: httpx.AsyncClient, user: str, password: str = PASSWORD) -> httpx.Response:
    return await c.post("/api/login", json={"user": user, "password": password}, headers=ORIGIN)


def audit_lines(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


async def test_no_session_401_shell_and_health_open_wrong_password_401_and_audited(users_file, tmp_path):
    app, _sec, _runner = await console(users_file, tmp_path)
    async with client(app) as c:
        for path in ("/api/picture?nation=jp", "/api/nations", "/api/me", "/api/cap/feed.atom",
                     "/api/cancellable?nation=jp"):
            assert (await c.get(path)).status_code == 401, path
        assert (await c.post("/api/cancel", json={}, headers=ORIGIN)).status_code == 401
        assert (await c.get("/")).status_code == 200  # the page shell: no data in it
        assert (await c.get("/login")).status_code == 200
        assert (await c.get("/api/health")).status_code == 200
        assert (await login(c, "aiko", "wrong password!")).status_code == 401
        assert (await login(c, "nobody", PASSWORD)).status_code == 401
        r = await login(c, "aiko")
        assert r.status_code == 200
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert (await c.get("/api/picture", params={"nation": "jp"})).status_code == 200
        me = (await c.get("/api/me")).json()
        assert me["user"] == "aiko" and me["role"] == "operator" and me["nations"] == ["jp"] and me["can_cancel"]
        assert (await c.post("/api/logout", headers=ORIGIN)).status_code == 200
        assert (await c.get("/api/me")).status_code == 401
    lines = audit_lines(tmp_path)
    assert [ln["event"] for ln in lines] == ["login_failed", "login_failed", "login", "logout"]
    assert lines[0]["user"] == "aiko" and lines[1]["user"] == "nobody" and lines[2]["client"] == "127.0.0.1"


async def test_another_nations_user_and_view_are_refused(users_file, tmp_path):
    app, _sec, _runner = await console(users_file, tmp_path, nations=("jp", "kr"))
    async with client(app) as c:
        await login(c, "aiko")
        assert [n["code"] for n in (await c.get("/api/nations")).json()] == ["jp"]
        assert (await c.get("/api/picture", params={"nation": "kr"})).status_code == 403
        assert (await c.get("/api/stream", params={"nation": "kr"})).status_code == 403
        r = await c.post("/api/cancel", json={"nation": "kr", "incident": "trun-1", "reason": "operator_error"},
                         headers=ORIGIN)
        assert r.status_code == 403
    app, _sec, _runner = await console(users_file, tmp_path / "jp-only")
    async with client(app) as c:
        r = await login(c, "minho")  # a Korean operator on Japan's node
        assert r.status_code == 403 and "kr user" in r.json()["detail"]
        assert (await c.get("/api/picture", params={"nation": "jp"})).status_code == 401
    assert audit_lines(tmp_path / "jp-only")[-1]["event"] == "login_failed"


async def test_host_and_origin_checks(users_file, tmp_path):
    app, sec, _runner = await console(users_file, tmp_path)
    async with client(app) as c:
        r = await c.get("/", headers={"host": "evil.example"})  # DNS rebinding: the attacker's name
        assert r.status_code == 421
        assert (await c.get("/api/health", headers={"host": "evil.example:80"})).status_code == 421
        assert (await c.get("/", headers={"host": "localhost:8000"})).status_code == 200
        no_origin = await c.post("/api/login", json={"user": "aiko", "password": PASSWORD})
        assert no_origin.status_code == 403
        cross = await c.post("/api/login", json={"user": "aiko", "password": PASSWORD},
                             headers={"origin": "http://evil.example"})
        assert cross.status_code == 403
        other_port = await c.post("/api/login", json={"user": "aiko", "password": PASSWORD},
                                  headers={"origin": "http://127.0.0.1:9999"})
        assert other_port.status_code == 403
        assert (await login(c, "aiko")).status_code == 200
        # Logged in, a cross-site cancel is still refused before any route runs.
        r = await c.post("/api/cancel", json={"nation": "jp", "incident": "trun-1", "reason": "operator_error"},
                         headers={"origin": "http://evil.example"})
        assert r.status_code == 403
    assert sec.refused["host"] == 2 and sec.refused["origin"] == 4
    assert [ln["event"] for ln in audit_lines(tmp_path)] == ["login"]  # refusals are counted, not logged in


async def test_failed_logins_are_throttled(users_file, tmp_path):
    app, _sec, _runner = await console(users_file, tmp_path)
    async with client(app) as c:
        for _ in range(5):
            assert (await login(c, "aiko", "guess guess guess")).status_code == 401
        assert (await login(c, "aiko")).status_code == 429  # even the right password, for a while
    assert audit_lines(tmp_path)[-1]["why"] == "throttled"


async def test_viewer_cannot_cancel_operator_cancel_is_issued_at_the_next_step(users_file, tmp_path):
    app, _sec, runner = await console(users_file, tmp_path)
    body = {"nation": "jp", "incident": "trun-1", "reason": "false_detection", "note": "radar ghost"}
    async with client(app) as c:
        await login(c, "chie")
        assert (await c.post("/api/cancel", json=body, headers=ORIGIN)).status_code == 403
        await login(c, "aiko")
        listing = (await c.get("/api/cancellable", params={"nation": "jp"})).json()
        assert listing["incidents"] == ["trun-1"] and not listing["needs_second"]
        bad = await c.post("/api/cancel", json={**body, "reason": "bored"}, headers=ORIGIN)
        assert bad.status_code == 409 and "unknown reason" in bad.json()["detail"]
        r = await c.post("/api/cancel", json=body, headers=ORIGIN)
        assert r.status_code == 202 and r.json()["state"] == "queued"
        again = await c.post("/api/cancel", json=body, headers=ORIGIN)
        assert again.status_code == 409 and "already queued" in again.json()["detail"]
        result, _outs = runner.step(T0 + 32)
        cancels = [(m, x) for m, x in result.cap_xml if m.msg_type == "Cancel"]
        assert len(cancels) == 1
        msg, xml = cancels[0]
        assert validate_cap(xml) == []
        doc = etree.fromstring(xml)
        assert doc.findtext("c:msgType", namespaces=CAP_NS) == "Cancel"
        assert doc.findtext("c:status", namespaces=CAP_NS) == "Exercise"
        assert {i.findtext("c:language", namespaces=CAP_NS) for i in doc.findall("c:info", CAP_NS)} == {
            "en-US", "ja-JP", "ko-KR"}
        assert "radar ghost" in (doc.findtext("c:note", namespaces=CAP_NS) or "")
        listing = (await c.get("/api/cancellable", params={"nation": "jp"})).json()
        assert listing["incidents"] == []
        assert listing["outcomes"][-1]["state"] == "issued"
        assert listing["outcomes"][-1]["cap_identifier"] == msg.identifier
    events = [(ln["event"], ln.get("user")) for ln in audit_lines(tmp_path)]
    assert ("cancel_refused", "chie") in events and ("cancel_requested", "aiko") in events


async def test_a_live_cancel_waits_for_a_second_distinct_operator(users_file, tmp_path):
    app, _sec, runner = await console(users_file, tmp_path, exercise=None, two_person=True)
    assert runner.live
    body = {"nation": "jp", "incident": "trun-1", "reason": "operator_error"}
    async with client(app) as c, client(app) as c2:
        await login(c, "aiko")
        await login(c2, "ben")
        r = await c.post("/api/cancel", json=body, headers=ORIGIN)
        assert r.status_code == 202 and r.json()["state"] == "awaiting_confirmation"
        held = r.json()["id"]
        assert runner.desk.pending() == 0  # nothing goes out on one operator's word
        same = await c.post(f"/api/cancel/{held}/confirm", headers=ORIGIN)
        assert same.status_code == 403 and "someone else" in same.json()["detail"]
        awaiting = (await c2.get("/api/cancellable", params={"nation": "jp"})).json()["awaiting"]
        assert [a["id"] for a in awaiting] == [held]
        ok = await c2.post(f"/api/cancel/{held}/confirm", headers=ORIGIN)
        assert ok.status_code == 202
        result, _ = runner.step(T0 + 32)
        (_msg, xml), = [(m, x) for m, x in result.cap_xml if m.msg_type == "Cancel"]
        assert validate_cap(xml) == [] and b"<status>Actual</status>" in xml
        assert runner.desk.outcomes[-1].action.confirmed_by == "ben"
    events = [ln["event"] for ln in audit_lines(tmp_path)]
    assert events.count("cancel_requested") == 1 and events.count("cancel_confirmed") == 1
    assert "cancel_refused" in events


@pytest.mark.slow  # a real uvicorn: event streams are long-lived requests
async def test_picture_streams_are_limited_per_client(users_file, tmp_path):
    app, sec, _runner = await console(users_file, tmp_path, max_streams_per_client=1)
    server = await start_server(app)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=5.0) as c:
            await c.post("/api/login", json={"user": "aiko", "password": PASSWORD}, headers={"origin": server.url})
            async with c.stream("GET", "/api/stream", params={"nation": "jp"}) as first:
                assert first.status_code == 200
                second = await c.get("/api/stream", params={"nation": "jp"})
                assert second.status_code == 429
            deadline, reopened = time.monotonic() + 5.0, False
            while not reopened and time.monotonic() < deadline:  # the first one has ended: a new one may open
                async with c.stream("GET", "/api/stream", params={"nation": "jp"}) as again:
                    reopened = again.status_code == 200
                await asyncio.sleep(0.1)
            assert reopened, "a closed stream still counted against the client"
            assert sec.refused["streams"] >= 1
    finally:
        await server.stop()


def test_users_file_errors_name_the_file_line_and_field(tmp_path):
    bad = tmp_path / "users.json"
    bad.write_text('{"version": 1,\n "users": [\n  {"name": "aiko",, }]}\n')
    with pytest.raises(InputError) as e:
        load_users(bad)
    assert e.value.line == 3 and str(bad) in str(e.value)
    bad.write_text(json.dumps({"version": 1, "users": [{"name": "aiko", "nation": "jp", "role": "god",
                                                         "password": hash_password(PASSWORD)}]}))
    with pytest.raises(InputError, match="not a role") as e:
        load_users(bad)
    assert e.value.field == "users[0].role"
    huge = hash_password(PASSWORD).replace("$16384$", "$1073741824$")  # a 1 TiB scrypt: refused, never run
    bad.write_text(json.dumps({"version": 1, "users": [{"name": "aiko", "nation": "jp", "role": "viewer",
                                                         "password": huge}]}))
    with pytest.raises(InputError, match="power of two") as e:
        load_users(bad)
    assert e.value.field == "users[0].password"
    with pytest.raises(InputError, match="not found"):
        load_users(tmp_path / "missing.json")


def test_users_add_command(tmp_path):
    path = tmp_path / "users.json"
    runner = CliRunner()
    r = runner.invoke(cli_app, ["users", "add", "--users", str(path), "--name", "aiko", "--nation", "jp",
                                "--role", "operator", "--password-stdin"], input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    user = load_users(path)["aiko"]
    assert user.role == "operator" and verify_password(PASSWORD, user.password_hash)
    assert PASSWORD not in path.read_text()
    assert (path.stat().st_mode & 0o777) == 0o600
    r = runner.invoke(cli_app, ["users", "add", "--users", str(path), "--name", "aiko", "--nation", "jp",
                                "--password-stdin"], input=PASSWORD + "\n")
    assert r.exit_code == 2 and "exists" in r.output
    r = runner.invoke(cli_app, ["users", "add", "--users", str(path), "--name", "x", "--nation", "fr",
                                "--password-stdin"], input=PASSWORD + "\n")
    assert r.exit_code == 2 and "not a nation" in r.output and "Traceback" not in r.output
    r = runner.invoke(cli_app, ["users", "list", "--users", str(path)])
    assert r.exit_code == 0 and "aiko\tjp\toperator" in r.output


def test_sessions_expire_and_one_time_links_work_once():
    now = [1000.0]
    store = SessionStore(lambda: now[0], ttl_s=100.0, idle_s=30.0)
    s = store.create("aiko", ("jp",), "operator")
    now[0] += 20.0
    assert store.get(s.token) is not None
    now[0] += 31.0
    assert store.get(s.token) is None  # idle too long
    s = store.create("aiko", ("jp",), "operator")
    for _ in range(5):
        now[0] += 25.0
        alive = store.get(s.token)
    assert alive is None  # past the session's lifetime, however active
    link = store.one_time("demo", ("us", "jp", "kr"), "operator")
    assert store.redeem(link) is not None and store.redeem(link) is None
    assert store.get("forged") is None and store.get("x" * 10_000) is None


def test_binding_beyond_loopback_needs_tls(tmp_path):
    with pytest.raises(InputError, match="needs TLS"):
        check_bind("0.0.0.0", None, None, False)
    with pytest.raises(InputError, match="go together"):
        check_bind("0.0.0.0", tmp_path / "cert.pem", None, False)
    assert check_bind("127.0.0.1", None, None, False) is False
    assert check_bind("0.0.0.0", None, None, True) is False  # the explicit override
    with pytest.raises(InputError, match="not found"):
        check_bind("0.0.0.0", tmp_path / "cert.pem", tmp_path / "key.pem", False)


def _self_signed(tmp_path):
    """A throw-away certificate for 127.0.0.1 (PEM files)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.mark.slow  # a real uvicorn serving TLS
async def test_tls_console_sets_a_secure_cookie_and_wants_an_https_origin(users_file, tmp_path):
    cert, key = _self_signed(tmp_path)
    app, sec, _runner = await console(users_file, tmp_path)
    sec.tls = True
    server = await start_server(app, tls_cert=cert, tls_key=key)
    try:
        assert server.url.startswith("https://127.0.0.1:")
        creds = {"user": "aiko", "password": PASSWORD}
        async with httpx.AsyncClient(base_url=server.url, verify=ssl.create_default_context(cafile=str(cert))) as c:
            plain_origin = server.url.replace("https://", "http://")
            r = await c.post("/api/login", json=creds, headers={"origin": plain_origin})
            assert r.status_code == 403  # an http:// page is not this https console
            r = await c.post("/api/login", json=creds, headers={"origin": server.url})
            assert r.status_code == 200 and "; Secure" in r.headers["set-cookie"]
            assert (await c.get("/api/picture", params={"nation": "jp"})).status_code == 200
    finally:
        await server.stop()


def test_node_refuses_a_bad_users_file_and_a_bare_remote_bind_before_it_starts(tmp_path, users_file):
    from triwarn.share import signing
    from triwarn.share.policy import load_network

    keys = tmp_path / "keys"
    for nation in load_network().nations:
        signing.write_key_pair(nation, keys)
    base = ["node", "--nation", "jp", "--keys", str(keys), "--servers", "nats://127.0.0.1:1", "--password", "x",
            "--exercise", "DRILL"]
    bad = tmp_path / "users.json"
    bad.write_text('{"version": 1, "users": [{"name": "aiko"}]}')
    r = CliRunner().invoke(cli_app, [*base, "--users", str(bad)])
    assert r.exit_code == 2 and str(bad) in r.output and "users[0].nation" in r.output, r.output
    r = CliRunner().invoke(cli_app, [*base, "--users", str(users_file), "--host", "0.0.0.0"])
    assert r.exit_code == 2 and "needs TLS" in r.output and "Traceback" not in r.output, r.output
    only_kr = tmp_path / "kr-users.json"
    add_user(only_kr, "minho", "kr", "operator", PASSWORD)
    r = CliRunner().invoke(cli_app, [*base, "--users", str(only_kr)])
    assert r.exit_code == 2 and "no user of jp" in r.output, r.output


async def test_the_demos_runners_are_read_at_each_request(users_file, tmp_path):
    """The demo hands the console the dict its exercise fills as the nodes start (operators=runners)."""
    hub = PictureHub(("jp",))
    runners: dict = {}
    security = ConsoleSecurity.for_bind("127.0.0.1", ("jp",), audit=AuditLog(None))
    token = security.sessions.one_time("demo-operator", ("jp",), "operator")
    async with client(create_app(hub, security=security, operators=runners)) as c:
        assert (await c.get("/login", params={"token": token})).status_code == 303
        assert (await c.get("/api/cancellable", params={"nation": "jp"})).status_code == 404
        runners["jp"] = alerting_runner("DRILL")
        assert (await c.get("/api/cancellable", params={"nation": "jp"})).json()["incidents"] == ["trun-1"]
    assert [ln["event"] for ln in security.audit.recent] == ["login"]
