"""The authors' tools: rules check, test and explain."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

from service.entrypoints import rules_cli

EXAMPLES = Path(__file__).resolve().parents[3] / "rules"


def run(*argv: str) -> tuple[int, str]:
    """Run a `rules` subcommand; its exit code and output."""
    parser = argparse.ArgumentParser()
    rules_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["rules", *argv])
    out = io.StringIO()
    code: int = args.handler(args, out)
    return code, out.getvalue()


class TestRulesCli:
    """`rules check`, `rules test` and `rules explain` on the example rules."""

    def test_check_passes_the_examples(self) -> None:
        """The example rules have no errors and no warnings."""
        code, output = run("check", str(EXAMPLES))

        assert code == 0
        assert output.startswith("0 errors, 0 warnings in 2 rule sets")

    def test_check_warns_about_methods_the_settings_do_not_know(
        self, tmp_path: Path
    ) -> None:
        """With --config, a method outside rules.known_methods is a warning."""
        config = tmp_path / "c.toml"
        config.write_text('[rules]\nknown_methods = ["POSTNL_MAILBOX"]\n', "utf-8")

        code, output = run("check", str(EXAMPLES), "--config", str(config))

        assert code == 0
        assert "method 'DHL_PAKET' of rule 'germany' is not a known shipping" in output
        assert "'mailbox-parcel' is not" not in output

    def test_check_reports_file_line_and_sentence(self, tmp_path: Path) -> None:
        """A bad file is reported as file:line:column: sentence, with exit code 1."""
        (tmp_path / "default").mkdir()
        (tmp_path / "default" / "shipping.yaml").write_text("rules: []\n", "utf-8")

        code, output = run("check", str(tmp_path))

        assert code == 1
        assert output.splitlines()[0] == (
            f"{tmp_path}/default/shipping.yaml:1:8: the rule list is empty; "
            "write at least one rule under 'rules'  [error]"
        )

    def test_examples_pass_their_own_tests(self) -> None:
        """`rules test` passes every author's case of the examples."""
        code, output = run("test", str(EXAMPLES))

        assert code == 0
        assert output.rstrip().endswith("14 passed, 0 failed")

    def test_explain_prints_the_whole_explanation(self, tmp_path: Path) -> None:
        """`rules explain` prints the deciding rule and why each rule above failed."""
        order = {
            "deliveryAddress": {"country": "DE", "postcode": "10115", "city": "Berlin"},
            "lines": [{"sku": "MUG-1", "quantity": 1, "weightKg": 0.5}],
            "shippingPreference": "Standard",
        }
        path = tmp_path / "order.json"
        path.write_text(json.dumps(order), "utf-8")

        code, output = run(
            "explain", str(path), "--account", "demo", "--rules", str(EXAMPLES)
        )

        assert code == 0
        assert output.splitlines()[0].startswith("Method 'DHL_PAKET' from rule germany")
        assert "  demo-vip did not match: tags (none) do not contain vip" in output
