"""`python -m vidattn <command>`: the same as the `vidattn` command."""

from vidattn.cli.main import run

run()
