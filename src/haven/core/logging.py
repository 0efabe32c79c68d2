"""Structured logs: JSON lines by default, with the request id bound to every line."""

from __future__ import annotations

import logging
import sys

import orjson
import structlog


def configure_logging(*, level: str = "INFO", fmt: str = "json") -> None:
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    stream = getattr(sys.stderr, "buffer", None)
    if fmt == "json" and stream is not None:
        # orjson renders bytes; the bytes logger writes them without another encode.
        renderer: structlog.types.Processor = structlog.processors.JSONRenderer(
            serializer=orjson.dumps, default=str
        )
        factory: structlog.types.WrappedLogger = structlog.BytesLoggerFactory(
            file=sys.stderr.buffer
        )
    else:
        renderer = (
            structlog.processors.JSONRenderer()
            if fmt == "json"
            else structlog.dev.ConsoleRenderer(colors=False)
        )
        factory = structlog.PrintLoggerFactory(file=sys.stderr)
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=factory,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
