"""`robots COMMAND --help` says what each command does and what its options are; `accounts
create` refuses a handle that is not one before it touches any database."""

from __future__ import annotations

import pytest

from app.cli.main import main
from projections import all_projections

# Each command, with what its help must say: what it does, then its options.
HELP = {
    ("dev",): ["Run the API, a worker and the projection runner in one process",
               "embedded PostgreSQL", "ROBOTS_DATA_DIR/embedded.log", "dev admin"],
    ("serve",): ["Serve the HTTP API", "robots dev", "--workers N", "server processes"],
    ("worker",): ["Run robot turns from the queue", "robots dev"],
    ("project",): ["Keep the read models up to date", "stand by", "robots dev"],
    ("migrate",): ["Apply the SQL migrations"],
    ("rebuild",): ["Rebuild read models from the first event", "PROJECTION", "(default: all)"],
    ("accounts",): ["Manage accounts", "create"],
    ("accounts", "create"): ["Create an account and print its API token", "--handle HANDLE",
                             "lowercase letters", "--name NAME", "display name",
                             "--role {admin,member,guest}", "(default: member)"],
}


def _help(capsys: pytest.CaptureFixture[str], *command: str) -> str:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", list(HELP), ids=" ".join)
def test_each_commands_help_says_what_it_does_and_what_its_options_are(
    capsys: pytest.CaptureFixture[str], command: tuple[str, ...],
) -> None:
    said = " ".join(_help(capsys, *command).split())  # argparse wraps lines
    assert said.startswith(f"usage: robots {' '.join(command)}")
    for phrase in HELP[command]:
        assert phrase in said, said
    assert "LOG_FORMAT" in said  # where the settings come from


def test_the_top_level_help_lists_every_command_with_a_line_of_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = _help(capsys).splitlines()
    for command in {c[0] for c in HELP}:
        listed = [line.split() for line in lines if line.split()[:1] == [command]]
        assert listed and len(listed[0]) > 1, f"{command}: {lines}"


def test_rebuild_help_names_every_projection(capsys: pytest.CaptureFixture[str]) -> None:
    said = " ".join(_help(capsys, "rebuild").split())
    for projection in all_projections():
        assert projection.name in said, said


@pytest.mark.parametrize("handle", ["Ada", "ada lovelace", "@ada", "ada!", "-ada", "", "a" * 31,
                                    "ada\n"])
def test_accounts_create_refuses_a_handle_that_is_not_a_handle(
    capsys: pytest.CaptureFixture[str], handle: str,
) -> None:
    # No DATABASE_URL is needed: the handle is refused before anything starts.
    with pytest.raises(SystemExit) as exited:
        main(["accounts", "create", f"--handle={handle}"])
    assert exited.value.code == 2
    said = capsys.readouterr().err
    assert "argument --handle" in said and "is not a handle" in said, said
