"""The ``haven`` command line (Typer): serve, worker, migrate, createsuperuser, seed, export,
import, events.

One module a subject — serve.py, worker.py, db.py (migrate), users.py (createsuperuser),
demo.py (seed), portability.py (export, import), events.py (tail, dlq, replay) — sharing
plumbing.py; main.py puts them under one command.
"""

from haven.cli.main import app

__all__ = ["app"]
