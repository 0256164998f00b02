"""Per-nation credentials files: `credentials-<nation>.json`, written by `triwarn network config` and
`network up`, each holding only that nation's logins.

    {"nation": "kr",
     "nkey_seeds": {"kr_node": "SU...",                 # the node's login (ShareTransport, triwarn node)
                    "kr_admin": "SU...", "kr_app": "SU..."},   # operators and local applications
     "leaf_seed": "SU..."}                              # a partner's leafnode login to the hub

Every login is an nkey: the servers hold only the public keys. (A `passwords` table is read too, for a
role a network generates with a password: none by default, netconfig.PASSWORD_ROLES.)

The hub nation's file also holds `<partner>_linkadmin` seeds (its operators' logins to the partners'
link accounts). No file holds another nation's users, so a node handed the wrong file cannot log in
anywhere as anyone else: `load_credentials` refuses it with the file and the nation it belongs to.

This is a file edge: it reads and writes; `NetworkSpec`/`Secrets` decide what goes where.
"""

from __future__ import annotations

import json
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from triwarn.errors import InputError
from triwarn.share.netconfig import Secrets
from triwarn.share.policy import NetworkSpec


def credentials_path(directory: Path, nation: str) -> Path:
    return Path(directory) / f"credentials-{nation}.json"


def write_credentials(sec: Secrets, spec: NetworkSpec, directory: Path) -> list[Path]:
    """One file per nation, mode 0600, holding only that nation's secrets (Secrets.owned_by)."""
    written = []
    for nation in spec.nations:
        path = credentials_path(directory, nation)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(sec.owned_by(spec, nation), fh, indent=2)
        written.append(path)
    return written


@dataclass(frozen=True)
class NationCredentials:
    """One nation's logins, as read from its credentials file."""

    nation: str
    passwords: dict[str, str]
    nkey_seeds: dict[str, str]
    source: str = "<memory>"

    def login(self, role: str, servers: list[str], tls: ssl.SSLContext | None = None,
              partner: str | None = None) -> dict:
        """Keyword arguments for nats.connect (and, for role 'node', ShareTransport): servers plus
        user/password or nkeys_seed_str. role: node, admin, app, or linkadmin (with `partner`; hub only)."""
        user = f"{partner}_linkadmin" if role == "linkadmin" else f"{self.nation}_{role}"
        out: dict = {"servers": servers}
        if user in self.passwords:
            out |= {"user": user, "password": self.passwords[user]}
        elif user in self.nkey_seeds:
            out["nkeys_seed_str"] = self.nkey_seeds[user]
        else:
            raise InputError(f"no login for {user} in {self.nation}'s credentials", source=self.source,
                             field="passwords/nkey_seeds")
        if tls is not None:
            out["tls"] = tls
        return out

    def node_login(self) -> dict:
        """The node's login without servers: `ShareTransport(..., servers=urls, **creds.node_login())`."""
        out = self.login("node", [])
        del out["servers"]
        return out


def parse_credentials(doc: object, nation: str, *, source: str) -> NationCredentials:
    """Validate a parsed credentials document for `nation`; InputError names what is wrong."""
    if not isinstance(doc, dict):
        raise InputError("expected a JSON object", source=source)
    owner = doc.get("nation")
    if owner is None and "passwords" in doc:
        raise InputError("this is an old all-nations credentials.json; run `triwarn network config` again "
                         f"and give this node credentials-{nation}.json", source=source, field="nation")
    if owner != nation:
        raise InputError(f"these are the credentials of {owner}, not of {nation}: a {nation} node takes "
                         f"credentials-{nation}.json", source=source, field="nation")
    tables = {}
    for key in ("passwords", "nkey_seeds"):
        table = doc.get(key, {})
        if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in table.items()):
            raise InputError("expected a mapping of user name to string", source=source, field=key)
        tables[key] = table
    return NationCredentials(nation=nation, passwords=tables["passwords"], nkey_seeds=tables["nkey_seeds"],
                             source=source)


def load_credentials(path: Path, nation: str) -> NationCredentials:
    """Read `nation`'s credentials file; InputError (file, field) if it is missing, malformed or another
    nation's."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise InputError("credentials file not found", source=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", source=str(path)) from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InputError(f"not JSON: {exc}", source=str(path)) from None
    return parse_credentials(doc, nation, source=str(path))
