"""Entry script of the frozen Windows build (PyInstaller runs it as __main__).

Both programs run it: ``trayrip.exe`` (no console; no arguments: the tray)
and ``trayrip-cli.exe`` (console). Main thread.
"""
import os
import sys

# A program without a console has no stdout/stderr (None): messages written
# there (argparse, a warning) would raise instead of being dropped.
for _name in ("stdout", "stderr"):
    if getattr(sys, _name) is None:
        setattr(sys, _name, open(os.devnull, "w", encoding="utf-8"))

from trayrip.cli import main  # noqa: E402 - after the streams exist

sys.exit(main())
