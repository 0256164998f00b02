"""Area names as the warnings show them: one name per CAP language for an ISO 3166-2 code.

The names themselves come from triwarn.geo.areas_names (the areas dataset's own table); this module only
maps them to CAP's language tags. An unknown code falls back to the code itself, so a new area never
blocks a warning.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from triwarn.geo.areas_names import AREA_NAMES, CODE_ALIASES

LANGUAGES = ("en-US", "ja-JP", "ko-KR")

AreaNames = Callable[[str], Mapping[str, str]]
"""A lookup from an ISO 3166-2 code to its name per language ("en-US", "ja-JP", "ko-KR")."""


def area_name(code: str) -> dict[str, str]:
    """The area's name in each of LANGUAGES; the code itself where the table has no entry."""
    names = AREA_NAMES.get(CODE_ALIASES.get(code, code))
    if names is None:
        return dict.fromkeys(LANGUAGES, code)
    return dict(zip(LANGUAGES, names, strict=True))
