"""`triwarn node`: the command's composition, next to the CLI (cli.py parses, this composes).

    run_node(nation="kr", network=None, sensors=..., measurements=..., keys=..., servers=..., exercise="X")

Checks everything first (InputError on anything wrong: live or exercise, the network, the nation's
own sensors only, keys, the nation's own login, a server that answers), then builds the live node
(triwarn.node.service.LiveNode over a NodeTransport, CAP files in --out), serves its HTTP face
(triwarn.api.node_app.node_app: health, metrics, CAP feed, operator UI) and runs until Ctrl-C; the
durable consumer is kept for the next start.

The console (docs/console.md): users of this nation from --users (`triwarn users add`), or, without
one, a one-time operator login link printed at start; the audit log in --audit (default OUT/audit.jsonl);
--host beyond loopback needs --tls-cert and --tls-key (or --insecure-no-tls); --allowed-host adds the
names clients reach the node by; --two-person-cancel makes a live node's cancel wait for a second operator.
It lives outside triwarn.node because it joins the node with the API: triwarn.node imports neither
triwarn.api nor triwarn.exercise.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from triwarn.errors import InputError
from triwarn.node.core import NodeSettings
from triwarn.wording import plural

REACH_TIMEOUT_S = 1.0  # per attempt: a server on the same network answers a TCP connect in milliseconds
REACH_ATTEMPTS = 3
REACH_PAUSE_S = 0.5


def _host_port(url: str) -> tuple[str, int]:
    """Host and port of a NATS URL (nats://host:port, tls://host, host:port); port 4222 by default."""
    from urllib.parse import urlsplit

    parts = urlsplit(url if "://" in url else f"nats://{url}")
    try:
        port = parts.port or 4222
    except ValueError:
        raise InputError(f"{url!r} is not a server URL such as nats://127.0.0.1:4222", field="--servers") from None
    if not parts.hostname:
        raise InputError(f"{url!r} is not a server URL such as nats://127.0.0.1:4222", field="--servers")
    return parts.hostname, port


def check_reachable(urls: list[str], *, timeout_s: float = REACH_TIMEOUT_S, attempts: int = REACH_ATTEMPTS,
                    pause_s: float = REACH_PAUSE_S) -> None:
    """Return once one of the servers accepts a TCP connection; InputError naming every URL and why
    after `attempts` tries (a few seconds), instead of the NATS client's silent 30 s of retries."""
    import socket

    addresses = [(url, *_host_port(url)) for url in urls]
    why: dict[str, str] = {}
    for attempt in range(attempts):
        for url, host, port in addresses:
            try:
                with socket.create_connection((host, port), timeout=timeout_s):
                    return
            except OSError as exc:
                why[url] = exc.strerror or type(exc).__name__
        if attempt + 1 < attempts:
            time.sleep(pause_s)
    names = "; ".join(f"{url} ({reason})" for url, reason in why.items())
    raise InputError(f"cannot reach the NATS server: {names} after {plural(attempts, 'try', 'tries')}; is the "
                     "network up (`triwarn network up` prints each nation's URL) and is --servers this "
                     "nation's URL?", field="--servers")


def check_own_sensors(path: Path, nation: str) -> dict[str, object]:
    """The sensors of sensors.yaml, all of which must belong to `nation`; InputError naming the others
    (id, nation and line) otherwise: a node never runs, or even holds, another nation's sensors."""
    from triwarn.sensors.definitions import load_sensors, read_yaml, sequence_lines

    sensors = load_sensors(path)
    foreign = [(i, sid, getattr(s, "nation", None)) for i, (sid, s) in enumerate(sensors.items())
               if getattr(s, "nation", None) != nation]
    if foreign:
        _, text = read_yaml(path, "sensors")
        item_lines, _ = sequence_lines(text, "sensors")
        first = foreign[0][0]
        names = ", ".join(f"{sid} ({owner}, line {item_lines[i] if i < len(item_lines) else '?'})"
                          for i, sid, owner in foreign)
        raise InputError(f"sensors of another nation in a {nation} node's file: {names}; a node takes its own "
                         "sensors only (`triwarn sensors split` writes one sensors file per nation)", source=str(path),
                         line=item_lines[first] if first < len(item_lines) else None, field="nation")
    return sensors


def _node_login(nation: str, user: str | None, password: str | None, creds: Path | None) -> dict:
    """The node's NATS login, as ShareTransport keywords: from --creds, this nation's own
    credentials-NATION.json (an nkey seed; a file of another nation is refused naming its owner), or,
    for a server configured by hand with password users, --password (user --user or NATION_node)."""
    from triwarn.share.credentials import load_credentials

    if password is not None and creds is not None:
        raise InputError("give --creds or --password, not both", field="--password")
    if password is not None:
        return {"user": user or f"{nation}_node", "password": password}
    if creds is None:
        raise InputError(f"no login: give --creds credentials-{nation}.json (written by `triwarn network config` "
                         "or `network up`)", field="--creds")
    return load_credentials(creds, nation).node_login()


def run_node(*, nation: str, network: Path | None, sensors: Path | None, measurements: Path | None, keys: Path,
             servers: str, user: str | None = None, password: str | None = None, creds: Path | None = None,
             exercise: str | None = None, live: bool = False, epoch: float | None = None, step_s: float = 1.0,
             port: int = 0, out: Path | None = None, host: str = "127.0.0.1", users: Path | None = None,
             audit: Path | None = None, tls_cert: Path | None = None, tls_key: Path | None = None,
             insecure_no_tls: bool = False, allowed_hosts: list[str] | None = None,
             two_person_cancel: bool = False, cap_key: Path | None = None, cap_cert: Path | None = None) -> None:
    """`triwarn node`: check everything first (InputError on anything wrong), then run until Ctrl-C."""
    from triwarn.api.auth import load_users
    from triwarn.api.serve import check_bind
    from triwarn.share import signing
    from triwarn.share.policy import load_network

    nation = nation.lower()
    if live and exercise:
        raise InputError("--live and --exercise exclude each other: a node is one or the other", field="--live")
    if not live and not exercise:
        raise InputError("say what this node is: --live (CAP status Actual) or --exercise NAME (everything "
                         "marked Exercise); there is no default", field="--live/--exercise")
    if step_s <= 0:
        raise InputError(f"must be positive, got {step_s}", field="--step-s")
    spec = load_network(network)
    if nation not in spec.nations:
        raise InputError(f"{nation!r} is not a nation of the network ({', '.join(spec.nations)})", field="--nation")
    if (sensors is None) != (measurements is None):
        raise InputError("--sensors and --measurements go together", field="--sensors" if sensors is None
                         else "--measurements")
    own = check_own_sensors(sensors, nation) if sensors is not None else {}
    cap_signing = check_cap_signing(nation, live=live, key=cap_key, cert=cap_cert)
    key = signing.load_private_key(keys / f"{nation}.key")
    trust = signing.TrustStore.load_dir(keys)
    missing = [p for p in spec.nations if p != nation and trust.get(p) is None]
    if missing:
        raise InputError(f"no public key for partner(s) {', '.join(missing)} "
                         f"(expected {', '.join(f'{p}.pub' for p in missing)})", source=str(keys))
    from triwarn.share.sealing import node_box_key

    box_key = node_box_key(keys, nation, trust, spec)  # None (no KEYS/<nation>.xkey): payloads signed, not sealed
    login = _node_login(nation, user, password, creds)
    urls = [u.strip() for u in servers.split(",") if u.strip()]
    if not urls:
        raise InputError("no server URL", field="--servers")
    console_users = load_users(users) if users is not None else None
    if console_users is not None and not any(u.nation == nation for u in console_users.values()):
        raise InputError(f"no user of {nation} in the users file (`triwarn users add --nation {nation}`)",
                         source=str(users))
    check_bind(host, tls_cert, tls_key, insecure_no_tls)
    check_reachable(urls)
    epoch_s = time.time() if epoch is None else float(epoch)
    out_dir = out if out is not None else Path(f"out/node-{nation}")
    console = dict(host=host, users=console_users, audit=audit if audit is not None else out_dir / "audit.jsonl",
                   tls_cert=tls_cert, tls_key=tls_key, insecure_no_tls=insecure_no_tls,
                   allowed_hosts=list(allowed_hosts or ()), two_person_cancel=two_person_cancel)
    source = None
    if own:
        from triwarn.node.sources import ReplaySource

        source = ReplaySource.from_files(own, measurements, nation=nation, epoch_unix_s=epoch_s)
        skips = source.log.skips
        others = skips.counts.get("unknown_sensor", 0)
        print(f"{measurements}: {plural(len(source.log), 'detection')} of {nation}'s sensors to replay"
              + (f"; {plural(others, 'line')} of other sensors left out" if others else ""), file=sys.stderr)
        if skips.total > others:  # bad lines, beyond the other nations' ones: say which and why
            print(source.log.summary(), file=sys.stderr)
    from triwarn.tracking.kernel_cache import compile_kernels

    compile_kernels()  # before the node starts its clock: a cold cache is a notice and a bar, not a stall
    asyncio.run(_serve_node(nation=nation, spec=spec, key=key, trust=trust, urls=urls, login=login, own=own,
                            source=source, exercise=exercise, step_s=step_s, port=port,
                            out_dir=out_dir, console=console, box_key=box_key, cap_profile=cap_signing))


def check_cap_signing(nation: str, *, live: bool, key: Path | None, cert: Path | None):
    """The nation's profile with the CAP signing key the node will use (--cap-key/--cap-cert, checked by
    loading them), or None to keep the configured profile. InputError (exit 2) when a live node's profile
    requires signed CAP (IPAWS takes XML-DSig enveloped signatures only) and no key is given or
    configured (signing_key/signing_cert in profiles.yaml): such a node would issue unsigned Actual
    alerts. Exercise nodes sign with their configured key or a key made for the run (warn/xmlsig.py)."""
    from dataclasses import replace

    from triwarn.warn import profiles, xmlsig

    if (key is None) != (cert is None):
        raise InputError("--cap-key and --cap-cert go together", field="--cap-key" if key is None else "--cap-cert")
    profile = profiles.profiles().get(nation, profiles.GENERIC)
    if key is not None:
        xmlsig.load_key(key, cert, profile.name)  # unreadable, not PEM or not the certificate's key: exit 2
        return replace(profile, signing_key=str(Path(key).resolve()), signing_cert=str(Path(cert).resolve()))
    if live and profile.ipaws and not (profile.signing_key and profile.signing_cert):
        raise InputError(f"a live {nation} node issues CAP for IPAWS, which takes signed CAP only, and no signing "
                         f"key is configured: give --cap-key FILE and --cap-cert FILE (PEM), or signing_key and "
                         f"signing_cert for {nation} in {profiles.PROFILES_PATH}", field="--cap-key")
    if live and profile.signing_key and profile.signing_cert:
        xmlsig.load_key(Path(profile.signing_key), Path(profile.signing_cert), profile.name)
    return None


def attach_journal(desk, out_dir: Path, now_unix_s: float, exercise: str | None):
    """The node's operator-correction journal, OUT/state/corrections.jsonl (triwarn.node.journal), attached
    to its desk: what operators' corrections left standing before a restart holds again. Unreadable lines
    are named on stderr and skipped; a journal that cannot be read at all is an InputError (exit 2)."""
    from triwarn.node.journal import JOURNAL_NAME, CorrectionJournal

    journal = CorrectionJournal(out_dir / "state" / JOURNAL_NAME, exercise=exercise)
    try:
        errors = desk.attach_journal(journal, now_unix_s)
    except OSError as exc:
        raise InputError(f"cannot read the operator-correction journal ({exc.strerror or exc})",
                         source=str(journal.path)) from None
    for error in errors:
        print(f"warning: {error}", file=sys.stderr)
    restored = len(desk.node.warner.carried)
    if restored:
        print(f"{journal.path}: {plural(restored, 'operator correction')} restored (held against the same "
              "evidence)", file=sys.stderr)
    return journal


def _console_security(nation: str, console: dict):
    """The node console's security (triwarn.api.guard.ConsoleSecurity) and, without a users file, a
    one-time operator login token."""
    from triwarn.api.audit import AuditLog
    from triwarn.api.guard import ConsoleSecurity

    try:
        audit = AuditLog(console["audit"])
    except OSError as exc:
        raise InputError(f"cannot open the audit log: {exc}", source=str(console["audit"]), field="--audit") from None
    security = ConsoleSecurity.for_bind(console["host"], (nation,), users=console["users"], audit=audit,
                                        extra_hosts=console["allowed_hosts"], tls=console["tls_cert"] is not None,
                                        two_person_live=console["two_person_cancel"])
    token = None
    if console["users"] is None:
        token = security.sessions.one_time(f"{nation}-console", (nation,), "operator")
    return security, token


async def _serve_node(*, nation, spec, key, trust, urls, login, own, source, exercise, step_s, port,
                      out_dir, console, box_key=None, cap_profile=None) -> None:
    from triwarn.api.node_app import node_app
    from triwarn.api.serve import start_server
    from triwarn.geo.areas import AreaIndex
    from triwarn.node.service import LiveNode, NodeTransport
    from triwarn.warn.policy import new_run_id

    transport = NodeTransport(nation, spec, key, trust, servers=urls, **login, exercise=exercise, box_key=box_key)
    settings = NodeSettings(nation=nation, exercise=exercise, run_id=new_run_id(time.time(), os.urandom(4)) + nation,
                            cap_profile=cap_profile)
    live = LiveNode(settings, own, transport, source, areas=AreaIndex.load(), step_s=step_s, out_dir=out_dir)
    journal = attach_journal(live.desk, out_dir, live.clock(), exercise)
    try:
        await live.start()
    except ConnectionError as exc:
        raise InputError(str(exc), field="--servers") from None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, live.stop)
    security, token = _console_security(nation, console)
    server = await start_server(node_app(live, security=security), host=console["host"], port=port,
                                tls_cert=console["tls_cert"], tls_key=console["tls_key"],
                                insecure_remote=console["insecure_no_tls"])
    mode = f"EXERCISE {exercise}" if exercise else "LIVE (CAP status Actual)"
    print(f"triwarn node {nation}: {mode}; {plural(len(own), 'own sensor')}; servers {', '.join(urls)}")
    print(f"  health:  {server.url}/api/health")
    print(f"  metrics: {server.url}/metrics")
    print(f"  CAP:     {out_dir / 'cap'} and {server.url}/api/cap/feed.atom")
    print(f"  UI:      {server.url}/" + (f"login?token={token}  (one-time operator login; --users for "
                                               "named users)" if token else "  (log in as a user of --users)"))
    print(f"  audit:   {console['audit']}")
    print(f"  journal: {journal.path} (operator corrections, kept across restarts)")
    print("running; Ctrl-C stops (the durable consumer is kept)", flush=True)
    try:
        await live.run()
    finally:
        print("stopping", flush=True)
        await server.stop()
        await live.close()
        security.audit.close()
