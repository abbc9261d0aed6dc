"""The sandbox's own behaviour: its state file and its command line."""

from __future__ import annotations

import argparse
from pathlib import Path

import httpx

from service.sandbox import run_sandbox
from service.sandbox.cli import register


class TestStateFile:
    """State survives a restart when a state file is given."""

    async def test_items_survive_a_restart(self, tmp_path: Path) -> None:
        """Items created before a restart are listed after it."""
        state = tmp_path / "sandbox.json"
        async with run_sandbox(state_file=state) as first, httpx.AsyncClient() as http:
            items = {"items": [{"externalNo": "KEPT", "description": "Mug"}]}
            await http.post(f"{first.control_url}/companies/c1/items", json=items)

        async with run_sandbox(state_file=state) as second, httpx.AsyncClient() as http:
            listed = (await http.get(f"{second.control_url}/companies/c1/items")).json()

        assert [item["externalNo"] for item in listed["value"]] == ["KEPT"]


class TestCommandLine:
    """`boltrics-connector sandbox` parses its options."""

    def test_sandbox_subcommand_registers_its_options(self) -> None:
        """The subcommand reads port, clients, limit, delay, seed and state file."""
        parser = argparse.ArgumentParser()
        register(parser.add_subparsers(dest="command"))

        args = parser.parse_args(
            ["sandbox", "--port", "0", "--client", "a:b", "--rate-limit", "0",
             "--process-delay", "0.1", "--seed", "3", "--state-file", "s.json"]
        )  # fmt: skip

        assert (args.port, args.client, args.rate_limit) == (0, ["a:b"], 0.0)
        assert (args.process_delay, args.seed, args.state_file) == (
            0.1,
            3,
            Path("s.json"),
        )
        assert callable(args.handler)
