"""A bad command line is a usage error: click's own message (usage, which option, why) and exit
code 2, never "unexpected ... report it". Every command of the CLI is run with one bad value."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer

from veritrain.cli.main import build_app, main

MISSING = "/nonexistent/veritrain-test"

#: command -> (arguments after the command with one bad value, what the error must name).
BAD: dict[str, tuple[list[str], str]] = {
    "deploy": (["--rpc", "http://x", "--keystore", "k", "--confirmations", "many"],
               "'--confirmations'"),
    "demo": (["--keep", "--no-such-flag"], "--no-such-flag"),
    "eval": ([MISSING], f"{MISSING} is not a model directory"),
    "explorer": (["--port", "eighty"], "'--port'"),
    "pull": (["--task", "abc", "--out", "o"], "'--task'"),
    "replay": (["--spec", "s.json", "--upto", "eight"], "'--upto'"),
    "devnet up": (["--dir"], "'--dir'"),
    "devnet status": (["--dir"], "'--dir'"),
    "devnet down": (["--dir"], "'--dir'"),
    "node stake": (["1", "2"], "unexpected extra argument"),
    "node unstake": (["1", "2"], "unexpected extra argument"),
    "node status": (["extra"], "unexpected extra argument"),
    "node check": (["abc"], "'task_id'"),
    "node run": (["--threads", "two"], "'--threads'"),
    "task create": (["--spec", "s.json", "--reward", "1", "--challenge-window", "long"],
                    "'--challenge-window'"),
    "task show": (["abc"], "'task_id'"),
    "challenger run": (["--probability", "often"], "'--probability'"),
    "challenger status": (["--json", "--no-such-flag"], "--no-such-flag"),
    "juror run": (["--stake", "lots"], "'--stake'"),
    "referee show": (["first"], "'dispute_id'"),
    "juror status": (["--workdir"], "'--workdir'"),
    "spec init": (["--seed", "abc"], "'--seed'"),
    "spec validate": ([MISSING], f"spec file {MISSING} does not exist"),
    "spec env": ([MISSING], f"spec file {MISSING} does not exist"),
    "spec graph": (["s.json", "--out"], "'--out'"),
    "step trace": (["--spec", "s.json", "--task-id", "1", "--step", "first", "--out", "o"],
                   "'--step'"),
    "step explain": (["d", "--op", "first", "--element", "0"], "'--op'"),
    "task cancel": (["abc"], "'task_id'"),
    "dataset build": (["--out", "o", "--seq-len", "long"], "'--seq-len'"),
    "segment run": (["--spec", "s.json", "--segment", "first", "--out", "o"], "'--segment'"),
    "trace root": (["--task-id", "abc", "--segment-start", "0", "--hashes", "h"], "'--task-id'"),
    "trace prove": (["--task-id", "1", "--segment-start", "0", "--hashes", "h", "--step", "x"],
                    "'--step'"),
    "store serve": ([], "'--repo'"),
    "store add": ([MISSING], "'path'"),
    "store get": (["bafy", "out", "extra"], "unexpected extra argument"),
    "store pin": (["bafy", "--api"], "'--api'"),
    "store gc": (["--api"], "'--api'"),
    "account new": ([], "'--keystore'"),
    "account import": ([], "'--keystore'"),
    "account show": ([], "'--keystore'"),
    "contracts build": (["--root", MISSING], "'--root'"),
}


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[str]:
    sub = getattr(group, "commands", None)
    if not sub:
        yield " ".join(path)
        return
    for name, cmd in sub.items():
        yield from _commands(cmd, (*path, name))


def test_every_command_has_a_bad_value_case() -> None:
    """A new command needs its own bad-value case in ``BAD``."""
    assert sorted(_commands(typer.main.get_command(build_app()))) == sorted(BAD)


@pytest.mark.parametrize("command", sorted(BAD))
def test_command_with_a_bad_value_is_a_usage_error(command: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    argv, names = BAD[command]
    code = main([*command.split(), *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    # click names the parameter; a value only the command can judge gets a veritrain error + hint
    assert ("Error:" in err or "hint:" in err) and names in err, err
    assert "unexpected" not in err.replace("unexpected extra argument", "")
    assert "report it" not in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (
            ["pull", "--task", "abc", "--out", "o"],
            "Invalid value for '--task': Input should be a valid integer",
        ),
        (
            ["store", "add", "/nonexistent"],
            "Invalid value for 'path': path '/nonexistent' does not exist",
        ),
    ],
)
def test_issue_examples_keep_clicks_message(argv: list[str], says: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and "Try 'veritrain" in err
