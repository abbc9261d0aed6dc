"""The service refuses to start on bad settings, with one line and a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.server import REPO, TEST_ENV, ServerProcess, write_config


def _serve(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **TEST_ENV, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "service", "serve", *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class TestRefusals:
    def test_invalid_setting_names_the_setting(self, tmp_path: Path) -> None:
        """A rate limit of -1 stops the start with the setting's path."""
        config = write_config(tmp_path / "c.toml", "sqlite+aiosqlite:///x.db")
        text = config.read_text().replace(
            'client_id = "acme-client"',
            'client_id = "acme-client"\nrate_limit_per_second = -1',
        )
        config.write_text(text)

        done = _serve("--config", str(config))

        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [
            "boltrics-connector: configuration error: setting "
            "accounts.0.boltrics.rate_limit_per_second: Input should be greater than 0"
        ]

    def test_missing_secret_names_the_setting_not_the_value(
        self, tmp_path: Path
    ) -> None:
        """A secret variable that is not set stops the start, naming it."""
        config = write_config(tmp_path / "c.toml", "sqlite+aiosqlite:///x.db")
        env = {**os.environ, **TEST_ENV}
        del env["TEST_ACME_SECRET"]

        done = subprocess.run(
            [sys.executable, "-m", "service", "serve", "--config", str(config)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

        assert done.returncode == 2
        assert done.stderr.strip() == (
            "boltrics-connector: configuration error: accounts.acme.boltrics."
            "client_secret: environment variable TEST_ACME_SECRET is not set"
        )

    def test_unreadable_config_file(self, tmp_path: Path) -> None:
        """A config file that does not exist stops the start, naming the file."""
        done = _serve("--config", str(tmp_path / "nope.toml"))

        assert done.returncode == 2
        assert "config file" in done.stderr and "nope.toml" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1

    def test_environment_overrides_and_validates(self, tmp_path: Path) -> None:
        """A bad value in an environment variable is named by its setting path."""
        config = write_config(tmp_path / "c.toml", "sqlite+aiosqlite:///x.db")

        done = _serve(
            "--config", str(config), env={"CONNECTOR_STORE__URL": "mysql://x"}
        )

        assert done.returncode == 2
        assert "setting store.url" in done.stderr

    def test_no_boltrics_connection_refuses_to_start(self, tmp_path: Path) -> None:
        """Without a Boltrics connection (or --sandbox) the service will not start."""
        config = tmp_path / "c.toml"
        config.write_text(
            '[[callers]]\nname = "x"\ntoken = { env = "TEST_TOKEN_A" }\n'
            'accounts = ["*"]\n'
            '[[accounts]]\nid = "acme"\n'
        )

        done = _serve("--config", str(config))

        assert done.returncode == 2
        assert "no account has a Boltrics connection" in done.stderr
        assert "--sandbox" in done.stderr


class TestCallerRefusals:
    """Callers that would shadow each other or name a missing account."""

    def test_two_callers_of_one_name_refuse_to_start(self, tmp_path: Path) -> None:
        """A second caller named like the first stops the start, naming it."""
        config = write_config(tmp_path / "c.toml", "sqlite+aiosqlite:///x.db")
        config.write_text(config.read_text().replace('name = "ops"', 'name = "hub-a"'))

        done = _serve("--config", str(config))

        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [
            "boltrics-connector: configuration error: setting settings: "
            "Value error, caller hub-a is configured twice"
        ]

    def test_two_callers_with_one_token_refuse_to_start(self, tmp_path: Path) -> None:
        """Callers whose secrets hold the same token stop the start, naming both
        callers and never the token."""
        config = write_config(tmp_path / "c.toml", "sqlite+aiosqlite:///x.db")

        done = _serve(
            "--config",
            str(config),
            env={"TEST_TOKEN_ALL": TEST_ENV["TEST_TOKEN_A"]},
        )

        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [
            "boltrics-connector: configuration error: setting callers: callers "
            "hub-a and ops have the same token; give each caller a token of its own"
        ]
        assert TEST_ENV["TEST_TOKEN_A"] not in done.stderr

    def test_caller_of_an_unknown_account_refuses_to_start(
        self, tmp_path: Path
    ) -> None:
        """A caller listing an account id that is not configured stops the start."""
        config = write_config(tmp_path / "c.toml", "sqlite+aiosqlite:///x.db")
        config.write_text(
            config.read_text().replace('accounts = ["acme"]', 'accounts = ["acmee"]')
        )

        done = _serve("--config", str(config))

        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [
            "boltrics-connector: configuration error: setting callers: caller "
            "hub-a lists account acmee, which is not configured"
        ]


class TestOneProcessPerSqliteStore:
    """A SQLite store serves one process: a second would take over the first's
    sends in flight and post them again."""

    def test_a_second_process_on_the_same_file_refuses_to_start(
        self, tmp_path: Path
    ) -> None:
        """While one serves the file, another stops with one line naming it;
        once the first has stopped, the file can be served again."""
        store = tmp_path / "shared.sqlite3"
        config = write_config(tmp_path / "c.toml", f"sqlite+aiosqlite:///{store}")
        first = ServerProcess(["serve", "--config", str(config)])
        try:
            second = _serve("--config", str(config))
        finally:
            first.terminate()
        again = ServerProcess(["serve", "--config", str(config)])
        again.terminate()

        assert second.returncode == 2
        assert second.stderr.strip().splitlines() == [
            "boltrics-connector: configuration error: setting store.url: another "
            f"connector process serves {store}; a SQLite store serves one process "
            "(several replicas share a PostgreSQL one)"
        ]
        assert again.port > 0
