"""Every error publicservices raises on purpose is a specific ``PublicServicesError`` subclass.

Catching ``PublicServicesError`` must be enough, and the class must say what went wrong, so no
``raise`` in the package or the bundled plugins may construct the bare base class or a builtin
exception. The few builtins a Python protocol requires are allowed where that protocol applies.
"""

from __future__ import annotations

import ast
import builtins
import inspect
from pathlib import Path

import pytest

import publicservices
from publicservices import errors

REPO = Path(__file__).resolve().parents[1]
SOURCE_DIRS = [REPO / "src" / "publicservices", *sorted((REPO / "plugins").glob("*/src"))]

BUILTIN_ERRORS = {name for name, obj in vars(builtins).items() if isinstance(obj, type) and issubclass(obj, BaseException)}
#: builtins a protocol needs: a CLI's exit code, generator and interrupt machinery
ALWAYS_ALLOWED = {"SystemExit", "KeyboardInterrupt", "GeneratorExit", "StopIteration", "StopAsyncIteration"}


def _name(node: ast.expr) -> str | None:
    """The class a ``raise`` constructs (``X(...)``, ``X``, ``mod.X(...)``), or None for anything else."""
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    return None


def _abstract(func: ast.AST | None) -> bool:
    if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    return any(_name(d) == "abstractmethod" for d in func.decorator_list)


def _offences(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text, str(path))
    found = []

    def visit(node: ast.AST, func: ast.AST | None) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            func = node
        if isinstance(node, ast.Raise) and node.exc is not None:
            name = _name(node.exc)
            if name == "PublicServicesError" or (name in BUILTIN_ERRORS and not _allowed(name, node, func, lines)):
                where = f"{path.relative_to(REPO)}:{node.lineno}"
                found.append(f"{where}: raise {name}: {lines[node.lineno - 1].strip()}")
        for child in ast.iter_child_nodes(node):
            visit(child, func)

    visit(tree, None)
    return found


def _allowed(name: str, node: ast.Raise, func: ast.AST | None, lines: list[str]) -> bool:
    if name in ALWAYS_ALLOWED:
        return True
    if name == "AttributeError":  # a module's or class's __getattr__ must raise it
        return getattr(func, "name", None) in {"__getattr__", "__getattribute__"}
    if name == "NotImplementedError":
        return _abstract(func)
    if name == "AssertionError":  # an internal invariant, or a test helper: say which on the line
        end = getattr(node, "end_lineno", node.lineno)
        return any("#" in line for line in lines[node.lineno - 1 : end])
    if name == "OSError":  # an I/O error given back its errno (so callers can tell a full disk), from the original
        return node.cause is not None
    return False


def _python_files() -> list[Path]:
    return sorted(p for d in SOURCE_DIRS for p in d.rglob("*.py"))


def test_the_scan_finds_the_sources():
    files = _python_files()
    assert REPO / "src" / "publicservices" / "errors.py" in files
    assert len(SOURCE_DIRS) >= 2, "no plugin source folders found under plugins/*/src"


def test_no_raise_constructs_the_base_class_or_a_builtin():
    offences = [o for path in _python_files() for o in _offences(path)]
    assert not offences, "raise a specific PublicServicesError subclass from publicservices.errors instead of:\n" + "\n".join(
        offences
    )


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("raise PublicServicesError('x')", True),
        ("raise errors.PublicServicesError('x')", True),
        ("raise ValueError('x')", True),
        ("raise TypeError", True),
        ("try:\n    pass\nexcept OSError as e:\n    raise KeyError('x') from e", True),
        ("raise RuntimeError('x')", True),
        ("raise Exception('x')", True),
        ("raise AssertionError('x')", True),
        ("raise AssertionError('x')  # unreachable: every dtype has a rule", False),
        ("def __getattr__(name):\n    raise AttributeError(name)", False),
        ("def f():\n    raise AttributeError('x')", True),
        ("class A:\n    @abstractmethod\n    def f(self):\n        raise NotImplementedError", False),
        ("def f():\n    raise NotImplementedError", True),
        ("raise SystemExit(1)", False),
        ("raise DataError('x')", False),
        ("try:\n    pass\nexcept OSError as exc:\n    raise", False),
        ("try:\n    pass\nexcept OSError as exc:\n    raise exc from None", False),
    ],
)
def test_the_scan_catches_what_it_should(tmp_path, monkeypatch, source, bad):
    monkeypatch.setattr(f"{__name__}.REPO", tmp_path)
    path = tmp_path / "m.py"
    path.write_text(source + "\n", encoding="utf-8")
    assert bool(_offences(path)) is bad


ERROR_CLASSES = [
    obj
    for _, obj in inspect.getmembers(errors, inspect.isclass)
    if issubclass(obj, BaseException) and obj.__module__ == errors.__name__
]


def test_errors_module_defines_the_classes():
    names = {c.__name__ for c in ERROR_CLASSES}
    assert {"PublicServicesError", "SchemaError", "DataError", "ReaderError", "OptionError"} <= names


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_every_error_is_a_documented_public_services_error(cls):
    assert issubclass(cls, errors.PublicServicesError)
    assert (cls.__dict__.get("__doc__") or "").strip(), f"{cls.__name__} needs a docstring saying when it is raised"
    assert cls.__name__ in errors.__all__
    assert getattr(publicservices, cls.__name__) is cls


def test_metadata_error_is_still_a_value_error():
    # read_els_metadata documented ValueError before MetadataError existed; callers catching it still work.
    assert issubclass(errors.MetadataError, ValueError)
    assert issubclass(errors.MetadataError, errors.ReaderError)
