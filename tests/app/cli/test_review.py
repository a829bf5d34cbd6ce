"""`sradit review assign`: a round's badcases dealt to experts from the command line, on both databases."""

from __future__ import annotations

from tests.helpers import Cli


def test_review_assign_deals_the_badcases_and_names_a_wrong_account(
    cli: Cli, rewritten: dict[str, tuple[str, list[str]]]
) -> None:
    for name in ("ann", "bo"):
        cli("user", "add", name, "--role", "expert", "--password", "long-enough-1")
    dealt = cli("review", "assign", "--round", "1", "--expert", "ann", "--expert", "bo").stdout
    assert dealt.strip() == "round 1: assigned ann 1, bo 1; 0 badcases already had their experts"
    again = cli("review", "assign", "--round", "1", "--expert", "ann", "--expert", "bo").stdout
    assert again.strip() == "round 1: assigned ann 0, bo 0; 2 badcases already had their experts"
    wrong = cli("review", "assign", "--round", "1", "--expert", "nobody", ok=False)
    assert wrong.exit_code != 0 and "no account named 'nobody'" in wrong.output and "Traceback" not in wrong.output
