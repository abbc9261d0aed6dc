"""Settings: validation, secrets by reference, environment over file."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import SecretRef, load_settings
from service.errors import ConfigurationError


class TestLoadSettings:
    def test_defaults_need_no_file(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without a file the defaults are a local SQLite store and loopback ports."""
        monkeypatch.delenv("CONNECTOR_CONFIG", raising=False)

        settings = load_settings()

        assert settings.store.url.startswith("sqlite+aiosqlite://")
        assert settings.server.listen == "127.0.0.1:50051"

    def test_environment_wins_over_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A CONNECTOR_ variable overrides the same setting in the file."""
        config = tmp_path / "c.toml"
        config.write_text('[server]\nlisten = "127.0.0.1:1"\n')
        monkeypatch.setenv("CONNECTOR_SERVER__LISTEN", "127.0.0.1:2")

        settings = load_settings(config)

        assert settings.server.listen == "127.0.0.1:2"

    def test_unknown_setting_is_named(self, tmp_path: Path) -> None:
        """A misspelt setting is refused with its path."""
        config = tmp_path / "c.toml"
        config.write_text("[server]\nlisten_on = 1\n")

        with pytest.raises(ConfigurationError) as caught:
            load_settings(config)

        assert str(caught.value) == (
            "setting server.listen_on: Extra inputs are not permitted"
        )

    def test_invalid_toml_is_named(self, tmp_path: Path) -> None:
        """A file that is not TOML is refused, naming the file."""
        config = tmp_path / "c.toml"
        config.write_text("[server\n")

        with pytest.raises(ConfigurationError) as caught:
            load_settings(config)

        assert str(caught.value).startswith(f"config file {config}: not valid TOML")

    def test_duplicate_account_is_refused(self, tmp_path: Path) -> None:
        """The same account id twice is a configuration error."""
        config = tmp_path / "c.toml"
        config.write_text('[[accounts]]\nid = "a"\n[[accounts]]\nid = "a"\n')

        with pytest.raises(ConfigurationError, match="account a is configured twice"):
            load_settings(config)

    def test_duplicate_caller_name_is_refused(self, tmp_path: Path) -> None:
        """Two callers of the same name are a configuration error naming it."""
        config = tmp_path / "c.toml"
        caller = (
            '[[callers]]\nname = "hub"\ntoken = { env = "T%s" }\naccounts = ["*"]\n'
        )
        config.write_text(caller % 1 + caller % 2)

        with pytest.raises(ConfigurationError, match="caller hub is configured twice"):
            load_settings(config)

    def test_parsing_workers_default_and_bounds(self, tmp_path: Path) -> None:
        """One parsing worker by default; 0 is allowed, a negative count is
        refused with the setting's path."""
        config = tmp_path / "c.toml"
        config.write_text("[parsing]\nworkers = 0\n")
        assert load_settings(config).parsing.workers == 0
        config.write_text("")
        assert load_settings(config).parsing.workers == 1
        config.write_text("[parsing]\nworkers = -1\n")

        with pytest.raises(ConfigurationError, match=r"^setting parsing\.workers: "):
            load_settings(config)


class TestSecretRef:
    def test_reads_from_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """An env reference reads the variable."""
        monkeypatch.setenv("S1", "hush")

        assert SecretRef(env="S1").resolve("x").get_secret_value() == "hush"

    def test_reads_from_file_without_newline(self, tmp_path: Path) -> None:
        """A file reference reads the file, trimmed."""
        secret = tmp_path / "s"
        secret.write_text("hush\n")

        assert SecretRef(file=secret).resolve("x").get_secret_value() == "hush"

    def test_missing_file_names_setting_not_secret(self, tmp_path: Path) -> None:
        """A missing secret file is a configuration error naming the setting."""
        with pytest.raises(ConfigurationError) as caught:
            SecretRef(file=tmp_path / "nope").resolve("accounts.a.boltrics.secret")

        assert str(caught.value).startswith("accounts.a.boltrics.secret: cannot read")

    def test_secret_never_prints(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The resolved secret's repr hides its value."""
        monkeypatch.setenv("S1", "hush")

        assert "hush" not in repr(SecretRef(env="S1").resolve("x"))

    def test_needs_exactly_one_source(self) -> None:
        """Giving both env and file, or neither, is refused."""
        with pytest.raises(ValueError, match="exactly one"):
            SecretRef()
