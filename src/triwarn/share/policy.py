"""The network description (network.yaml) and the release policy it states.

network.yaml::

    version: 1
    hub: us                         # the nation whose server links the others (leafnodes connect to it)
    nations: [us, jp, kr]
    release:                        # sender -> recipient -> message classes the sender releases to it
      us: {jp: [track, launch, impact, warning, heartbeat, link], kr: [launch, impact, warning, heartbeat]}
      jp: {us: [...], kr: [...]}
      kr: {us: [...], jp: [...]}
    ports:                          # optional; absent ports are chosen free at start-up
      us: {client: 4222, leaf: 7422}
      jp: {client: 4223}

A (sender, recipient, class) triple absent from `release` is not released: the default is to share
nothing. The same policy is enforced by the sending node (`Release.check`) and, through the generated
server configuration, by the brokers.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from triwarn.errors import InputError
from triwarn.share.schema import MESSAGE_CLASSES


@dataclass(frozen=True)
class NetworkSpec:
    """Nations, the hub and the release policy. release[sender][recipient] is a frozenset of classes."""

    nations: tuple[str, ...]
    hub: str
    release: dict[str, dict[str, frozenset[str]]]
    ports: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def partners(self) -> tuple[str, ...]:
        """The nations other than the hub (they connect to it as leafnodes)."""
        return tuple(n for n in self.nations if n != self.hub)

    def released(self, sender: str, recipient: str) -> frozenset[str]:
        return self.release.get(sender, {}).get(recipient, frozenset())

    def allows(self, sender: str, recipient: str, msg_class: str) -> bool:
        return msg_class in self.released(sender, recipient)

    def recipients(self, sender: str, msg_class: str) -> tuple[str, ...]:
        """Nations that `sender` releases `msg_class` to, in the spec's nation order."""
        return tuple(r for r in self.nations if r != sender and self.allows(sender, r, msg_class))


def parse_network(doc: object, *, source: str = "network.yaml") -> NetworkSpec:
    """Validate a parsed YAML document into a NetworkSpec; InputError names the field that is wrong."""
    if not isinstance(doc, dict):
        raise InputError("expected a mapping at the top level", source=source)
    unknown = set(doc) - {"version", "hub", "nations", "release", "ports"}
    if unknown:
        raise InputError(f"unknown keys {sorted(unknown)}", source=source)
    if doc.get("version", 1) != 1:
        raise InputError(f"unsupported version {doc.get('version')!r}; this reads version 1",
                         source=source, field="version")
    nations = doc.get("nations")
    if (not isinstance(nations, list) or len(nations) < 2
            or not all(isinstance(n, str) and len(n) == 2 and n.isalpha() and n.islower() for n in nations)):
        raise InputError("expected a list of at least two two-letter lower-case nation codes",
                         source=source, field="nations")
    if len(set(nations)) != len(nations):
        raise InputError("a nation is listed twice", source=source, field="nations")
    hub = doc.get("hub")
    if hub not in nations:
        raise InputError(f"hub {hub!r} is not one of the nations {nations}", source=source, field="hub")
    release_doc = doc.get("release") or {}
    if not isinstance(release_doc, dict):
        raise InputError("expected a mapping sender -> recipient -> classes", source=source, field="release")
    release: dict[str, dict[str, frozenset[str]]] = {}
    for sender, by_recipient in release_doc.items():
        where = f"release.{sender}"
        if sender not in nations:
            raise InputError(f"sender {sender!r} is not one of the nations", source=source, field=where)
        if not isinstance(by_recipient, dict):
            raise InputError("expected a mapping recipient -> classes", source=source, field=where)
        release[sender] = {}
        for recipient, classes in by_recipient.items():
            where_r = f"{where}.{recipient}"
            if recipient not in nations or recipient == sender:
                raise InputError(f"recipient {recipient!r} is not another nation", source=source,
                                 field=where_r)
            if not isinstance(classes, list):
                raise InputError("expected a list of message classes", source=source, field=where_r)
            bad = [c for c in classes if c not in MESSAGE_CLASSES]
            if bad:
                raise InputError(f"unknown message classes {bad}; known: {list(MESSAGE_CLASSES)}",
                                 source=source, field=where_r)
            release[sender][recipient] = frozenset(classes)
    ports_doc = doc.get("ports") or {}
    ports: dict[str, dict[str, int]] = {}
    if not isinstance(ports_doc, dict):
        raise InputError("expected a mapping nation -> {client, leaf}", source=source, field="ports")
    for nation, entry in ports_doc.items():
        if nation not in nations or not isinstance(entry, dict):
            raise InputError("expected a known nation mapped to {client: N, leaf: N}", source=source,
                             field=f"ports.{nation}")
        for kind, port in entry.items():
            if kind not in ("client", "leaf", "cluster") or not isinstance(port, int) or not 0 < port < 65536:
                raise InputError("expected client/leaf/cluster: a port 1-65535", source=source,
                                 field=f"ports.{nation}.{kind}")
        ports[nation] = dict(entry)
    return NetworkSpec(nations=tuple(nations), hub=hub, release=release, ports=ports)


def load_network(path: Path | None = None) -> NetworkSpec:
    """Read network.yaml; None reads the embedded default three-nation network."""
    if path is None:
        text = (importlib.resources.files("triwarn") / "data" / "network.yaml").read_text()
        return parse_network(yaml.safe_load(text), source="<embedded network.yaml>")
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", source=str(path)) from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise InputError(f"not valid YAML: {exc}", source=str(path),
                         line=None if line is None else line + 1) from None
    return parse_network(doc, source=str(path))


@dataclass
class Release:
    """The sending side's release check: which recipients get a message class from this nation.

    `refused` counts messages the policy stopped, by class; a refused message is never sent.
    """

    spec: NetworkSpec
    nation: str
    refused: dict[str, int] = field(default_factory=dict)

    def recipients(self, msg_class: str, wanted: tuple[str, ...] | None = None) -> tuple[str, ...]:
        """Recipients the message may go to: all released ones, or those of `wanted` that are released.

        Each wanted recipient the policy refuses is counted in `refused[msg_class]`.
        """
        allowed = self.spec.recipients(self.nation, msg_class)
        if wanted is None:
            if not allowed:
                self.refused[msg_class] = self.refused.get(msg_class, 0) + 1
            return allowed
        ok = tuple(r for r in wanted if r in allowed)
        n_refused = len(wanted) - len(ok)
        if n_refused:
            self.refused[msg_class] = self.refused.get(msg_class, 0) + n_refused
        return ok
