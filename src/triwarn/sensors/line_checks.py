"""Checks of the fields of one JSON line, shared by the measurements and truth readers.

A check that fails raises Reject with the skip reason (one of triwarn.records.detections.SKIP_REASONS),
the field and why; the reader turns it into an InputError (strict) or a counted skip (lenient).
"""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec


class Reject(Exception):
    """A bad line: the skip reason, the field at fault (None for the whole line) and why."""

    def __init__(self, reason: str, field_name: str | None, why: str) -> None:
        super().__init__(why)
        self.reason = reason
        self.field_name = field_name
        self.why = why


def finite(value: float, name: str) -> float:
    """value, or Reject ("nan") if it is NaN or infinite."""
    if not math.isfinite(value):
        raise Reject("nan", name, f"{value!r} is not a finite number")
    return value


def vector3(value: Any, name: str) -> list[float]:
    """value if it holds three finite numbers, else Reject."""
    if len(value) != 3:
        raise Reject("malformed_field", name, f"expected 3 numbers, got {len(value)}")
    for v in value:
        finite(v, name)
    return value


def decode_line(decoder: msgspec.json.Decoder, raw: bytes, struct_type: type) -> Any:
    """One line decoded as struct_type by decoder (a Decoder of that type), or Reject saying why not."""
    try:
        return decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return decode_refused_line(raw, struct_type)


def decode_refused_line(raw: bytes, struct_type: type) -> Any:
    """Slow path for a line msgspec refuses: classify why (NaN literals, bad JSON, wrong field type)."""
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Reject("malformed_json", None, f"malformed JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise Reject("malformed_json", None, f"expected a JSON object, got {type(obj).__name__}")
    for name in struct_type.__struct_fields__:
        value = obj.get(name)
        if isinstance(value, float) and not math.isfinite(value):
            raise Reject("nan", name, f"{value!r} is not a finite number")
        if isinstance(value, list) and any(isinstance(v, float) and not math.isfinite(v) for v in value):
            raise Reject("nan", name, "contains a non-finite number")
    try:
        return msgspec.convert(obj, struct_type)
    except msgspec.ValidationError as exc:
        text = str(exc)
        name = text.rsplit("`$.", 1)[1].rstrip("`").split("[")[0] if "`$." in text else None
        raise Reject("malformed_field", name, text.split(" - at ")[0].replace(" | null", "")) from None
