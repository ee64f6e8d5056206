"""Session system templates: the sandbox they render in, and the syntax check a settings
change must pass."""

from __future__ import annotations

import jinja2
from jinja2.sandbox import SandboxedEnvironment

# Templates are rendered in a sandbox: they come from chat users, not operators.
ENVIRONMENT = SandboxedEnvironment(undefined=jinja2.ChainableUndefined, autoescape=False)


class TemplateError(ValueError):
    def __init__(self, line: int | None, message: str) -> None:
        self.line = line
        where = f" on line {line}" if line else ""
        super().__init__(f"system_template has a syntax error{where}: {message}")


def check_template(template: str) -> None:
    """Raise TemplateError naming the line when `template` is not valid Jinja."""
    try:
        ENVIRONMENT.parse(template)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(exc.lineno, exc.message or "invalid syntax") from None
