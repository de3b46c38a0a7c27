"""``python -m ttszoo`` runs the ``ttszoo`` command line (the same as the console script)."""

from ttszoo.cli import run

if __name__ == "__main__":
    run()
