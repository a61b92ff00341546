"""The top-level command line: options that every command accepts."""

from __future__ import annotations

import pytest

from percolation_tms import _progress, cli

GENERATE_GRAPH = ["generate-graph", "--mode", "distribution", "--size", "200", "--seed", "1"]


@pytest.mark.parametrize("argv, quiet", [
    (GENERATE_GRAPH, False),
    (["-q"] + GENERATE_GRAPH, True),
    (GENERATE_GRAPH[:1] + ["-q"] + GENERATE_GRAPH[1:], True),
    (GENERATE_GRAPH + ["--quiet"], True),
    (["--quiet"] + GENERATE_GRAPH + ["-q"], True),
])
def test_quiet_before_or_after_the_command(argv, quiet):
    args = cli.build_parser().parse_args(argv + ["--out", "g.npz"])
    assert args.quiet is quiet


def test_every_command_accepts_quiet_after_it():
    parser = cli.build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert len(commands) > 10
    for name, command in commands.items():
        assert "--quiet" in command._option_string_actions, name
        assert "-q" in command._option_string_actions, name


def test_quiet_after_the_command_silences_the_progress(tmp_path, capsys):
    out = tmp_path / "g.npz"
    try:
        assert cli.main(GENERATE_GRAPH + ["-q", "--out", str(out)]) == 0
    finally:
        _progress.set_quiet(False)
    assert capsys.readouterr().err == ""
    assert out.is_file()
