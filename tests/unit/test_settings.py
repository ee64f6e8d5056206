"""Settings come from the environment, once, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config.settings import environment_variables, load_settings


def test_every_setting_reads_its_environment_variable() -> None:
    settings = load_settings({"DATABASE_URL": "postgresql://x/y", "PORT": "9001",
                              "ROBOTS_DATA_DIR": "/tmp/robots-data", "TURN_LEASE_S": "2.5",
                              "REDIS_URL": ""})
    assert settings.database_url == "postgresql://x/y"
    assert settings.port == 9001 and settings.turn_lease_s == 2.5
    assert settings.data_dir == Path("/tmp/robots-data")
    assert settings.redis_url is None  # empty counts as unset


def test_a_bad_value_names_the_setting() -> None:
    with pytest.raises(SystemExit, match="port"):
        load_settings({"PORT": "eighty"})


def test_the_default_model_follows_the_keys_given() -> None:
    assert load_settings({}).model_for_new_robots == "local/echo"
    assert load_settings({"OPENAI_API_KEY": "k"}).model_for_new_robots == "openai/gpt-4.1-mini"
    assert load_settings({"ANTHROPIC_API_KEY": "k"}).model_for_new_robots.startswith("anthropic/")


def test_keys_never_show_in_a_settings_repr() -> None:
    settings = load_settings({"ANTHROPIC_API_KEY": "sk-secret-123"})
    assert "sk-secret-123" not in repr(settings)
    assert "ANTHROPIC_API_KEY" in environment_variables().values()


def test_the_readme_documents_every_setting() -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    missing = [var for var in environment_variables().values() if f"`{var}`" not in readme]
    assert missing == []
