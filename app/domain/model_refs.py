"""Model references: `provider/model`, e.g. `anthropic/claude-sonnet-4-5`, `ollama/llama3.2`."""

from __future__ import annotations

from typing import NamedTuple

from app.config.settings import Settings

BUILTIN_PROVIDERS = ("anthropic", "openai", "local")


class ModelRef(NamedTuple):
    provider: str
    model: str

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"


class InvalidModelRef(ValueError):
    pass


def provider_names(settings: Settings) -> list[str]:
    return [*BUILTIN_PROVIDERS, *settings.compatible_endpoints]


def parse_model_ref(ref: str, settings: Settings) -> ModelRef:
    """Split and check a reference; the message says what is wrong and what would be right."""
    provider, sep, model = ref.partition("/")
    if not sep or not provider or not model.strip():
        raise InvalidModelRef(f"model must look like provider/model, not {ref!r}")
    known = provider_names(settings)
    if provider not in known:
        raise InvalidModelRef(f"unknown provider {provider!r} in model {ref!r};"
                              f" known providers: {', '.join(known)}")
    return ModelRef(provider, model)
