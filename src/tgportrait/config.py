"""Typed settings: env ``TGPORTRAIT_...`` over ``tgportrait.toml`` over defaults.

Nothing is read at import time. ``load_settings(root)`` reads the workspace file and the
environment once and returns one frozen ``Settings`` object. Every setting has help text
(``Field(description=...)``); ``docs/settings.md`` is generated from it and checked by a test.
Env names: top-level ``engine`` is ``TGPORTRAIT_ENGINE``; ``telegram.bot_token`` is
``TGPORTRAIT_TELEGRAM_BOT_TOKEN``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from tgportrait.errors import ConfigError

CONFIG_FILE_NAME = "tgportrait.toml"
ENV_PREFIX = "TGPORTRAIT_"

Industry = Literal["beauty", "3c", "apparel", "fmcg", "education"]
INDUSTRIES: tuple[str, ...] = ("beauty", "3c", "apparel", "fmcg", "education")

# Reference rates (USD per unit of currency), used when a workspace does not set its own.
DEFAULT_USD_RATES: dict[str, float] = {
    "USD": 1.0, "EUR": 1.08, "GBP": 1.27, "IDR": 0.000063, "MYR": 0.22, "SGD": 0.74,
    "THB": 0.028, "VND": 0.000040, "PHP": 0.018, "INR": 0.012, "BRL": 0.18, "MXN": 0.055,
    "RUB": 0.011, "TRY": 0.030, "AED": 0.27, "SAR": 0.27, "NGN": 0.00065, "CNY": 0.14,
    "JPY": 0.0067, "KRW": 0.00073, "AUD": 0.66, "CAD": 0.73,
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TelegramSettings(_Section):
    bot_token: SecretStr | None = Field(
        None, description="Bot API token from @BotFather. Secret: prefer the env variable.")
    webhook_secret: SecretStr | None = Field(
        None, description="Value Telegram sends in X-Telegram-Bot-Api-Secret-Token.")
    api_base_url: str = Field(
        "https://api.telegram.org", description="Bot API base URL (a local Bot API server or a test stub).")
    bot_username: str | None = Field(
        None, description="The bot's @username without @ (for t.me deep links in group invitations).")
    public_base_url: str = Field(
        "http://127.0.0.1:8080", description="Public base URL of 'tgportrait serve' (tracked links are "
                                             "<public_base_url>/l/CODE).")


class IdentitySettings(_Section):
    blocked_values: list[str] = Field(
        default_factory=lambda: ["0", "0000000", "00000000", "1234567", "12345678", "test@test.com",
                                 "test@example.com", "noemail@example.com", "na", "n/a", "none", "null"],
        description="Identifier values that never link two records (shared or junk values).")
    blocked_patterns: list[str] = Field(
        default_factory=lambda: [r"^test[._-]?\w*@", r"^(\d)\1{5,}$", r"@example\.(com|org)$"],
        description="Regular expressions; a matching identifier value never links records.")
    max_values_per_person: dict[str, int] = Field(
        default_factory=lambda: {"phone": 3, "email": 5, "crm_customer_id": 10, "tg_username": 3},
        description="A value that would give one person more than this many values of its type "
                    "is treated as shared and does not link.")
    shared_value_limit: int = Field(
        5, description="An identifier value seen on more than this many distinct Telegram users "
                       "is shared (a company phone, a family e-mail) and does not link.")
    priority: list[str] = Field(
        default_factory=lambda: ["tg_user_id", "crm_customer_id", "phone", "email", "tg_username"],
        description="Identifier types strongest first: the person id comes from the first type present, "
                    "and stronger links are applied before weaker ones.")
    unique_types: list[str] = Field(
        default_factory=lambda: ["tg_user_id"],
        description="Identifier types of which a person has at most one value: two different values never merge.")
    fuzzy_linkage: bool = Field(
        True, description="Link CRM customers and Telegram users by name, phone, e-mail, username, city and "
                          "birth date with Splink (parameters estimated by EM on the workspace's data).")
    fuzzy_min_records: int = Field(
        50, description="Fewest profile records for fuzzy linkage; below it EM cannot estimate anything useful, "
                        "so only deterministic links apply (the run says so).")
    fuzzy_conflict_types: list[str] = Field(
        default_factory=lambda: ["tg_user_id", "phone", "email"],
        description="A fuzzy link is refused when both sides already hold values of one of these identifier "
                    "types and share none (two different phones: two people, whatever the names say).")
    evidence_columns: list[str] = Field(
        default_factory=lambda: ["birth_date", "phone", "email", "username", "postcode", "street"],
        description="A fuzzy pair links only when at least one of these linkage columns agrees (positive match "
                    "weight): names and a city alone never link two records.")
    match_threshold: float = Field(
        0.99, description="Match probability at or above which a fuzzy (Splink) pair becomes a link.")
    blocking_rules: list[list[str]] = Field(
        default_factory=lambda: [["first_name", "last_name"], ["last_name", "birth_date"],
                                 ["first_name", "birth_date"], ["birth_date", "postcode"], ["phone"], ["email"],
                                 ["username"], ["last_name", "postcode"], ["first_name", "postcode"],
                                 ["street"], ["birth_date", "city"], ["first_name", "city"], ["last_name", "city"],
                                 ["first_name=last_name", "last_name=first_name"]],
        description="Splink blocking rules: each list of linkage columns must agree exactly for a pair "
                    "to be compared (columns: first_name, last_name, birth_date, phone, email, username, "
                    "city, postcode, street; 'first_name=last_name' compares across columns).")
    training_rules: list[list[str]] = Field(
        default_factory=lambda: [["first_name", "last_name"], ["birth_date"], ["postcode"]],
        description="Blocking rules of the EM training sessions (each estimates the other columns' m).")
    u_sample_pairs: float = Field(
        1e6, description="Random pairs sampled to estimate Splink's u-probabilities.")
    em_max_pairs: float = Field(
        5e5, description="At most this many blocked pairs (sampled) feed each EM training session.")
    em_max_iterations: int = Field(
        25, ge=1, description="At most this many expectation-maximisation iterations per EM training session "
                              "(Splink's max_iterations; each iteration is one query; training always runs on DuckDB).")
    max_block_size: int = Field(
        25, ge=2, description="A blocking rule compares the records sharing its values only when at most this "
                              "many records share them (common names pair with everyone; their pairs grow with "
                              "the square of the block). Pairs that another rule brings together are still compared.")


class IntentSettings(_Section):
    classifier: str = Field(
        "auto", description='Intent classifier: "auto" (the trained model "default", with the lexicon answering '
                            "messages in languages the model was not trained on, when the workspace has one; else "
                            "the lexicon), or a name from tgportrait.classify.intents.CLASSIFIERS (lexicon, trained, "
                            "combined, combined-by-language, llm).")
    abstain_below: float = Field(
        0.9, description="A trained model abstains when its confidence in the best intent is below this "
                         "(the lexicon then answers if a keyword matches; 0.9 chosen by measurement).")
    llm_base_url: str | None = Field(
        None, description="Base URL of an OpenAI-compatible chat-completions endpoint (e.g. "
                          "http://127.0.0.1:8000/v1); unset: the llm classifier is unavailable.")
    llm_model: str = Field("gpt-4o-mini", description="Model name sent to the chat-completions endpoint.")
    llm_api_key_env: str = Field(
        "TGPORTRAIT_LLM_API_KEY", description="Name of the environment variable holding the endpoint's API key "
                                              "(the key itself is never stored in settings).")
    llm_timeout_seconds: float = Field(30.0, description="Timeout of one chat-completions request.")
    detect_language_at_ingest: bool = Field(
        True, description="Detect each message's language (lingua, offline) when it is imported and store it as "
                          "the event's lang (the person's language falls back to it without a questionnaire answer).")


class ValueTierSettings(_Section):
    core_types: list[str] = Field(
        default_factory=lambda: ["order", "customer_profile", "questionnaire_answer", "poll_answer"],
        description="Event types that are always core (messages with words are core too).")
    redundant_types: list[str] = Field(
        default_factory=list, description="Event types that are always redundant (counted, never read by features).")
    emoji_only_redundant: bool = Field(
        True, description="Messages whose text has no letter or digit (emoji only) are redundant.")
    sticker_daily_limit: int = Field(
        3, description="Stickers a person may send per day before further stickers are redundant (sticker spam).")
    click_types: list[str] = Field(
        default_factory=lambda: ["link_click", "button_click"],
        description="Event types counted as notification clicks.")
    repeated_click_daily_limit: int = Field(
        1, description="Clicks on the same link or button per person and day before repeats are redundant.")


class Settings(_Section):
    engine: str = Field(
        "duckdb", description='Analytics engine URL: "duckdb" (in-process), "spark://local[2]" or a '
                              'Spark master URL such as "spark://host:7077".')
    engine_memory_limit: str = Field(
        "50%", description='Memory the DuckDB engine may use before it spills to the workspace\'s .scratch folder: '
                           'a share of the machine ("50%") or a size ("8GB"); the driver\'s own tables (identity, '
                           "portraits) need the rest. Spark takes its memory from its own settings.")
    lake_path: str = Field("data", description="Folder of the Parquet lake, relative to the workspace.")
    state_url: str = Field(
        "sqlite:///state.db",
        description="SQLAlchemy URL of the state store; relative SQLite paths are inside the workspace.")
    timezone: str = Field("UTC", description="Default IANA time zone for people without their own.")
    currency: str = Field("USD", description="Currency assumed for amounts without one.")
    usd_rates: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_USD_RATES),
        description="USD per one unit of each currency; amounts are converted to USD at import.")
    industry: Industry = Field("beauty", description="Industry preset: beauty, 3c, apparel, fmcg, education.")
    taxonomy_path: str = Field("taxonomy.yaml", description="Label taxonomy file, relative to the workspace.")
    portrait_fresh_days: int = Field(7, description="Days a portrait stays fresh before it is stale.")
    telegram: TelegramSettings = Field(default_factory=lambda: TelegramSettings())  # type: ignore[call-arg]
    identity: IdentitySettings = Field(default_factory=lambda: IdentitySettings())  # type: ignore[call-arg]
    value_tiers: ValueTierSettings = Field(default_factory=lambda: ValueTierSettings())  # type: ignore[call-arg]
    intents: IntentSettings = Field(default_factory=lambda: IntentSettings())  # type: ignore[call-arg]


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Collect ``TGPORTRAIT_*`` values for known settings (top level and one section deep)."""
    overrides: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, _Section):
            section: dict[str, Any] = {}
            for sub in annotation.model_fields:
                key = f"{ENV_PREFIX}{name.upper()}_{sub.upper()}"
                if key in environ:
                    section[sub] = environ[key]
            if section:
                overrides[name] = section
            continue
        key = f"{ENV_PREFIX}{name.upper()}"
        if key in environ and name not in ("usd_rates",):
            overrides[name] = environ[key]
    return overrides


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}",
                          hint="Fix the line named above, or recreate it with 'tgportrait init'.") from exc


def load_settings(root: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings of the workspace at ``root``: env over file over defaults."""
    environ = os.environ if environ is None else environ
    path = root / CONFIG_FILE_NAME
    values = read_config_file(path) if path.exists() else {}
    values = _merge(values, _env_overrides(environ))
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors())
        raise ConfigError(f"invalid settings in {path}: {problems}",
                          hint="See docs/settings.md for every setting and its allowed values.") from exc


def settings_reference() -> list[tuple[str, str, str]]:
    """(name, default, description) for every setting, for docs and `tgportrait config`."""
    rows: list[tuple[str, str, str]] = []
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, _Section):
            for sub, subfield in annotation.model_fields.items():
                default = subfield.get_default(call_default_factory=True)
                rows.append((f"{name}.{sub}", repr(default), subfield.description or ""))
            continue
        default = field.get_default(call_default_factory=True)
        rows.append((name, repr(default), field.description or ""))
    return rows
