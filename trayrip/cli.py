"""Command line: ``trayrip [tray|record|devices] ...`` (main thread).

Output for people goes to stderr (progress line, messages); stdout carries
only results (the filed path, the device list) so scripts can use them.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from . import __version__
from .errors import TrayripError

__all__ = ["main", "build_parser"]

log = logging.getLogger(__name__)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _rate(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of Hz (e.g. 48000)") from None
    if not 1000 <= value <= 768000:
        raise argparse.ArgumentTypeError("must be between 1000 and 768000 Hz")
    return value


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a level in dBFS (e.g. -50)") from None
    if not -120 <= value <= 0:
        raise argparse.ArgumentTypeError("must be between -120 and 0 dBFS")
    return value


def _add_record(sub) -> None:
    p = sub.add_parser(
        "record",
        help="record what the computer plays, then trim and file it",
        description="Record the system's audio output (loopback) until Ctrl+C, SIGTERM or --duration, "
        "trim leading/trailing silence and file it. Prints the filed path on stdout.",
    )
    p.add_argument("-d", "--duration", type=_positive_float, metavar="S", help="stop after S seconds of audio")
    where = p.add_mutually_exclusive_group()
    where.add_argument("-f", "--folder", type=Path, metavar="DIR", help="file into DIR (default: Music/playlists)")
    where.add_argument("-o", "--output", type=Path, metavar="FILE", help="write exactly FILE (.wav; never overwritten)")
    p.add_argument("--device", metavar="D", help="record device D (name, part of a name, or index from 'trayrip devices')")
    p.add_argument("--rate", type=_rate, metavar="R", help="sample rate in Hz (default: the device's own)")
    p.add_argument("--bits", type=int, choices=(16, 24), default=16, help="bit depth (default 16)")
    p.add_argument("--master", action="store_true", help="shorthand for --rate 96000 --bits 24")
    p.add_argument("--no-trim", dest="trim", action="store_false", help="keep leading and trailing silence")
    p.add_argument(
        "--threshold", type=_threshold, default=None, metavar="DB", help="silence threshold in dBFS (default -50)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=_cmd_record)


def _add_devices(sub) -> None:
    p = sub.add_parser("devices", help="list input devices; * marks the one used for loopback")
    p.set_defaults(func=_cmd_devices)


def _add_recover(sub) -> None:
    p = sub.add_parser(
        "recover",
        help="file recordings left unfinished by a crash",
        description="Find capture files that no running trayrip is writing (left by a crash, a kill or a "
        "power cut), repair their headers, trim and file them. Looks in the default folder and any --folder.",
    )
    p.add_argument("-f", "--folder", type=Path, action="append", default=[], metavar="DIR", help="also look in DIR")
    p.add_argument("--no-trim", dest="trim", action="store_false", help="keep leading and trailing silence")
    p.set_defaults(func=_cmd_recover)


def _add_tray(sub) -> None:
    p = sub.add_parser("tray", help="run the tray icon with the global hotkey (the default)")
    p.set_defaults(func=_cmd_tray)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trayrip",
        description="Record what your computer plays. Without a command, trayrip runs in the system tray.",
    )
    parser.add_argument("--version", action="version", version=f"trayrip {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more messages (-vv: debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_tray(sub)
    _add_record(sub)
    _add_devices(sub)
    _add_recover(sub)
    return parser


class _Progress:
    """The live line on stderr while recording (main thread)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._shown = False

    def __call__(self, status) -> None:
        if not self.enabled:
            return
        secs = int(status.elapsed)
        level = status.level_db
        level_text = " -inf" if level == float("-inf") else f"{max(level, -99.9):5.1f}"
        bars = 0 if level == float("-inf") else max(0, min(10, int((level + 60) / 6)))
        meter = "#" * bars + "." * (10 - bars)
        size = status.bytes_written / 1e6
        extra = f"  {status.overflows} overflows" if status.overflows else ""
        sys.stderr.write(
            f"\r● REC {secs // 3600:d}:{secs // 60 % 60:02d}:{secs % 60:02d}  {level_text} dBFS [{meter}]  {size:7.1f} MB{extra} "
        )
        sys.stderr.flush()
        self._shown = True

    def end(self) -> None:
        if self._shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _recover_before_recording(folder: Path | None) -> None:
    """Leftovers of a crashed run in the folder we are about to use are filed first."""
    from .filing import default_folder
    from .recovery import recover_all

    try:
        report_recovery(recover_all([Path(folder) if folder else default_folder()]), paths_to_stdout=False)
    except OSError as exc:
        log.warning("looking for unfinished recordings failed: %s", exc)


def _cmd_record(args) -> int:
    from .api import RecordingFailed, record
    from .silence import SilenceSettings

    rate, bits = args.rate, args.bits
    if args.master:
        rate, bits = rate or 96000, 24
    silence = SilenceSettings() if args.threshold is None else SilenceSettings(threshold_db=args.threshold)
    stop = threading.Event()

    def on_signal(signum, _frame):
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, on_signal)
    _recover_before_recording(args.output.parent if args.output else args.folder)
    progress = _Progress(enabled=not args.quiet and sys.stderr.isatty())
    if not args.quiet:
        until = f"for {args.duration:g} s" if args.duration else "until Ctrl+C"
        sys.stderr.write(f"Recording what the computer plays {until}...\n")
    try:
        path = record(
            args.duration,
            stop=stop,
            on_progress=progress,
            folder=args.folder,
            output=args.output,
            device=args.device,
            rate=rate,
            bits=bits,
            trim=args.trim,
            silence=silence,
        )
    except RecordingFailed as exc:
        progress.end()
        if exc.filed is not None:
            print(exc.filed.path)
        raise
    progress.end()
    print(path)
    return 0


def report_recovery(reports, paths_to_stdout: bool = True) -> int:
    """Tell the user what recovery did (stderr for messages, stdout for filed paths); returns problems."""
    problems = 0
    for r in reports:
        if r.filed is not None:
            sys.stderr.write(f"recovered an unfinished recording ({r.filed.duration:.1f} s): {r.filed.path}\n")
            if paths_to_stdout:
                print(r.filed.path)
        elif r.removed_empty:
            sys.stderr.write(f"removed an empty capture file with no audio: {r.part}\n")
        else:
            problems += 1
            sys.stderr.write(f"trayrip: could not recover {r.part}: {r.problem}\n")
    return problems


def _cmd_recover(args) -> int:
    from .filing import default_folder
    from .recovery import recover_all

    folders = [default_folder(), *args.folder]
    reports = recover_all(folders, trim=args.trim)
    if not reports:
        sys.stderr.write("nothing to recover in " + ", ".join(str(f) for f in folders) + "\n")
    return 1 if report_recovery(reports) else 0


def _cmd_devices(args) -> int:
    from .audio.discovery import loopback_device_index
    from .audio.portaudio import PortAudio

    backend = PortAudio()
    try:
        devices = backend.devices()
        chosen = loopback_device_index(backend)
    finally:
        backend.close()
    if not devices:
        print("no input devices found", file=sys.stderr)
        return 1
    for d in devices:
        mark = "*" if d.index == chosen else " "
        api = f"  [{d.host_api}]" if d.host_api else ""
        print(f"{mark} {d.index:3d}  {d.name}  ({d.max_input_channels} ch, {d.default_rate} Hz){api}")
    if chosen is None:
        print("(no loopback device found: 'trayrip record' needs --device)", file=sys.stderr)
    return 0


def _cmd_tray(args) -> int:
    from .app import run_tray

    return run_tray(args)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``trayrip`` command; returns the exit status."""
    from .logsetup import setup_logging

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["tray", *(argv if argv is not None else sys.argv[1:])])
    level = logging.WARNING - 10 * min(args.verbose, 2)
    setup_logging(level, to_file=args.command == "tray")
    try:
        return args.func(args)
    except TrayripError as exc:
        sys.stderr.write(f"trayrip: error: {exc}\n")
        return 1
    except ValueError as exc:
        sys.stderr.write(f"trayrip: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("\ntrayrip: interrupted\n")
        return 130
