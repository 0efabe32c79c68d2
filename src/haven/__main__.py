"""``python -m haven``: the same as the ``haven`` command."""

from haven.cli import app

if __name__ == "__main__":
    app(prog_name="haven")
