"""Which provider serves a `provider/model` reference, built once per worker process."""

from __future__ import annotations

from app.model_refs import ModelRef, parse_model_ref
from app.settings import Settings
from workers.providers import ModelProvider, ProviderConfig, build_provider


class ModelRouter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._providers: dict[str, ModelProvider] = {}

    def resolve(self, model: str | None) -> ModelRef:
        return parse_model_ref(model or self.settings.model_for_new_robots, self.settings)

    def provider(self, ref: ModelRef) -> ModelProvider:
        if ref.provider not in self._providers:
            self._providers[ref.provider] = build_provider(self._config(ref.provider))
        return self._providers[ref.provider]

    def _config(self, name: str) -> ProviderConfig:
        s = self.settings
        retries = s.model_max_retries
        if name == "anthropic":
            return ProviderConfig(name=name, kind="anthropic", api_key=s.anthropic_api_key,
                                  base_url=s.anthropic_base_url, max_retries=retries)
        if name == "openai":
            return ProviderConfig(name=name, kind="openai", api_key=s.openai_api_key,
                                  base_url=s.openai_base_url, max_retries=retries)
        if name == "local":
            return ProviderConfig(name=name, kind="local", base_url=s.local_model_url,
                                  max_retries=retries)
        return ProviderConfig(name=name, kind="openai-compatible",
                              base_url=s.compatible_endpoints[name], max_retries=retries)

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
        self._providers.clear()
