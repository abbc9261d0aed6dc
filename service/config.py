"""Settings: from environment variables and an optional TOML config file.

Environment variables start with `CONNECTOR_` and use `__` between levels, for
example `CONNECTOR_SERVER__LISTEN=0.0.0.0:50051`. The config file is named by
`CONNECTOR_CONFIG` (or `--config`); environment variables win over the file.
Secrets are never written in either: a setting names the environment variable
or the file that holds the secret (`client_secret_env`, `client_secret_file`),
and the secret is read once, at start.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from service.errors import ConfigurationError

ENV_PREFIX = "CONNECTOR_"
CONFIG_FILE_VARIABLE = "CONNECTOR_CONFIG"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Strict):
    """Where a secret lives: an environment variable or a file, never inline."""

    env: str | None = None
    file: Path | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            msg = "give exactly one of env or file"
            raise ValueError(msg)
        return self

    def resolve(self, setting: str) -> SecretStr:
        """Read the secret; a missing one is a configuration error naming `setting`."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                msg = f"{setting}: environment variable {self.env} is not set"
                raise ConfigurationError(msg)
            return SecretStr(value)

        assert self.file is not None
        try:
            value = self.file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            msg = f"{setting}: cannot read secret file {self.file} ({exc.strerror})"
            raise ConfigurationError(msg) from exc
        if not value:
            msg = f"{setting}: secret file {self.file} is empty"
            raise ConfigurationError(msg)
        return SecretStr(value)


class BoltricsConnection(_Strict):
    """How one merchant account reaches its Boltrics environment."""

    base_url: str = Field(
        description="e.g. https://bc.example.com/api/boltrics/di/v1.0"
    )
    company_id: str
    token_url: str
    client_id: str
    client_secret: SecretRef
    scope: str = ""
    our_partner: str = "BUCKLES"
    warehouse_partner: str = "WH01"
    rate_limit_per_second: float = Field(default=20.0, gt=0)
    timeout_seconds: float = Field(default=30.0, gt=0)
    track_trace_attribute: str = "TRACKTRACE"
    track_url_attribute: str = "TRACKURL"

    @field_validator("base_url", "token_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            msg = "must start with http:// or https://"
            raise ValueError(msg)
        return value.rstrip("/")


class Account(_Strict):
    """A merchant account: its Boltrics connection and its switches."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    name: str = ""
    boltrics: BoltricsConnection | None = None
    stock_active: bool = False
    link_by_barcode: bool = False


class Caller(_Strict):
    """A calling service: its bearer token and the accounts it may act for."""

    name: str
    token: SecretRef
    accounts: list[str] = Field(min_length=1, description='account ids, or "*"')


class ServerSettings(_Strict):
    """The gRPC listener and its limits."""

    listen: str = "127.0.0.1:50051"
    metrics_listen: str = "127.0.0.1:9464"
    max_message_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    shutdown_grace_seconds: float = Field(default=30.0, ge=0)
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_client_ca_file: Path | None = None

    @model_validator(mode="after")
    def _tls_pair(self) -> ServerSettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            msg = "tls_cert_file and tls_key_file go together"
            raise ValueError(msg)
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            msg = "tls_client_ca_file needs tls_cert_file and tls_key_file"
            raise ValueError(msg)
        return self


class StoreSettings(_Strict):
    """Where data lives: a SQLite file by default, PostgreSQL for replicas."""

    url: str = "sqlite+aiosqlite:///connector.sqlite3"
    sqlite_synchronous: Literal["full", "normal"] = "full"

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            msg = "must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            raise ValueError(msg)
        return value


class RulesSettings(_Strict):
    """Where the rule files live and what the rule checker knows."""

    path: Path = Path("rules")
    known_methods: list[str] = Field(default_factory=list)
    watch: bool = True


class OrderSettings(_Strict):
    """How orders are sent and followed up."""

    retry_for_seconds: float = Field(default=24 * 3600, gt=0)
    verdict_poll_seconds: float = Field(default=2.0, gt=0)


class StockSettings(_Strict):
    """How stock is kept in step with Boltrics."""

    full_sync_seconds: float = Field(default=24 * 3600, gt=0)


class ParsingSettings(_Strict):
    """Where collected Boltrics documents are parsed."""

    workers: int = Field(
        default=1,
        ge=0,
        le=16,
        description="worker processes that parse pages of collected documents; "
        "0 parses them in the service's own process",
    )


class RetentionSettings(_Strict):
    """How long what happened is kept: events for WatchEvents to resume, and
    request ids with their answers for repeats to get."""

    events_seconds: float = Field(default=7 * 24 * 3600, gt=0)
    request_ids_seconds: float = Field(default=7 * 24 * 3600, gt=0)
    every_seconds: float = Field(default=600.0, gt=0)


class LogSettings(_Strict):
    """Log level and format."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class Settings(BaseSettings):
    """Everything the service is configured with."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    server: ServerSettings = ServerSettings()
    store: StoreSettings = StoreSettings()
    rules: RulesSettings = RulesSettings()
    orders: OrderSettings = OrderSettings()
    stock: StockSettings = StockSettings()
    retention: RetentionSettings = RetentionSettings()
    parsing: ParsingSettings = ParsingSettings()
    log: LogSettings = LogSettings()
    callers: list[Caller] = Field(default_factory=list)
    accounts: list[Account] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_accounts_and_callers(self) -> Settings:
        # Two callers of one name would share log lines and permission errors,
        # and the second would silently decide what the name may do.
        for kind, names in (
            ("account", [account.id for account in self.accounts]),
            ("caller", [caller.name for caller in self.callers]),
        ):
            twice = next(
                (name for n, name in enumerate(names) if name in names[:n]), None
            )
            if twice is not None:
                msg = f"{kind} {twice} is configured twice"
                raise ValueError(msg)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive through init_settings (see load_settings), so
        # environment variables must come first to win over them.
        return (env_settings, init_settings)

    def account(self, account_id: str) -> Account | None:
        """The account with this id, if it is configured."""
        for account in self.accounts:
            if account.id == account_id:
                return account
        return None


def load_settings(config_file: Path | None = None) -> Settings:
    """Read and validate the settings; any problem is one ConfigurationError line."""
    if config_file is None and os.environ.get(CONFIG_FILE_VARIABLE):
        config_file = Path(os.environ[CONFIG_FILE_VARIABLE])
    file_values = _read_config_file(config_file) if config_file else {}

    try:
        return Settings(**file_values)
    except ValidationError as exc:
        raise ConfigurationError(_first_problem(exc)) from None


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        msg = f"config file {path}: cannot read it ({exc.strerror})"
        raise ConfigurationError(msg) from exc
    except tomllib.TOMLDecodeError as exc:
        msg = f"config file {path}: not valid TOML ({exc})"
        raise ConfigurationError(msg) from exc


def _first_problem(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "settings"
        problems.append(f"setting {where}: {error['msg']}")
    return "; ".join(problems)
