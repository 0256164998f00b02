"""`triwarn keys ...` and `triwarn network ...`: nation keys and the NATS network."""

from __future__ import annotations

import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Annotated

import typer

from triwarn.errors import InputError, exit_2_on_input_error

keys_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                       short_help='Nation keys (Ed25519 signing, X25519 encryption).',
                       help="Nation keys (Ed25519 signing, X25519 encryption): create a nation's keys, list a "
                            "trust store.")
network_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                          short_help='The NATS network: configs, servers, schema.',
                          help="The three-nation NATS network: server configs, local servers, the wire schema.")




def _nation(value: str) -> str:
    if len(value) != 2 or not value.isalpha():
        raise InputError(f"expected a two-letter nation code, got {value!r}", field="--nation")
    return value.lower()


@keys_app.command("new", short_help="Create a nation's signing and encryption keys.")
@exit_2_on_input_error
def keys_new(
    nation: Annotated[str, typer.Option(metavar="CODE", help="Two-letter nation code, e.g. kr.")],
    directory: Annotated[Path, typer.Option("--dir", metavar="DIR",
                                            help="Where to write the key files.")] = Path("keys"),
    force: Annotated[bool, typer.Option(help="Replace an existing key.")] = False,
) -> None:
    """Create a nation's keys: signing (Ed25519) DIR/NATION.key (private, mode 0600) and DIR/NATION.pub,
    and encryption (X25519) DIR/NATION.xkey (private, 0600) and DIR/NATION.xpub. A node whose key folder
    holds its .xkey seals every message to each recipient (docs/sharing.md).

    \b
    Example:
      triwarn keys new --nation kr --dir keys
    """
    from triwarn.share.signing import write_key_pair

    code = _nation(nation)
    key_path, pub_path = write_key_pair(code, directory, overwrite=force)
    print(f"signing key:        {key_path} (private: keep it secret)")
    print(f"signing public key: {pub_path} (give it to the partners' trust stores)")
    print(f"encryption key:     {directory / f'{code}.xkey'} (private: keep it secret)")
    print(f"encryption public:  {directory / f'{code}.xpub'} (give it to the partners' trust stores)")


@keys_app.command("trust", short_help='List the public keys in a trust store.')
@exit_2_on_input_error
def keys_trust(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Trust store: a directory of NATION.pub files.")],
) -> None:
    """List the public keys in a trust store: one line per nation, its code and key.

    \b
    Example:
      triwarn keys trust keys
    """
    from triwarn.share.signing import TrustStore, public_key_text

    store = TrustStore.load_dir(directory)
    if not store.keys:
        raise InputError("no NATION.pub files", source=str(directory))
    for nation, key in sorted(store.keys.items()):
        print(f"{nation}  {public_key_text(key)}")


@network_app.command("config", short_help="Write the servers' configs and credentials.")
@exit_2_on_input_error
def network_config(
    out: Annotated[Path, typer.Option(metavar="DIR", help="Directory for the server configs.")],
    network: Annotated[Path | None, typer.Option(metavar="FILE",
                                                 help="network.yaml (default: the embedded one).")] = None,
    cluster: Annotated[list[str] | None, typer.Option(
        metavar="CODE", help="A nation to run as a three-server cluster with JetStream replicas 3 (repeatable).")
    ] = None,
    store_dir: Annotated[str, typer.Option("--store-dir", metavar="DIR",
                                           help="JetStream storage root on the servers.")] = "./jetstream",
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert", metavar="FILE",
                                                  help="Server cert (PEM): TLS on.")] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", metavar="FILE", help="Its private key (PEM).")] = None,
    tls_ca: Annotated[Path | None, typer.Option("--tls-ca", metavar="FILE",
                                                help="CA that signs every server (PEM).")] = None,
    keys: Annotated[Path | None, typer.Option("--keys", metavar="DIR", help=(
        "Also make every nation's signing and encryption keys here (existing ones kept): for a network "
        "on one machine; in a deployment each nation runs `triwarn keys new`."))] = None,
) -> None:
    """Write one nats-server config per server, the stream plan and one credentials file per nation
    (credentials-NATION.json, mode 0600: give each nation only its own). With --keys DIR, also every
    nation's keys in DIR: NATION.key and NATION.xkey (private, 0600), NATION.pub and NATION.xpub; nodes
    given `--keys DIR` then sign and seal every message end to end (docs/sharing.md).

    \b
    Example:
      triwarn network config --out net/config --keys keys
    """
    from triwarn.share.policy import load_network
    from triwarn.share.servers import generate, write_generated

    spec = load_network(network)
    clustered = frozenset(_nation(c) for c in cluster or [])
    unknown = clustered - set(spec.nations)
    if unknown:
        raise InputError(f"not a nation of the network: {sorted(unknown)}", field="--cluster")
    tls = None
    if any((tls_cert, tls_key, tls_ca)):
        if not all((tls_cert, tls_key, tls_ca)):
            raise InputError("TLS needs all of --tls-cert, --tls-key and --tls-ca", field="--tls-cert")
        tls = {"cert_file": str(tls_cert), "key_file": str(tls_key), "ca_file": str(tls_ca)}
    gen = generate(spec, Path(store_dir), clustered=clustered, tls=tls)
    for path in write_generated(gen, out):
        print(path)
    if keys is not None:
        from triwarn.share.signing import write_network_keys

        made = write_network_keys(spec.nations, keys)
        for path in made:
            print(path)
        if not made:
            print(f"{keys}: every nation's signing and encryption keys are there already (kept)")


@network_app.command("up", short_help="Start the network's servers locally.")
@exit_2_on_input_error
def network_up(
    network: Annotated[Path | None, typer.Option(metavar="FILE",
                                                 help="network.yaml (default: the embedded one).")] = None,
    workdir: Annotated[Path | None, typer.Option(metavar="DIR",
                                                 help="Configs, logs, JetStream (default: a temporary one).")] = None,
    cluster: Annotated[list[str] | None, typer.Option(
        metavar="CODE", help="A nation to run as a three-server cluster (repeatable).")] = None,
) -> None:
    """Start the network's servers on free loopback ports, print their URLs, stop them on Ctrl-C.

    A server that dies is started again (after 0.5 s, doubling up to 30 s if it keeps dying; each exit
    and restart is logged on stderr); the others keep running. Each nation's logins are in
    DIR/config/credentials-NATION.json. Needs nats-server (installed by `make demo` / `make test`).

    \b
    Example:
      triwarn network up --workdir net
    """
    from triwarn.share.policy import load_network
    from triwarn.share.servers import LocalNetwork

    spec = load_network(network)
    clustered = frozenset(_nation(c) for c in cluster or [])
    unknown = clustered - set(spec.nations)
    if unknown:
        raise InputError(f"not a nation of the network: {sorted(unknown)}", field="--cluster")
    root = workdir or Path(tempfile.mkdtemp(prefix="triwarn-net-"))

    # Ctrl-C and SIGTERM only raise a flag: an interrupt arriving mid-start or mid-shutdown must not
    # leave servers running behind us.
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    with LocalNetwork.start(spec, root, clustered=clustered) as net:
        for nation in spec.nations:
            print(f"{nation}: {' '.join(net.urls(nation))}  node user {nation}_node (nkey)  "
                  f"credentials {root / 'config' / f'credentials-{nation}.json'}")
        print("servers: " + "  ".join(f"{name} pid {pid}" for name, pid in net.pids().items()))
        print(f"configs: {root / 'config'}   logs: {root / 'logs'}")
        print("running; Ctrl-C stops the servers", flush=True)
        while not stop.is_set():
            for line in net.restart_dead():
                print(line, file=sys.stderr, flush=True)
            stop.wait(0.5)
        print("stopping", flush=True)


@network_app.command("schema", short_help='Export the wire schema as JSON Schema.')
@exit_2_on_input_error
def network_schema(
    out: Annotated[Path, typer.Option(metavar="DIR", help="Directory for the JSON Schema files.")] = Path(
        "docs/schema"),
) -> None:
    """Export the wire schema as JSON Schema: one file for all messages and one per message class.

    \b
    Example:
      triwarn network schema --out schema
    """
    from triwarn.share.schema import write_json_schemas

    for path in write_json_schemas(out):
        print(path)
