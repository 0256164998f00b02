"""`triwarn keys ...` and `triwarn network ...`: nation keys and the NATS network."""

from __future__ import annotations

import typer

keys_app = typer.Typer(no_args_is_help=True, help="Nation signing keys (Ed25519).")
network_app = typer.Typer(no_args_is_help=True, help="The three-nation NATS network: config and local servers.")
