"""Settings: the shared contract's variables, defaults, and clear errors for bad values."""

import pytest

from servicekit.config import Config, ConfigError


def test_defaults_match_the_shared_contract():
    cfg = Config.from_env("order", {})
    assert (cfg.port, cfg.version, cfg.data_dir, cfg.outbound_timeout) == (8080, "v1", "/data", 2.0)
    assert (cfg.customer_url, cfg.order_url, cfg.account_url) == (
        "http://customer:8080", "http://order:8080", "http://account:8080")
    assert cfg.pod_name  # the hostname when POD_NAME is not set


def test_environment_overrides():
    cfg = Config.from_env("account", {"PORT": "9000", "SERVICE_VERSION": "v2", "ACCOUNT_URL": "http://a:1/",
                                      "OUTBOUND_TIMEOUT_SECONDS": "0.5", "POD_NAME": "account-7f9", "LOG_LEVEL": "debug"})
    assert (cfg.port, cfg.version, cfg.account_url, cfg.outbound_timeout, cfg.pod_name, cfg.log_level) == (
        9000, "v2", "http://a:1", 0.5, "account-7f9", "DEBUG")


@pytest.mark.parametrize(("env", "message"), [
    ({"PORT": "http"}, "PORT must be a int, got 'http'"),
    ({"OUTBOUND_TIMEOUT_SECONDS": "-1"}, "OUTBOUND_TIMEOUT_SECONDS must not be negative"),
    ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR"),
])
def test_bad_values_name_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_env("gateway", env)
