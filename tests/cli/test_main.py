import importlib

import pytest
from absl import flags

from vidattn.cli import main


@pytest.mark.parametrize("name", sorted(main.COMMANDS))
def test_every_command_defines_its_flags_once_and_is_documented(name):
    module = importlib.import_module(main.COMMANDS[name][0])
    assert module.__doc__ and module.__doc__.startswith(f"`vidattn {name}`")
    assert callable(module.main)
    before = set(flags.FLAGS)
    # A flag defined twice raises absl's DuplicateFlagError here.
    module.define_flags()
    defined = set(flags.FLAGS) - before
    try:
        assert defined, f"vidattn {name} defines no flags"
    finally:
        for flag_name in defined:
            delattr(flags.FLAGS, flag_name)


def test_an_unknown_command_lists_the_commands(monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["vidattn", "trian"])
    with pytest.raises(SystemExit) as exit_info:
        main.run()
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "Expected a command. Received: trian" in error
    for name in main.COMMANDS:
        assert f"  {name} " in error
