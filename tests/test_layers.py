"""Imports point one way (STYLE.md, principle 14): api -> services -> domain, adapters beside;
workers and projections use app's services and domain, never the reverse.

Every module of app/, workers/ and projections/ is parsed with `ast` (nothing is imported),
and every import of our own packages in it, at the top, inside a function or under
TYPE_CHECKING alike, is checked against the rules below. A failure names each offending
import with its file and line.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]
WALKED = ("app", "workers", "projections")
FIRST_PARTY = WALKED


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    """Modules under one of `layer` may import, of our own packages, only `only` (when
    given) and never `never`; `unless` exempts modules under it from the rule."""

    layer: tuple[str, ...]
    only: tuple[str, ...] | None = None
    never: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()

    def applies_to(self, module: str) -> bool:
        return _under(module, self.layer) and not _under(module, self.unless)

    def allows(self, imported: str) -> bool:
        if self.only is not None and not _under(imported, self.only):
            return False
        return not _under(imported, self.never)

    def __str__(self) -> str:
        said = ", ".join(self.layer)
        if self.unless:
            said += f" (except {', '.join(self.unless)})"
        if self.only is not None:
            said += f" imports only {', '.join(self.only)}"
        if self.never:
            said += f"{' and' if self.only is not None else ''} imports no {', '.join(self.never)}"
        return said


RULES = (
    Rule(layer=("app.domain",), only=("app.domain", "app.eventstore", "app.config")),
    Rule(layer=("app.eventstore",), only=("app.eventstore",)),
    Rule(layer=("app.services",), never=("app.api", "app.cli")),
    Rule(layer=("app.readmodels", "app.adapters"),
         never=("app.api", "app.services", "app.cli")),
    # The CLI starts every process (`robots dev`, `worker`, `project`), so it alone may.
    Rule(layer=("app",), unless=("app.cli",), never=("workers", "projections")),
    Rule(layer=("projections",), never=("workers", "app.api", "app.services", "app.cli")),
    Rule(layer=("workers",), never=("app.api", "app.cli", "projections")),
)


class Import(msgspec.Struct, frozen=True):
    file: str
    line: int
    importer: str
    imported: str  # what the rules judge: `from a import b` is a.b
    statement: str  # as written, for the failure message

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.importer}: {self.statement}"


def _under(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> Iterator[Path]:
    for package in WALKED:
        yield from sorted((ROOT / package).rglob("*.py"))


def imports_of(path: Path) -> Iterator[Import]:
    return imports_in(path.read_text(), module_name(path), str(path.relative_to(ROOT)),
                      is_package=path.name == "__init__.py")


def imports_in(source: str, importer: str, file: str, *,
               is_package: bool = False) -> Iterator[Import]:
    """Our own modules `source` imports; `from a import b` counts as a.b, since b may be a
    module (a.b is under a either way, so no rule is missed)."""
    package = importer if is_package else importer.rpartition(".")[0]
    for node in ast.walk(ast.parse(source, filename=file)):
        if isinstance(node, ast.Import):
            found = [(alias.name, f"import {alias.name}") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base, written = _absolute(node, package), "." * node.level + (node.module or "")
            found = [(f"{base}.{alias.name}" if alias.name != "*" else base,
                      f"from {written} import {alias.name}") for alias in node.names]
        else:
            continue
        for name, statement in found:
            if _under(name, FIRST_PARTY):
                yield Import(file, node.lineno, importer, name, statement)


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if node.level == 0:
        return node.module or ""
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - (node.level - 1)])
    return f"{base}.{node.module}" if node.module else base


def violations(found: Iterable[Import]) -> list[str]:
    """One line per import and rule it breaks, in file and line order."""
    return [f"{imp}  (rule: {rule})"
            for imp in sorted(found, key=lambda i: (i.file, i.line, i.imported))
            for rule in RULES if rule.applies_to(imp.importer) and not rule.allows(imp.imported)]


def test_every_layer_is_walked() -> None:
    names = {module_name(p) for p in modules()}
    assert {"app.domain.events", "app.services.handler", "app.api.app", "workers.worker",
            "projections.runner"} <= names


def test_a_wrong_way_import_is_named_wherever_it_hides() -> None:
    source = """
from typing import TYPE_CHECKING
import msgspec
from app.domain.events import Event
from . import session
from ..services import chat
if TYPE_CHECKING:
    from app.api.app import create_app
def later():
    import workers.worker
"""
    found = violations(imports_in(source, "app.domain.sample", "app/domain/sample.py"))
    assert [line.split("  (")[0] for line in found] == [
        "app/domain/sample.py:6: app.domain.sample: from ..services import chat",
        "app/domain/sample.py:8: app.domain.sample: from app.api.app import create_app",
        "app/domain/sample.py:10: app.domain.sample: import workers.worker",
        "app/domain/sample.py:10: app.domain.sample: import workers.worker",  # two rules
    ]
    assert found[0].endswith("(rule: app.domain imports only app.domain, app.eventstore,"
                             " app.config)")
    assert found[3].endswith("(rule: app (except app.cli) imports no workers, projections)")


def test_imports_point_one_way() -> None:
    found = violations(imp for path in modules() for imp in imports_of(path))
    assert not found, "imports against the layers (STYLE.md, principle 14):\n" + "\n".join(
        found)
