"""Configuration: hosts and environment."""

from __future__ import annotations

import pytest

from capnb.config import HOST_PRESETS, is_loopback, resolve_host, settings_from_env
from capnb.errors import ConfigError


@pytest.mark.parametrize("preset", sorted(HOST_PRESETS))
def test_presets_are_https(preset):
    assert resolve_host(preset).startswith("https://")
    assert resolve_host(preset.upper()) == HOST_PRESETS[preset]


@pytest.mark.parametrize(("url", "loopback"), [("http://127.0.0.1:8765", True),
                                               ("http://127.5.0.1", True),
                                               ("http://[::1]:80", True),
                                               ("http://localhost:1", True),
                                               ("https://eu.api.capillarytech.com", False),
                                               ("http://192.168.1.2", False)])
def test_loopback(url, loopback):
    assert is_loopback(url) is loopback


def test_host_normalised():
    assert resolve_host("https://x.example.com/") == "https://x.example.com"
    assert resolve_host("x.example.com") == "https://x.example.com"
    with pytest.raises(ConfigError, match="plain http"):
        resolve_host("http://x.example.com")
    with pytest.raises(ConfigError):
        resolve_host("https://x.example.com/?a=1")


def test_settings_repr_hides_secrets():
    settings = settings_from_env({"CAPILLARY_HOST": "eu", "CAPILLARY_TILL_ID": "t",
                                  "CAPILLARY_PASSWORD": "hunter2"})
    assert "hunter2" not in repr(settings) and "basic" in repr(settings)
    oauth = settings_from_env({"CAPILLARY_HOST": "eu", "CAPILLARY_CLIENT_KEY": "k",
                               "CAPILLARY_CLIENT_SECRET": "topsecret"})
    assert "topsecret" not in repr(oauth)


def test_incomplete_settings_name_what_is_missing():
    with pytest.raises(ConfigError, match="CAPILLARY_HOST is not set"):
        settings_from_env({})
    with pytest.raises(ConfigError, match="found only: CAPILLARY_CLIENT_KEY"):
        settings_from_env({"CAPILLARY_HOST": "eu", "CAPILLARY_CLIENT_KEY": "k"})
