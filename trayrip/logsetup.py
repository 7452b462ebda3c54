"""One logging setup for every entry point (main thread, at start-up)."""
from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

__all__ = ["setup_logging", "log_file"]

_FORMAT = "%(asctime)s %(levelname)-7s [%(threadName)s] %(name)s: %(message)s"


def log_file() -> Path:
    """The rotating log file under the platform's log folder (computed when asked)."""
    import platformdirs

    return Path(platformdirs.user_log_dir("trayrip", appauthor=False)) / "trayrip.log"


def setup_logging(console_level: int = logging.WARNING, to_file: bool = True) -> Path | None:
    """Console messages at ``console_level``; everything at INFO and above to the log file."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if console_level <= logging.DEBUG else logging.INFO)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    console = logging.StreamHandler()
    console.setLevel(console_level)
    console.setFormatter(logging.Formatter("trayrip: %(message)s" if console_level > logging.DEBUG else _FORMAT))
    root.addHandler(console)
    if not to_file:
        return None
    path = log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    except OSError as exc:
        root.warning("cannot write the log file %s: %s", path, exc.strerror or exc)
        return None
    handler.setLevel(logging.DEBUG if console_level <= logging.DEBUG else logging.INFO)
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)
    if os.name == "posix":
        os.chmod(path, 0o600)
    return path
