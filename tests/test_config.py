"""Settings: env over file over defaults, clear errors, documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from tgportrait.config import load_settings, settings_reference
from tgportrait.errors import ConfigError, WorkspaceNotFound
from tgportrait.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]


def test_init_writes_a_config_that_loads_with_the_industry(tmp_path: Path) -> None:
    workspace = Workspace.init(tmp_path / "shop", "3c", timezone="Asia/Jakarta", currency="IDR")
    settings = load_settings(workspace.root, environ={})
    assert (settings.industry, settings.timezone, settings.currency, settings.engine) == (
        "3c", "Asia/Jakarta", "IDR", "duckdb")
    assert settings.usd_rates["IDR"] == pytest.approx(0.000063)
    assert (workspace.root / "taxonomy.yaml").read_text().strip()


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    workspace = Workspace.init(tmp_path / "shop")
    settings = load_settings(workspace.root, environ={
        "TGPORTRAIT_ENGINE": "spark://local[2]", "TGPORTRAIT_TELEGRAM_BOT_TOKEN": "123:abc",
        "TGPORTRAIT_TELEGRAM_API_BASE_URL": "http://127.0.0.1:9"})
    assert settings.engine == "spark://local[2]"
    assert settings.telegram.bot_token is not None and settings.telegram.bot_token.get_secret_value() == "123:abc"
    assert "123:abc" not in repr(settings)
    assert settings.telegram.api_base_url == "http://127.0.0.1:9"


def test_invalid_values_name_the_setting(tmp_path: Path) -> None:
    (tmp_path / "tgportrait.toml").write_text('industry = "cars"\n')
    with pytest.raises(ConfigError) as raised:
        load_settings(tmp_path, environ={})
    assert "industry" in raised.value.message


def test_broken_toml_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "tgportrait.toml").write_text("engine = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(tmp_path, environ={})


def test_opening_a_folder_without_config_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceNotFound) as raised:
        Workspace.open(tmp_path)
    assert "tgportrait init" in (raised.value.hint or "")


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "shop")
    with pytest.raises(ConfigError, match="already exists"):
        Workspace.init(tmp_path / "shop")


def test_every_setting_is_documented() -> None:
    documented = (REPO / "docs" / "settings.md").read_text()
    for name, _default, description in settings_reference():
        assert f"`{name}`" in documented, name
        assert description, f"setting {name} has no help text"
