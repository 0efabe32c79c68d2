"""Write the app's OpenAPI schema to frontend/src/api/openapi.json (no server, no database).

The web UI's types are generated from this file (`npm run gen:api` in frontend/), so run this
after changing the API, then regenerate and commit both files.
"""

from __future__ import annotations

import json
import secrets
import sys
import tempfile
from pathlib import Path

from haven.app import create_app
from haven.settings import Settings

OUTPUT = Path(__file__).resolve().parent.parent / "frontend" / "src" / "api" / "openapi.json"


def main() -> int:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT
    # A throwaway data folder and key: building the schema opens no database, but
    # create_app resolves a secret key, which must not land in the user's data folder.
    with tempfile.TemporaryDirectory() as data_dir:
        key = secrets.token_urlsafe(32)
        settings = Settings(data_dir=Path(data_dir), secret_key=key, log_level="ERROR")
        schema = create_app(settings).openapi()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(schema, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {target} ({len(schema.get('paths', {}))} paths)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
