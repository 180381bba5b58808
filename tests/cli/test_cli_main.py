"""The command's surface: --version, --help, usage errors (2), bad option values (1)."""

import pytest

import chainrule
from chainrule.cli import main


def test_version_and_module_entry_point(run_cli):
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"chainrule {chainrule.__version__}"


def test_help_lists_commands_and_examples(run_main):
    code, out, _ = run_main("--help")
    assert code == 0
    for command in ("train", "predict", "evaluate", "gradcheck", "explain", "landscape"):
        assert command in out
    assert "examples:" in out and "chainrule train --data" in out


@pytest.mark.parametrize("command", ["train", "predict", "evaluate", "gradcheck", "explain",
                                     "landscape"])
def test_each_command_has_help(run_main, command):
    code, out, _ = run_main(command, "--help")
    assert code == 0
    assert f"usage: chainrule {command}" in out


@pytest.mark.parametrize("argv", [
    [],                                       # no command
    ["fly"],                                  # unknown command
    ["train", "--epochs", "many"],            # not an integer
    ["train", "--hidden", "12,x"],            # not a list of integers
    ["train", "--optimizer", "lbfgs"],        # not a choice
    ["train", "--no-such-option"],
])
def test_usage_errors_exit_2(run_main, argv):
    code, _, err = run_main(*argv)
    assert code == 2
    assert "usage: chainrule" in err


@pytest.mark.parametrize("argv, words", [
    (["--batch-size", "-1"], ["--batch-size", "-1"]),
    (["--epochs", "-1"], ["--epochs", "-1"]),
    (["--lr", "0"], ["--lr", "0"]),
    (["--lr", "nan"], ["--lr", "nan"]),
    (["--dropout", "1.5"], ["--dropout", "1.5"]),
    (["--val-split", "1"], ["--val-split", "1"]),
    (["--hidden", "16,0"], ["--hidden", "0"]),
    (["--clip", "0"], ["--clip", "0"]),
    (["--optimizer", "adam", "--momentum", "0.9"], ["--momentum", "adam"]),
    (["--data", "x.csv"], ["--target"]),
    (["--data", "x.csv", "--target", "y", "--dataset", "moons"], ["--data", "--dataset"]),
])
def test_bad_option_values_exit_1_with_one_line(run_main, tmp_path, argv, words):
    code, _, err = run_main("train", *argv, "--out", tmp_path / "run")
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("chainrule train: error: ")
    for word in words:
        assert word in err
    assert not (tmp_path / "run").exists()  # nothing written for a rejected command


def test_bad_option_in_subprocess_is_one_line_exit_1(run_cli, tmp_path):
    result = run_cli("train", "--epochs", "-1", "--out", tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "chainrule train: error: --epochs must be >= 0, got -1"]


def test_debug_shows_the_traceback(run_main, tmp_path):
    code, _, err = run_main("train", "--lr", "0", "--out", tmp_path, "--debug")
    assert code == 1
    assert "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1].startswith("chainrule train: error: --lr")


def test_resume_without_a_run_is_an_error(run_main, tmp_path):
    code, _, err = run_main("train", "--resume", "--out", tmp_path / "nothing")
    assert code == 1
    assert "--resume" in err and "nothing" in err


def test_main_returns_an_int_for_help_and_version(capsys):
    assert main(["--version"]) == 0
    assert main(["train", "-h"]) == 0
