"""Generate the nats-server configurations and the JetStream stream plan from a NetworkSpec.

Topology (see docs/sharing.md):

- One server (or a three-server cluster) per nation, JetStream on, its own JetStream domain (the nation
  code). The partners' servers connect to the hub as leafnodes; the graph is a tree, so partner-to-
  partner traffic only ever passes through the hub.
- Per nation: a national account ``<N>`` (local applications) and an exchange account ``<N>_X``, the
  only account that shares anything. The exchange holds the outbox stream ``OUT_<N>`` (subjects
  ``tw.<n>.*.*``) and one inbox stream per sender, ``IN_<S>2<N>``. The node's exchange user may only publish the
  subjects the release policy allows.
- At the hub, each partner's leafnode lands in its link account ``<P>_LINK``. For every released
  (sender S, recipient R) pair the hub keeps a per-recipient outbox ``<S>2<R>`` in S's account at the
  hub (``S_X`` for the hub nation, ``S_LINK`` for a partner), sourced from ``OUT_<S>`` and filtered to
  the classes S releases to R. Its consumer-create API, flow-control replies and delivery subjects are
  *private exports to R's account only*: nothing else at the hub can read it, so the broker enforces
  who receives what. R's inbox for S, ``IN_<S>2<R>``, sources ``<S>2<R>`` through those imports (via
  ``FOR_<S>2<R>`` in R's link account at the hub when R is a partner).
- One stream per (sender, recipient) at every hop: a stream that discards its oldest messages when full
  drops whoever's are oldest, so a stream shared by two senders would let one sender's flood push the
  other's undelivered messages out while the recipient is down. Per-sender streams give each sender a
  fixed byte share that nobody else can take (per-subject message limits could not: they bound counts,
  not bytes, and a flood of maximum-size messages would still overrun a shared byte limit).
- Store-and-forward: every hop is a stored stream (OUT at the sender, S2R at the hub, IN at the
  receiver), each sourcing the previous one, so either a partner or the hub being down loses nothing;
  sourcing resumes from the last sequence it stored, so nothing is duplicated. JetStream's message-id
  de-duplication (Nats-Msg-Id = the message id) protects OUT against a retried publish.

- Limits (`LinkBudget`, sizing in docs/sharing.md "Broker limits"): every stream has max_bytes,
  max_msgs and max_msg_size and discards its oldest messages when full; every account has JetStream
  limits that fit exactly the streams planned for it (plus a small spare) and requires max_bytes on
  any stream, so a partner flooding its link fills only its own streams, never the hub's disk.
- Credentials: every user logs in with an nkey (the servers hold only public keys, so a copied server
  config logs nobody in); each nation's seeds go to its own file (triwarn.share.credentials).

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

MIB = 1024 * 1024
RETENTION_S = 7 * 24 * 3600


@dataclass(frozen=True)
class LinkBudget:
    """What one (sender, recipient) link is sized for; every broker limit is derived from it.

    Rates are a node's sustained traffic to one partner; sizes are measured encodings (signed JSON,
    bench figures in docs/sharing.md). A link's store holds RETENTION_S of that traffic, capped at
    `link_cap_bytes`: with the defaults the cap (256 MiB) still holds about 2 h of traffic, eight times
    the 900 s a receiver accepts a message for, so the cap only ever drops what is already stale.
    """

    track_updates_per_s: float = 100.0  # e.g. 100 tracks reported once a second
    track_bytes: int = 300              # one TrackState inside a TrackReport
    reports_per_s: float = 1.0          # TrackReports a second (one per node step)
    events_per_s: float = 1.0           # launch / impact / warning messages during an attack
    event_bytes: int = 1024
    heartbeats_per_s: float = 1.1       # heartbeat 1 Hz plus link reports every 10 s
    heartbeat_bytes: int = 400
    link_cap_bytes: int = 256 * MIB
    min_msg_bytes: int = 256            # smallest message (a heartbeat is ~300 B): bounds max_msgs
    # A 1,024-track report (schema maximum) is ~0.3 MB; 1 MiB leaves room for wider numbers and for
    # an encrypted, encoded payload.
    max_msg_bytes: int = MIB
    consumers_per_stream: int = 32      # durable node consumer, sources, restores, operator reads
    spare_streams: int = 2              # for an operator's ad-hoc stream, each at most spare_stream_bytes
    spare_stream_bytes: int = 64 * MIB

    def bytes_per_s(self) -> float:
        return (self.track_updates_per_s * self.track_bytes + self.events_per_s * self.event_bytes
                + self.heartbeats_per_s * self.heartbeat_bytes)

    def msgs_per_s(self) -> float:
        return self.reports_per_s + self.events_per_s + self.heartbeats_per_s

    def link_bytes(self) -> int:
        """Stored bytes for one link: RETENTION_S of its traffic, capped."""
        return int(min(self.bytes_per_s() * RETENTION_S, self.link_cap_bytes))

    def link_msgs(self) -> int:
        """Stored messages for one link: RETENTION_S of its messages, and never more than its bytes
        could hold of the smallest message (a flood of tiny messages hits this first)."""
        return int(min(self.msgs_per_s() * RETENTION_S, self.link_bytes() // self.min_msg_bytes))

    def max_payload(self) -> int:
        """The servers' max_payload: the largest message plus room for its headers."""
        return self.max_msg_bytes + 64 * 1024


DEFAULT_BUDGET = LinkBudget()


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


def stream_in(s: str, r: str) -> str:
    """Recipient r's inbox for what sender s releases to it (on r's servers)."""
    return f"IN_{s.upper()}2{r.upper()}"


def stream_for(s: str, r: str) -> str:
    """The hub's gathering stream for s -> r, in r's link account (r a partner)."""
    return f"FOR_{s.upper()}2{r.upper()}"


def senders_to(spec: NetworkSpec, r: str) -> list[str]:
    """The nations that release anything to r."""
    return [s for s in spec.nations if s != r and spec.released(s, r)]


def inbox_streams(spec: NetworkSpec, r: str) -> list[str]:
    """Every inbox stream of r, one per sender (what r's node consumes)."""
    return [stream_in(s, r) for s in senders_to(spec, r)]


def stream_s2r(s: str, r: str) -> str:
    return f"{s.upper()}2{r.upper()}"


def hub_account_of(spec: NetworkSpec, n: str) -> str:
    """The account at the hub server that holds nation n's traffic."""
    return exchange_account(n) if n == spec.hub else link_account(n)


def _import_api_prefix(s: str, r: str) -> str:
    return f"ex.{s}2{r}.API"


def _deliver_prefix(s: str, r: str) -> str:
    return f"dlv.{s}2{r}"


def _new_user_seed() -> str:
    return nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER).decode("ascii")


def public_key(seed: str) -> str:
    """The public nkey (U...) of a user seed (SU...)."""
    return nkeys.from_seed(seed.encode("ascii")).public_key.decode("ascii")


# Users per nation and how they log in: all by nkey (ShareTransport and `triwarn node` take the node's
# seed from the nation's credentials file). PASSWORD_ROLES stays as the switch for a role that must
# log in by user/password (an old client without nkey support); none needs it today.
PASSWORD_ROLES: tuple[str, ...] = ()
NKEY_ROLES = ("node", "app", "admin")


@dataclass
class Secrets:
    """Every secret of a generated network, by owner: passwords (PASSWORD_ROLES users; none by
    default), user nkey seeds (node, app, admin, and the hub's link admins) and the partners' leafnode
    seeds. Never written out whole: `triwarn.share.credentials` writes each nation's share into its
    own file."""

    passwords: dict[str, str] = field(default_factory=dict)  # user name -> password
    seeds: dict[str, str] = field(default_factory=dict)  # user name -> user nkey seed
    leaf_seeds: dict[str, str] = field(default_factory=dict)  # partner nation -> user nkey seed

    @classmethod
    def generate(cls, spec: NetworkSpec) -> Secrets:
        out = cls()
        for n in spec.nations:
            for role in PASSWORD_ROLES:
                out.passwords[f"{n}_{role}"] = secrets.token_urlsafe(18)
            for role in NKEY_ROLES:
                out.seeds[f"{n}_{role}"] = _new_user_seed()
        for p in spec.partners:
            # The hub's operators' login to a partner's link account: the hub nation's secret.
            out.seeds[f"{p}_linkadmin"] = _new_user_seed()
            out.leaf_seeds[p] = _new_user_seed()
        return out

    def leaf_public(self, partner: str) -> str:
        return public_key(self.leaf_seeds[partner])

    def user_entry(self, user: str, **extra) -> dict:
        """The server's entry for a user: name and password, or the public nkey of its seed."""
        if user in self.passwords:
            return {"user": user, "password": self.passwords[user], **extra}
        return {"nkey": public_key(self.seeds[user]), **extra}

    def owned_by(self, spec: NetworkSpec, nation: str) -> dict:
        """The secrets nation holds, and nothing of any other nation's: its own users, its leafnode
        seed (a partner) or its link-admin logins (the hub). The content of its credentials file."""
        mine = {f"{nation}_{role}" for role in (*PASSWORD_ROLES, *NKEY_ROLES)}
        if nation == spec.hub:
            mine |= {f"{p}_linkadmin" for p in spec.partners}
        out: dict = {"nation": nation,
                     "nkey_seeds": {u: seed for u, seed in self.seeds.items() if u in mine}}
        passwords = {u: pw for u, pw in self.passwords.items() if u in mine}
        if passwords:
            out["passwords"] = passwords
        if nation in self.leaf_seeds:
            out["leaf_seed"] = self.leaf_seeds[nation]
        return out


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
                              # The node may re-sync its own inboxes' sources (triwarn.share.resync).
                              *(f"$JS.API.STREAM.UPDATE.{s}" for s in inbox_streams(spec, n)),
                              f"$JS.{spec.hub}.API.INFO",
                              "$JS.API.CONSUMER.>", "$JS.ACK.>", "$JS.FC.>"]},
        "subscribe": {"allow": ["_INBOX.>", "deliver.>"]},
    }


def _admin_permissions(spec: NetworkSpec, n: str) -> dict:
    """The exchange admin may do anything in its account except publish under another nation's name."""
    return {"publish": {"deny": [f"tw.{o}.>" for o in spec.nations if o != n]}}


def _accounts(spec: NetworkSpec, n: str, sec: Secrets) -> dict:
    """The accounts block of nation n's server(s)."""
    accounts: dict[str, dict] = {
        natl_account(n): {
            "jetstream": "enabled",
            "users": [sec.user_entry(f"{n}_app")],
        },
        exchange_account(n): {
            "jetstream": "enabled",
            "users": [
                sec.user_entry(f"{n}_node", permissions=_node_permissions(spec, n)),
                sec.user_entry(f"{n}_admin", permissions=_admin_permissions(spec, n)),
            ],
        },
    }
    if n != spec.hub:
        return accounts
    for p in spec.partners:
        # Only the hub's operators log in here (to create the streams); the partner comes in as a leafnode.
        accounts[link_account(p)] = {"jetstream": "enabled", "users": [
            sec.user_entry(f"{p}_linkadmin"),
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
                   clustered: frozenset[str] = frozenset(), tls: dict | None = None,
                   budget: LinkBudget = DEFAULT_BUDGET) -> dict[str, dict]:
    """One nats-server config (a JSON-serialisable dict) per server name.

    store_root: directory under which each server keeps its JetStream files (``<root>/<server>``).
    tls: optional {"cert_file", "key_file", "ca_file"} applied to client, leafnode and route listeners
    (leafnode links then verify both ends).
    budget: sizes every account's JetStream limits, the servers' stores and max_payload.
    """
    names = server_names(spec, clustered)
    limits = account_limits(stream_plan(spec, replicas={n: 3 for n in clustered}, budget=budget), budget)
    hub_leaf_urls = [f"{'tls' if tls else 'nats'}://127.0.0.1:{ports.leaf[h]}" for h in names[spec.hub]]
    configs: dict[str, dict] = {}
    for n in spec.nations:
        accounts = _accounts(spec, n, sec)
        for account, acc in accounts.items():
            acc["jetstream"] = limits.get(account) or _limits(0, 0, budget)
        # The store holds every account's limit in full: no account can starve another of disk.
        store_bytes = sum(acc["jetstream"]["max_file"] for acc in accounts.values())
        memory_bytes = sum(acc["jetstream"]["max_memory"] for acc in accounts.values())
        for name in names[n]:
            cfg: dict = {
                "server_name": name,
                "host": "127.0.0.1",
                "port": ports.client[name],
                "max_payload": budget.max_payload(),
                "jetstream": {"store_dir": f"{store_root}/{name}", "domain": n,
                              "max_memory_store": memory_bytes, "max_file_store": store_bytes},
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


def stream_plan(spec: NetworkSpec, *, replicas: dict[str, int] | None = None,
                budget: LinkBudget = DEFAULT_BUDGET) -> list[StreamPlan]:
    """Streams in creation order: outboxes, then the hub's per-recipient outboxes, then the inboxes
    (with, for a partner recipient, the hub's gathering stream before each).

    Each stream is sized for the links it carries (budget.link_bytes() each) and, when full, drops its
    oldest messages: a flood fills the flooding link's own streams and never stops a publish. Past the
    sender's outbox every stream carries one (sender, recipient) link, so it is one sender's alone.
    """
    replicas = replicas or {}
    plan: list[StreamPlan] = []

    def base(name: str, n: str, links: int) -> dict:
        return {"name": name, "storage": "file", "retention": "limits", "discard": "old",
                "max_age": RETENTION_S * 10**9, "duplicate_window": 120 * 10**9,
                "max_bytes": links * budget.link_bytes(), "max_msgs": links * budget.link_msgs(),
                "max_msg_size": budget.max_msg_bytes, "num_replicas": replicas.get(n, 1)}

    for n in spec.nations:
        recipients = [r for r in spec.nations if r != n and spec.released(n, r)]
        cfg = base(stream_out(n), n, max(1, len(recipients)))
        cfg["subjects"] = [f"tw.{n}.*.*"]
        plan.append(StreamPlan(n, exchange_account(n), cfg))
    for s in spec.nations:
        for r in spec.nations:
            classes = sorted(spec.released(s, r))
            if s == r or not classes:
                continue
            cfg = base(stream_s2r(s, r), spec.hub, 1)
            # One transform per released class: a class the policy does not release is not copied.
            source: dict = {"name": stream_out(s), "subject_transforms": [
                {"src": subject_for(s, r, c), "dest": subject_for(s, r, c)} for c in classes]}
            if s != spec.hub:
                source["external"] = {"api": f"$JS.{s}.API", "deliver": ""}
            cfg["sources"] = [source]
            plan.append(StreamPlan(spec.hub, hub_account_of(spec, s), cfg))
    for r in spec.nations:
        for s in senders_to(spec, r):
            imported = [{"name": stream_s2r(s, r),
                         "external": {"api": _import_api_prefix(s, r), "deliver": _deliver_prefix(s, r)}}]
            cfg = base(stream_in(s, r), r, 1)
            if r == spec.hub:
                cfg["sources"] = imported
            else:
                # R's own account at the hub gathers what S releases to R, so that R's inbox sources it
                # through the hub's JetStream domain: the server re-tries domain sources the moment a
                # leafnode reconnects, instead of after its fixed back-off (10 s, 20 s, ... up to 2 min).
                gather = base(stream_for(s, r), spec.hub, 1)
                gather["sources"] = imported
                plan.append(StreamPlan(spec.hub, link_account(r), gather))
                cfg["sources"] = [{"name": stream_for(s, r), "external": {"api": f"$JS.{spec.hub}.API",
                                                                          "deliver": ""}}]
            plan.append(StreamPlan(r, exchange_account(r), cfg))
    return plan


def inbox_sources(spec: NetworkSpec, r: str) -> dict[str, list[dict]]:
    """What each of R's inbox streams must source, by stream name (the stream plan's sources): a node
    sets these at start and when it gives a held sender back (share/inbox.py), whatever the stream holds."""
    names = set(inbox_streams(spec, r))
    return {item.config["name"]: item.config["sources"] for item in stream_plan(spec)
            if item.nation == r and item.config["name"] in names}


def account_limits(plan: list[StreamPlan], budget: LinkBudget = DEFAULT_BUDGET) -> dict[str, dict]:
    """JetStream limits per account (nats-server's account `jetstream` block), fitted to its planned
    streams (bytes times replicas) plus `spare_streams` of `spare_stream_bytes`. Accounts without
    planned streams (the national ones) get the spare alone. max_bytes_required: no stream without a
    byte limit, so nobody can create one that grows until the disk is full."""
    out: dict[str, dict] = {}
    for item in plan:
        acc = out.setdefault(item.account, {"streams": 0, "bytes": 0})
        acc["streams"] += 1
        acc["bytes"] += item.config["max_bytes"] * item.config.get("num_replicas", 1)
    return {account: _limits(used["streams"], used["bytes"], budget) for account, used in out.items()}


def _limits(streams: int, stream_bytes: int, budget: LinkBudget) -> dict:
    total = streams + budget.spare_streams
    return {"max_memory": 16 * MIB, "max_file": stream_bytes + budget.spare_streams * budget.spare_stream_bytes,
            "max_streams": total, "max_consumers": total * budget.consumers_per_stream,
            "max_bytes_required": True}
