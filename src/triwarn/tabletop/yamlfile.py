"""The tabletop files' YAML edge: parsed data plus the line of every key and list item.

    data, lines = load_yaml(path)
    lines.get(("msel", 3, "to"))     # 1-based line of msel[3].to (None when unknown)

Errors (unreadable file, bad YAML) are InputErrors naming the file and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from triwarn.errors import InputError

Lines = dict[tuple, int]


def _walk(node: yaml.Node, path: tuple, lines: Lines) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _walk(value_node, (*path, key), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise InputError("a key must be a plain value", line=node.start_mark.line + 1)
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def parse_yaml(text: str, source: str) -> tuple[Any, Lines]:
    """Parse YAML text: (data, lines). Anchors and aliases are followed like any YAML reader would."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}", source=source,
                         line=None if mark is None else mark.line + 1) from None
    lines: Lines = {}
    if node is None:
        return None, lines
    try:
        return _walk(node, (), lines), lines
    except InputError as exc:
        raise InputError(exc.reason, source=source, line=exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"not valid YAML: {exc}", source=source,
                         line=None if mark is None else mark.line + 1) from None


def load_yaml(path: str | Path) -> tuple[Any, Lines]:
    """Read and parse a YAML file: (data, lines)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", source=str(path)) from None
    return parse_yaml(text, str(path))


class Where:
    """Checked access to one mapping of a file: errors name the file, the line and the field.

        w = Where(item, source, lines, ("msel", 2))
        t = w.number("time_s", minimum=0.0)
    """

    def __init__(self, data: Any, source: str, lines: Lines, path: tuple, *, known: set[str] | None = None) -> None:
        self.source, self.lines, self.path = source, lines, path
        if not isinstance(data, dict):
            raise self.error("expected a mapping", None)
        self.data = data
        if known is not None:
            extra = sorted(str(k) for k in data if k not in known)
            if extra:
                raise self.error(f"unknown key(s) {extra}; known: {sorted(known)}", extra[0])

    def field_name(self, key: str | None) -> str:
        parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path]
        if key is not None:
            parts.append(f".{key}")
        return "".join(parts).lstrip(".") or "(top)"

    def line(self, key: str | None) -> int | None:
        if key is not None and (*self.path, key) in self.lines:
            return self.lines[(*self.path, key)]
        return self.lines.get(self.path)

    def error(self, why: str, key: str | None) -> InputError:
        return InputError(why, source=self.source, line=self.line(key), field=self.field_name(key))

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def text(self, key: str, default: str | None = None, *, max_len: int = 2000) -> str:
        value = self.data.get(key, default)
        if value is None:
            raise self.error("is required", key)
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise self.error(f"expected text, got {value!r}", key)
        value = str(value).strip()
        if len(value) > max_len:
            raise self.error(f"longer than {max_len} characters", key)
        return value

    def number(self, key: str, default: float | None = None, *, minimum: float | None = None,
               maximum: float | None = None) -> float:
        value = self.data.get(key, default)
        if value is None:
            raise self.error("is required", key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise self.error(f"expected a number, got {value!r}", key)
        value = float(value)
        if minimum is not None and value < minimum:
            raise self.error(f"{value:g} is below the minimum {minimum:g}", key)
        if maximum is not None and value > maximum:
            raise self.error(f"{value:g} is above the maximum {maximum:g}", key)
        return value

    def text_list(self, key: str, default: list | None = None) -> list[str]:
        value = self.data.get(key, default)
        if value is None:
            raise self.error("is required", key)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(f"expected a list of names, got {value!r}", key)
        return [v.strip() for v in value]

    def child(self, key: str, index: int | None = None, **kw) -> Where:
        path = (*self.path, key) if index is None else (*self.path, key, index)
        data = self.data.get(key) if index is None else self.data[key][index]
        return Where(data, self.source, self.lines, path, **kw)
