"""Settings from environment variables, with defaults, in one frozen object.

>>> Config.from_env("account", {"SERVICE_VERSION": "v2"}).version
'v2'
"""

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field


class ConfigError(ValueError):
    """A setting has a value the service cannot use; the message names the variable."""


def number(environ: Mapping[str, str], name: str, default, kind):
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a {kind.__name__}, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {raw!r}")
    return value


@dataclass(frozen=True)
class Config:
    service: str
    port: int = 8080
    version: str = "v1"
    data_dir: str = "/data"
    # PostgreSQL (e.g. postgresql://account@account-db:5432/account; the password in PGPASSWORD).
    # Unset: SQLite in data_dir.
    database_url: str = ""
    customer_url: str = "http://customer:8080"
    order_url: str = "http://order:8080"
    account_url: str = "http://account:8080"
    outbound_timeout: float = 2.0
    pod_name: str = field(default_factory=socket.gethostname)
    log_level: str = "INFO"
    # Request bodies larger than this get 413 before any handler runs.
    max_body_bytes: int = 16 * 1024
    # Every other variable, for service-specific settings (loadgen's rate, ...).
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, service: str, environ: Mapping[str, str] | None = None) -> "Config":
        """Read the shared contract's variables (PORT, SERVICE_VERSION, DATA_DIR, DATABASE_URL, ...)."""
        env = dict(os.environ if environ is None else environ)
        level = env.get("LOG_LEVEL", "INFO").upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
        return cls(
            service=service,
            port=number(env, "PORT", 8080, int),
            version=env.get("SERVICE_VERSION") or "v1",
            data_dir=env.get("DATA_DIR") or "/data",
            database_url=(env.get("DATABASE_URL") or "").strip(),
            customer_url=(env.get("CUSTOMER_URL") or cls.customer_url).rstrip("/"),
            order_url=(env.get("ORDER_URL") or cls.order_url).rstrip("/"),
            account_url=(env.get("ACCOUNT_URL") or cls.account_url).rstrip("/"),
            outbound_timeout=number(env, "OUTBOUND_TIMEOUT_SECONDS", 2.0, float),
            pod_name=env.get("POD_NAME") or socket.gethostname(),
            log_level=level,
            environ=env,
        )


def load(service: str, overrides: Mapping[str, str] | Config | None = None) -> Config:
    """What ``create_app(config)`` accepts: a Config, or variables laid over the environment."""
    if isinstance(overrides, Config):
        return overrides
    return Config.from_env(service, {**os.environ, **{k: str(v) for k, v in (overrides or {}).items()}})
