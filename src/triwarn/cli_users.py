"""`triwarn users add|list`: the operator console's users file (triwarn.api.auth; docs/console.md).

The password is read from the terminal (asked twice, not echoed) or, for scripts, from the first line
of standard input with --password-stdin: never from an option, where it would sit in the shell history
and the process list.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from triwarn.errors import InputError, exit_2_on_input_error

users_app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                        help="Operator console users: nation, role, password.")


@users_app.command("add", short_help="Add (or replace) a console user.")
@exit_2_on_input_error
def users_add(
    users: Annotated[Path, typer.Option(metavar="FILE", help="The users file (created if missing, mode 0600).")],
    name: Annotated[str, typer.Option(metavar="NAME",
                                      help="User name: lower-case letters, digits, . _ - (at most 64).")],
    nation: Annotated[str, typer.Option(metavar="CODE", help="The user's nation: us, jp or kr.")],
    role: Annotated[str, typer.Option(metavar="ROLE", help="viewer, operator or admin.")] = "viewer",
    password_stdin: Annotated[bool, typer.Option("--password-stdin",
                                                 help="Read the password (10 to 1024 characters) from standard input's "
                                                      "first line; without it the password is asked twice.")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Change an existing user.")] = False,
) -> None:
    """Add a user to the console's users file (a viewer sees the picture; an operator or admin also
    cancels and corrects alerts).

    \b
    Example:
      triwarn users add --users users.json --name aiko --nation jp --role operator
    """
    from triwarn.api.auth import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise InputError("empty password", field="password")
    user = add_user(users, name, nation.lower(), role.lower(), password, replace=replace)
    print(f"{users}: {user.name} ({user.nation}, {user.role})")


@users_app.command("list", short_help="List the console users.")
@exit_2_on_input_error
def users_list(
    users: Annotated[Path, typer.Option(metavar="FILE", help="The users file.")],
) -> None:
    """List the users of a users file: name, nation, role (never the hashes).

    \b
    Example:
      triwarn users list --users users.json
    """
    from triwarn.api.auth import load_users

    for u in load_users(users).values():
        print(f"{u.name}\t{u.nation}\t{u.role}")
