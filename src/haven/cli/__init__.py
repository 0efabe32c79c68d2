"""The ``haven`` command line (Typer): serve, migrate, createsuperuser, seed, export, import.

One module a subject — serve.py, db.py (migrate), users.py (createsuperuser), demo.py (seed),
portability.py (export, import) — sharing plumbing.py; main.py puts them under one command.
"""

from haven.cli.main import app

__all__ = ["app"]
