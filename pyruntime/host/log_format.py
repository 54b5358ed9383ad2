"""One JSON object per log line, carrying the host's structured fields.

The host logs with ``extra={"client": ..., "agent_type": ..., "topic_type": ..., "topic_source": ...}``;
this formatter puts those fields at the top level so log pipelines can filter on them.
"""

from __future__ import annotations

import json
import logging

STRUCTURED_FIELDS = ("client", "agent_type", "topic_type", "topic_source")


class JsonLogFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", <structured fields present>, "exc"?}`` per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": round(record.created, 6),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in STRUCTURED_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
