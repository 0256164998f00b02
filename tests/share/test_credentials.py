"""Per-nation credentials: each nation's file holds its own logins only; with KR's file nobody reads
US->JP traffic or publishes as another nation, at any server; a node given another nation's file is
refused by name."""

from __future__ import annotations

import asyncio
import json

import nats
import nats.errors
import pytest

from triwarn.errors import InputError
from triwarn.share.credentials import load_credentials
from triwarn.share.netconfig import public_key
from triwarn.share.servers import generate, write_generated

from .conftest import wait_for


def test_each_nation_file_holds_only_its_own_users(spec, tmp_path):
    gen = generate(spec, tmp_path / "js")
    write_generated(gen, tmp_path / "cfg")
    files = {n: json.loads((tmp_path / "cfg" / f"credentials-{n}.json").read_text()) for n in spec.nations}
    for n, doc in files.items():
        assert "passwords" not in doc  # every login is an nkey
        users = set(doc["nkey_seeds"])
        own = {u for u in users if u.startswith(f"{n}_") and not u.endswith("_linkadmin")}
        assert own == {f"{n}_node", f"{n}_admin", f"{n}_app"}
        # Only the hub's operators hold the link-admin logins (to the partners' accounts at the hub).
        assert users - own == ({f"{p}_linkadmin" for p in spec.partners} if n == spec.hub else set())
        others = [s for m, d in files.items() if m != n for s in (*d["nkey_seeds"].values(),
                                                                 d.get("leaf_seed", ""))]
        assert not any(secret and secret in json.dumps(doc) for secret in others)
    assert files["kr"]["leaf_seed"] == gen.secrets.leaf_seeds["kr"] and "leaf_seed" not in files["us"]
    # The servers hold public nkeys, never seeds nor passwords (there are none).
    assert not gen.secrets.passwords
    for n in spec.nations:
        conf = json.dumps(gen.configs[n])
        assert all(seed not in conf for user, seed in gen.secrets.seeds.items())
        assert public_key(gen.secrets.seeds[f"{n}_node"]) in conf  # the node user: its public nkey


def test_a_node_pointed_at_another_nations_file_gets_a_clear_error(spec, tmp_path):
    write_generated(generate(spec, tmp_path / "js"), tmp_path / "cfg")
    creds = load_credentials(tmp_path / "cfg" / "credentials-kr.json", "kr")
    assert creds.node_login()["nkeys_seed_str"].startswith("SU") and "password" not in creds.node_login()
    assert creds.login("admin", ["nats://x"])["nkeys_seed_str"].startswith("SU")
    with pytest.raises(InputError, match="the credentials of jp, not of kr") as err:
        load_credentials(tmp_path / "cfg" / "credentials-jp.json", "kr")
    assert "credentials-kr.json" in str(err.value) and "credentials-jp.json" in str(err.value)
    old = tmp_path / "credentials.json"
    old.write_text(json.dumps({"passwords": {"kr_node": "x", "jp_node": "y"}}))
    with pytest.raises(InputError, match="old all-nations"):
        load_credentials(old, "kr")
    broken = tmp_path / "broken.json"
    broken.write_text('{"nation": "kr", "passwords": [1]}')
    with pytest.raises(InputError, match="passwords"):
        load_credentials(broken, "kr")


async def _quiet(_exc: Exception) -> None:
    return None


async def _refused(coro) -> bool:
    """True if the server refuses the connection (authorization)."""
    try:
        nc = await coro
    except (nats.errors.NoServersError, nats.errors.Error, OSError):
        return True
    await nc.close()
    return False


@pytest.mark.slow
async def test_kr_credentials_cannot_read_us_to_jp_nor_publish_as_another_nation(net, spec):
    kr = net.nation_credentials("kr")
    # KR's users exist at KR's server only: with KR's file nobody logs in at the hub or at JP's server.
    for role in ("node", "admin", "app"):
        for other in ("us", "jp"):
            login = {**kr.login(role, net.urls(other)), "allow_reconnect": False, "connect_timeout": 2,
                     "error_cb": _quiet}
            assert await _refused(nats.connect(**login)), (role, other)

    errors: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        errors.append(exc)

    # At KR's server: the node may not subscribe to US->JP subjects, nor publish as the US.
    node = await nats.connect(**net.credentials("kr", "node"), error_cb=on_error)
    await node.subscribe("tw.us.jp.>")
    await node.publish("tw.us.jp.track", b"forged by kr")
    await node.flush()
    assert await wait_for(lambda: len(errors) >= 2, 5.0)
    assert all("permissions violation" in str(e).lower() for e in errors)
    assert {"subscription", "publish"} <= {w for e in errors for w in str(e).lower().split()}
    # KR's admin, unrestricted in its own account, still sees nothing of US->JP while it flows, and its
    # own publishes under US's name are refused.
    admin_errors: list[Exception] = []

    async def on_admin_error(exc: Exception) -> None:
        admin_errors.append(exc)

    admin = await nats.connect(**net.credentials("kr", "admin"), error_cb=on_admin_error)
    seen = []

    async def note(msg) -> None:
        seen.append(msg.subject)

    for subject in ("tw.>", "dlv.>", "deliver.>", "ex.>"):
        await admin.subscribe(subject, cb=note)
    await admin.publish("tw.us.jp.warning", b"forged by kr admin")
    await admin.flush()
    us = await nats.connect(**net.credentials("us", "admin"))
    jp = await nats.connect(**net.credentials("jp", "admin"))
    try:
        await us.jetstream().publish("tw.us.jp.track", b"us to jp only", stream="OUT_US")
        jp_js = jp.jetstream()

        async def jp_inbox() -> list[bytes]:
            info = await jp_js.stream_info("IN_US2JP")
            return [(await jp_js.get_msg("IN_US2JP", seq=s)).data
                    for s in range(info.state.first_seq, info.state.last_seq + 1)] if info.state.messages else []

        for _ in range(100):
            if b"us to jp only" in await jp_inbox():
                break
            await asyncio.sleep(0.05)
        assert await jp_inbox() == [b"us to jp only"]  # delivered to JP; KR's forgery is not there
        await asyncio.sleep(0.3)
        assert not any(s.startswith("tw.us.jp") for s in seen) and not any("us2jp" in s for s in seen)
        assert any("permissions violation" in str(e).lower() for e in admin_errors)
    finally:
        for nc in (node, admin, us, jp):
            await nc.close()
