"""Generate the nats-server configurations and the JetStream stream plan from a NetworkSpec.

Topology (see docs/sharing.md):

- One server (or a three-server cluster) per nation, JetStream on, its own JetStream domain (the nation
  code). The partners' servers connect to the hub as leafnodes; the graph is a tree, so partner-to-
  partner traffic only ever passes through the hub.
- Per nation: a national account ``<N>`` (local applications) and an exchange account ``<N>_X``, the
  only account that shares anything. The exchange holds the outbox stream ``OUT_<N>`` (subjects
  ``tw.<n>.*.*``) and the inbox stream ``IN_<N>``. The node's exchange user may only publish the
  subjects the release policy allows.
- At the hub, each partner's leafnode lands in its link account ``<P>_LINK``. For every released
  (sender S, recipient R) pair the hub keeps a per-recipient outbox ``<S>2<R>`` in S's account at the
  hub (``S_X`` for the hub nation, ``S_LINK`` for a partner), sourced from ``OUT_<S>`` and filtered to
  the classes S releases to R. Its consumer-create API, flow-control replies and delivery subjects are
  *private exports to R's account only*: nothing else at the hub can read it, so the broker enforces
  who receives what. R's inbox ``IN_<R>`` sources every ``<S>2<R>`` through those imports.
- Store-and-forward: every hop is a stored stream (OUT at the sender, S2R at the hub, IN at the
  receiver), each sourcing the previous one, so either a partner or the hub being down loses nothing;
  sourcing resumes from the last sequence it stored, so nothing is duplicated. JetStream's message-id
  de-duplication (Nats-Msg-Id = the message id) protects OUT against a retried publish.

Everything here is pure: inputs are the spec, ports and secrets; outputs are JSON-serialisable dicts
(nats-server reads JSON config files) and the stream plan.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field

import nkeys

from triwarn.share.policy import NetworkSpec
from triwarn.share.schema import subject_for

# Partners re-dial the hub every second after losing it (a duration string, as nats-server wants).
LEAF_RECONNECT = "1s"


def server_names(spec: NetworkSpec, clustered: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    """Server names per nation: ['kr'] for one server, ['us-1', 'us-2', 'us-3'] for a cluster."""
    return {n: [f"{n}-{i}" for i in (1, 2, 3)] if n in clustered else [n] for n in spec.nations}


def natl_account(n: str) -> str:
    return n.upper()


def exchange_account(n: str) -> str:
    return f"{n.upper()}_X"


def link_account(p: str) -> str:
    return f"{p.upper()}_LINK"


def stream_out(n: str) -> str:
    return f"OUT_{n.upper()}"


def stream_in(n: str) -> str:
    return f"IN_{n.upper()}"


def stream_for(r: str) -> str:
    return f"FOR_{r.upper()}"


def stream_s2r(s: str, r: str) -> str:
    return f"{s.upper()}2{r.upper()}"


def hub_account_of(spec: NetworkSpec, n: str) -> str:
    """The account at the hub server that holds nation n's traffic."""
    return exchange_account(n) if n == spec.hub else link_account(n)


def _import_api_prefix(s: str, r: str) -> str:
    return f"ex.{s}2{r}.API"


def _deliver_prefix(s: str, r: str) -> str:
    return f"dlv.{s}2{r}"


@dataclass
class Secrets:
    """Passwords for local users and nkey seeds for the leafnode links (one per partner)."""

    passwords: dict[str, str] = field(default_factory=dict)  # user name -> password
    leaf_seeds: dict[str, str] = field(default_factory=dict)  # partner nation -> user nkey seed

    @classmethod
    def generate(cls, spec: NetworkSpec) -> Secrets:
        out = cls()
        for n in spec.nations:
            for role in ("app", "node", "admin"):
                out.passwords[f"{n}_{role}"] = secrets.token_urlsafe(18)
        for p in spec.partners:
            out.passwords[f"{p}_linkadmin"] = secrets.token_urlsafe(18)
            out.leaf_seeds[p] = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER).decode("ascii")
        return out

    def leaf_public(self, partner: str) -> str:
        return nkeys.from_seed(self.leaf_seeds[partner].encode("ascii")).public_key.decode("ascii")


@dataclass
class Ports:
    """Ports per server name: client, and leaf (hub servers), cluster (clustered nations)."""

    client: dict[str, int]
    leaf: dict[str, int] = field(default_factory=dict)
    cluster: dict[str, int] = field(default_factory=dict)


def _node_permissions(spec: NetworkSpec, n: str) -> dict:
    """The exchange-account node user may publish exactly the released subjects and use JetStream."""
    released = [subject_for(n, r, c) for r in spec.nations if r != n for c in sorted(spec.released(n, r))]
    return {
        "publish": {"allow": [*released, "$JS.API.INFO", "$JS.API.STREAM.INFO.*",
                              f"$JS.API.STREAM.MSG.GET.{stream_out(n)}",
                              # The node may re-sync its own inbox's sources (triwarn.share.resync).
                              f"$JS.API.STREAM.UPDATE.{stream_in(n)}", f"$JS.{spec.hub}.API.INFO",
                              "$JS.API.CONSUMER.>", "$JS.ACK.>", "$JS.FC.>"]},
        "subscribe": {"allow": ["_INBOX.>", "deliver.>"]},
    }


def _accounts(spec: NetworkSpec, n: str, sec: Secrets) -> dict:
    """The accounts block of nation n's server(s)."""
    accounts: dict[str, dict] = {
        natl_account(n): {
            "jetstream": "enabled",
            "users": [{"user": f"{n}_app", "password": sec.passwords[f"{n}_app"]}],
        },
        exchange_account(n): {
            "jetstream": "enabled",
            "users": [
                {"user": f"{n}_node", "password": sec.passwords[f"{n}_node"],
                 "permissions": _node_permissions(spec, n)},
                {"user": f"{n}_admin", "password": sec.passwords[f"{n}_admin"]},
            ],
        },
    }
    if n != spec.hub:
        return accounts
    for p in spec.partners:
        # Only the hub's operators log in here (to create the streams); the partner comes in as a leafnode.
        accounts[link_account(p)] = {"jetstream": "enabled", "users": [
            {"user": f"{p}_linkadmin", "password": sec.passwords[f"{p}_linkadmin"]},
            # The partner's leafnode: an nkey (the hub holds only the public key), usable for nothing else.
            {"nkey": sec.leaf_public(p), "allowed_connection_types": ["LEAFNODE"]},
        ]}
    for acc in accounts.values():
        acc.setdefault("exports", [])
        acc.setdefault("imports", [])
    for s in spec.nations:
        for r in spec.nations:
            if s == r or not spec.released(s, r):
                continue
            holder, reader = hub_account_of(spec, s), hub_account_of(spec, r)
            name = stream_s2r(s, r)
            create = f"$JS.API.CONSUMER.CREATE.{name}"
            accounts[holder]["exports"] += [
                {"service": create, "accounts": [reader]},
                {"service": f"{create}.>", "accounts": [reader]},
                {"service": f"$JS.FC.{name}.>", "accounts": [reader]},
                {"stream": f"{_deliver_prefix(s, r)}.>", "accounts": [reader]},
            ]
            api = _import_api_prefix(s, r)
            accounts[reader]["imports"] += [
                {"service": {"account": holder, "subject": create}, "to": f"{api}.CONSUMER.CREATE.{name}"},
                {"service": {"account": holder, "subject": f"{create}.>"},
                 "to": f"{api}.CONSUMER.CREATE.{name}.>"},
                {"service": {"account": holder, "subject": f"$JS.FC.{name}.>"}},
                {"stream": {"account": holder, "subject": f"{_deliver_prefix(s, r)}.>"}},
            ]
    return accounts


def server_configs(spec: NetworkSpec, ports: Ports, sec: Secrets, store_root: str, *,
                   clustered: frozenset[str] = frozenset(), tls: dict | None = None) -> dict[str, dict]:
    """One nats-server config (a JSON-serialisable dict) per server name.

    store_root: directory under which each server keeps its JetStream files (``<root>/<server>``).
    tls: optional {"cert_file", "key_file", "ca_file"} applied to client, leafnode and route listeners
    (leafnode links then verify both ends).
    """
    names = server_names(spec, clustered)
    hub_leaf_urls = [f"{'tls' if tls else 'nats'}://127.0.0.1:{ports.leaf[h]}" for h in names[spec.hub]]
    configs: dict[str, dict] = {}
    for n in spec.nations:
        accounts = _accounts(spec, n, sec)
        for name in names[n]:
            cfg: dict = {
                "server_name": name,
                "host": "127.0.0.1",
                "port": ports.client[name],
                "jetstream": {"store_dir": f"{store_root}/{name}", "domain": n,
                              "max_memory_store": 64 * 1024 * 1024, "max_file_store": 1024 * 1024 * 1024},
                "accounts": accounts,
            }
            if tls:
                cfg["tls"] = dict(tls)
            if len(names[n]) > 1:
                cfg["cluster"] = {
                    "name": n,
                    "host": "127.0.0.1",
                    "port": ports.cluster[name],
                    "routes": [f"nats-route://127.0.0.1:{ports.cluster[o]}" for o in names[n] if o != name],
                }
                if tls:
                    cfg["cluster"]["tls"] = {**tls, "verify": True}
            if n == spec.hub:
                # Leafnodes authenticate as the nkey users of the link accounts (see _accounts).
                cfg["leafnodes"] = {"host": "127.0.0.1", "port": ports.leaf[name]}
                if tls:
                    cfg["leafnodes"]["tls"] = {**tls, "verify": True}
            else:
                remote: dict = {"urls": hub_leaf_urls, "account": exchange_account(n),
                                "nkey": sec.leaf_seeds[n]}
                if tls:
                    remote["tls"] = {"cert_file": tls["cert_file"], "key_file": tls["key_file"],
                                     "ca_file": tls["ca_file"]}
                cfg["leafnodes"] = {"reconnect": LEAF_RECONNECT, "remotes": [remote]}
            configs[name] = cfg
    return configs


@dataclass(frozen=True)
class StreamPlan:
    """A stream to create: on nation's servers, in account, with this JetStream API config."""

    nation: str
    account: str
    config: dict


def stream_plan(spec: NetworkSpec, *, replicas: dict[str, int] | None = None) -> list[StreamPlan]:
    """Streams in creation order: outboxes, then the hub's per-recipient outboxes, then inboxes."""
    replicas = replicas or {}
    plan: list[StreamPlan] = []

    def base(name: str, n: str) -> dict:
        return {"name": name, "storage": "file", "retention": "limits", "discard": "old",
                "max_age": 7 * 24 * 3600 * 10**9, "duplicate_window": 120 * 10**9,
                "num_replicas": replicas.get(n, 1)}

    for n in spec.nations:
        cfg = base(stream_out(n), n)
        cfg["subjects"] = [f"tw.{n}.*.*"]
        plan.append(StreamPlan(n, exchange_account(n), cfg))
    for s in spec.nations:
        for r in spec.nations:
            classes = sorted(spec.released(s, r))
            if s == r or not classes:
                continue
            cfg = base(stream_s2r(s, r), spec.hub)
            # One transform per released class: a class the policy does not release is not copied.
            source: dict = {"name": stream_out(s), "subject_transforms": [
                {"src": subject_for(s, r, c), "dest": subject_for(s, r, c)} for c in classes]}
            if s != spec.hub:
                source["external"] = {"api": f"$JS.{s}.API", "deliver": ""}
            cfg["sources"] = [source]
            plan.append(StreamPlan(spec.hub, hub_account_of(spec, s), cfg))
    for r in spec.nations:
        senders = [s for s in spec.nations if s != r and spec.released(s, r)]
        if not senders:
            continue
        imported = [
            {"name": stream_s2r(s, r),
             "external": {"api": _import_api_prefix(s, r), "deliver": _deliver_prefix(s, r)}}
            for s in senders
        ]
        cfg = base(stream_in(r), r)
        if r == spec.hub:
            cfg["sources"] = imported
        else:
            # R's own account at the hub gathers what is released to R, so that R's inbox sources it
            # through the hub's JetStream domain: the server re-tries domain sources the moment a
            # leafnode reconnects, instead of after its fixed back-off (10 s, 20 s, ... up to 2 min).
            gather = base(stream_for(r), spec.hub)
            gather["sources"] = imported
            plan.append(StreamPlan(spec.hub, link_account(r), gather))
            cfg["sources"] = [{"name": stream_for(r), "external": {"api": f"$JS.{spec.hub}.API",
                                                                   "deliver": ""}}]
        plan.append(StreamPlan(r, exchange_account(r), cfg))
    return plan
