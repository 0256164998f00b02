"""Words for messages to the user: counts with the right plural, the right article, and a rich console
that wraps lines only on a terminal.

    plural(1, "launch")            -> "1 launch"
    plural(3, "launch")            -> "3 launches"
    plural(2, "sensor of kr", "sensors of kr")
    article("icbm")                -> "an icbm"
"""

from __future__ import annotations

import sys

_ES_ENDINGS = ("s", "x", "z", "ch", "sh")
_VOWEL_SOUND_EXCEPTIONS = {"us": False, "uk": False, "hour": True, "honest": True}
_SPELT_OUT = {"srbm", "mrbm", "irbm", "icbm", "slbm", "eez", "imm", "ekf", "ir", "sbirs", "heo"}


def plural(n: int | float, singular: str, plural_form: str | None = None) -> str:
    """`n` and the noun, singular for exactly 1, plural otherwise (an English -s/-es unless given)."""
    if plural_form is None:
        word = singular.rsplit(" ", 1)[-1]
        plural_form = singular + ("es" if word.lower().endswith(_ES_ENDINGS) else "s")
        if word.lower().endswith("y") and len(word) > 1 and word[-2].lower() not in "aeiou":
            plural_form = singular[:-1] + "ies"
    count = f"{n:g}" if isinstance(n, float) else str(n)
    return f"{count} {singular if n == 1 else plural_form}"


def article(noun: str) -> str:
    """`noun` with "a" or "an" before it, by its first sound (missile classes spelt out: "an ICBM", "an SRBM")."""
    first = noun.split(" ", 1)[0]
    key = first.lower()
    if key in _VOWEL_SOUND_EXCEPTIONS:
        vowel = _VOWEL_SOUND_EXCEPTIONS[key]
    elif key in _SPELT_OUT:
        vowel = key[0] in "aefhilmnorsx"  # read letter by letter: "an F", "an M", "an S"...
    else:
        vowel = key[:1] in ("a", "e", "i", "o", "u")
    return f"{'an' if vowel else 'a'} {noun}"


def console(*, stderr: bool = False):
    """A rich Console that wraps long lines to the terminal's width on a terminal, and never wraps when
    its output is a file or a pipe (where rich would otherwise cut lines at 80 columns)."""
    from rich.console import Console

    out = Console(stderr=stderr)
    stream = sys.stderr if stderr else sys.stdout
    is_tty = bool(getattr(stream, "isatty", lambda: False)())
    if not is_tty:
        out.soft_wrap = True
    return out
