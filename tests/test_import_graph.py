"""Rules on the source tree, read with ast (nothing imported but triwarn_eval itself):

- the runtime (src/triwarn) never imports the evaluation package (src/triwarn_eval: scoring against
  truth, metrics, synthetic pictures), which is for tests, benchmarks and tools;
- no function in src/triwarn is longer than 120 lines and no module longer than 700.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
RUNTIME = SRC / "triwarn"
EVAL = SRC / "triwarn_eval"
MAX_FUNCTION_LINES = 120
MAX_MODULE_LINES = 700


def _modules(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "node_modules" not in p.parts)


def _rel(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import statement, and of importlib.import_module / __import__ calls with a
    literal name."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                out.append((node.lineno, node.args[0].value))
    return out


def _is_eval(module: str) -> bool:
    return module == "triwarn_eval" or module.startswith("triwarn_eval.")


def test_runtime_does_not_import_eval():
    found = [f"{_rel(p)}:{line} imports {mod}" for p in _modules(RUNTIME)
             for line, mod in _imported(ast.parse(p.read_text(encoding="utf-8"), str(p))) if _is_eval(mod)]
    assert not found, "the runtime must not import triwarn_eval:\n" + "\n".join(found)


def test_import_rule_sees_eval_imports():
    tree = ast.parse(
        "import triwarn_eval.gospa\nfrom triwarn_eval import scoring\nfrom triwarn_eval.synthetic import x\n"
        "def f():\n    import importlib\n    importlib.import_module('triwarn_eval.preview')\n"
        "from triwarn.api import app\nimport triwarn_evaluation\n"
    )
    assert {m for _line, m in _imported(tree) if _is_eval(m)} == {
        "triwarn_eval.gospa", "triwarn_eval", "triwarn_eval.synthetic", "triwarn_eval.preview"}


def test_eval_modules_import():
    names = sorted(p.stem for p in EVAL.glob("*.py") if p.stem != "__init__")
    assert {"scoring", "gospa", "synthetic", "preview"} <= set(names)
    for name in names:
        importlib.import_module(f"triwarn_eval.{name}")


def _long_functions() -> list[str]:
    out = []
    for p in _modules(RUNTIME):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"), str(p))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    out.append(f"{_rel(p)}:{node.lineno} {node.name}: {lines} lines")
    return out


def _long_modules() -> list[str]:
    out = []
    for p in _modules(RUNTIME):
        lines = len(p.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            out.append(f"{_rel(p)}: {lines} lines")
    return out


def test_no_function_over_120_lines():
    long = _long_functions()
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (split by responsibility):\n" + "\n".join(long)


def test_no_module_over_700_lines():
    long = _long_modules()
    assert not long, f"modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(long)


def _node_imports_of(tree: ast.AST, package: str) -> list[tuple[int, str]]:
    """(line, module) of the imports of triwarn.<package> (absolute, or relative from triwarn.node)."""
    out = [(line, m) for line, m in _imported(tree) if m == f"triwarn.{package}" or m.startswith(f"triwarn.{package}.")]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 2 and (node.module or "").split(".")[0] == package:
            out.append((node.lineno, f"..{node.module}"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "triwarn":
            out.extend((node.lineno, f"triwarn.{a.name}") for a in node.names if a.name == package)
    return out


def test_node_imports_neither_exercise_nor_api():
    # The node runs under the exercise engine and behind the API, never the other way round.
    found = [f"{_rel(p)}:{line} imports {mod}" for p in _modules(RUNTIME / "node")
             for package in ("exercise", "api")
             for line, mod in _node_imports_of(ast.parse(p.read_text(encoding="utf-8"), str(p)), package)]
    assert not found, "triwarn.node must not import triwarn.exercise or triwarn.api:\n" + "\n".join(found)


def test_node_import_rule_sees_such_imports():
    tree = ast.parse("from triwarn.api.app import create_app\ndef f():\n    import triwarn.exercise.plan\n"
                     "from ..api import picture\nfrom triwarn import exercise\nfrom triwarn.apis import x\n")
    assert [m for _line, m in _node_imports_of(tree, "api")] == ["triwarn.api.app", "..api"]
    assert [m for _line, m in _node_imports_of(tree, "exercise")] == ["triwarn.exercise.plan", "triwarn.exercise"]
