"""Errors about bad input: each names what was wrong so that the user can fix it.

The command line turns an InputError into a one-line message on stderr and exit code 2.
"""

from __future__ import annotations

import functools
import sys


class InputError(ValueError):
    """Input that cannot be used: a file, line and field (where known) and why."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.source = source
        self.line = line
        self.field = field
        self.reason = message
        where = ""
        if source is not None:
            where = source if line is None else f"{source}:{line}"
        if field is not None:
            where = f"{where}: field '{field}'" if where else f"field '{field}'"
        super().__init__(f"{where}: {message}" if where else message)


def exit_2_on_input_error(fn):
    """Decorate a command: an InputError becomes `triwarn: error: ...` on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            import typer  # only the command line needs it

            print(f"triwarn: error: {exc}", file=sys.stderr)
            raise typer.Exit(code=2) from None

    return wrapper
