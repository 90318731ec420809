"""The package's imports point one way (docs/architecture.md): no cycle, nothing upward.

Read from the source with ast, every import statement counted, those inside functions
too: a deferred import is still a dependency, and a cycle hidden in a function body is
still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kiosk"

# Top to bottom. A module imports modules of its own layer or below, never above; every
# module of the package must be placed here (a new one is placed on purpose).
LAYERS: list[set[str]] = [
    {"cli"},
    {"app", "server", "workers"},
    {
        "views.api",
        "views.arrivals",
        "views.kiosk",
        "views.organiser",
        "views.public",
        "views.stage",
        "events",
    },
    {"views.answers", "push", "auth"},
    {"web", "queue"},  # the message queue: Socket.IO across processes
    {"i18n"},
    {
        "live",
        "report",
        "checkin",
        "attendees",
        "order",
        "schedule",
        "timetables",
        "ical",
        "clock",
        "programme",
    },  # the domain
    {"db", "errors"},
]
HTTP_FREE = LAYERS[-2] | LAYERS[-1]
VIEWS_AND_HANDLERS = LAYERS[2] | {"views.answers", "push"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(modules of the package it imports, other top-level packages it imports)."""
    own = _module_name(path)
    package = own.split(".")[:-1] if path.name != "__init__.py" else own.split(".")
    inside, outside = set(), set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                if name == "kiosk" or name.startswith("kiosk."):
                    inside.add(name.removeprefix("kiosk").lstrip("."))
                else:
                    outside.add(name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
                if base != "kiosk" and not base.startswith("kiosk."):
                    outside.add(base.split(".")[0])
                    continue
                base_parts = base.split(".")[1:]
            else:
                base_parts = package[: len(package) - (node.level - 1)]
                base_parts += (node.module or "").split(".") if node.module else []
            base_name = ".".join(p for p in base_parts if p)
            for alias in node.names:
                # `from . import db` names a module; `from .web import runtime` a name in one.
                candidate = f"{base_name}.{alias.name}".strip(".")
                if _exists(candidate):
                    inside.add(candidate)
                elif base_name:
                    inside.add(base_name)
    return inside - {""}, outside


def _exists(module: str) -> bool:
    path = PACKAGE.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _graph() -> dict[str, tuple[set[str], set[str]]]:
    return {
        _module_name(p): _imports(p)
        for p in sorted(PACKAGE.rglob("*.py"))
        if _module_name(p) not in ("", "views")  # the packages' empty __init__ files
    }


def _layer(module: str) -> int:
    for index, layer in enumerate(LAYERS):
        if module in layer:
            return index
    raise AssertionError(f"kiosk.{module} is in no layer of tests/test_architecture.py")


def test_every_module_has_its_layer():
    for module in _graph():
        _layer(module)


def test_imports_never_point_upward():
    upward = [
        f"kiosk.{module} imports kiosk.{target}"
        for module, (inside, _outside) in _graph().items()
        for target in sorted(inside)
        if _layer(target) < _layer(module)
    ]
    assert upward == []


def test_no_view_or_handler_imports_the_app_factory():
    offenders = [
        m for m, (inside, _o) in _graph().items() if m in VIEWS_AND_HANDLERS and "app" in inside
    ]
    assert offenders == []


def test_no_import_cycle():
    graph = {module: inside for module, (inside, _outside) in _graph().items()}
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        for target in sorted(graph.get(module, ())):
            if target in path:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in done:
                visit(target, [*path, target])
        done.add(module)

    done: set[str] = set()
    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    assert cycles == []


@pytest.mark.parametrize("module", sorted(HTTP_FREE))
def test_the_domain_imports_no_web_framework(module):
    _inside, outside = _graph()[module]
    assert outside.isdisjoint({"flask", "flask_socketio", "werkzeug", "socketio", "gevent"})


def test_the_checker_sees_a_cycle_and_an_upward_import(tmp_path, monkeypatch):
    """The checks above can fail: a made-up package with both faults trips them."""
    fake = tmp_path / "kiosk"
    (fake / "views").mkdir(parents=True)
    (fake / "views" / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "errors.py").write_text("from . import db\n")
    (fake / "db.py").write_text("def f():\n    from .errors import N_\n")
    (fake / "views" / "public.py").write_text("from ..app import create_app\n")
    (fake / "app.py").write_text("from .views import public\n")
    monkeypatch.setitem(globals(), "PACKAGE", fake)
    graph = _graph()
    assert graph["views.public"][0] == {"app"}
    assert graph["db"][0] == {"errors"}
    with pytest.raises(AssertionError):
        test_no_import_cycle()
    with pytest.raises(AssertionError):
        test_imports_never_point_upward()
    with pytest.raises(AssertionError):
        test_no_view_or_handler_imports_the_app_factory()
