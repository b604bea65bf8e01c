"""gunicorn's settings for the app behind nginx (deploy/nginx.conf, docs/OPERATIONS.md):
`gunicorn -c deploy/gunicorn.conf.py -w 2 -b unix:/run/parking/gunicorn.sock 'api:create_app()'`.

Access logs (off unless `--access-logfile` is given) never hold a plate (docs/PRIVACY.md):
the path segment after `/plates/` is written as `-`, in the request line, the path and the
referrer alike."""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

PLATE_SEGMENT = re.compile(r"(/api/v1/[^/?\s]+/plates/)[^/?\s]+(?=/)")
PATH_ATOMS = ("r", "U", "f", "{referer}i")


def redact_plates(text: str) -> str:
    """A path, request line or URL with every plate segment written as `-`."""
    return PLATE_SEGMENT.sub(r"\1-", text)


class PlateRedactingLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger; the access log's path atoms are redacted."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key in PATH_ATOMS:
            if isinstance(atoms.get(key), str):
                atoms[key] = redact_plates(atoms[key])
        return atoms


logger_class = PlateRedactingLogger
# The synchronous workers are enough behind a buffering proxy: they only ever get whole
# requests. A worker that takes longer than this on one request is restarted.
timeout = 30
