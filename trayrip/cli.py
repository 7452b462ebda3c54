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
from dataclasses import replace
from pathlib import Path

from . import __version__
from .errors import BadArgument, TrayripError

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
    where.add_argument(
        "-o", "--output", type=Path, metavar="FILE",
        help="write exactly FILE (.wav, .flac, .mp3, .ogg or .opus by its suffix; never overwritten)",
    )
    p.add_argument("--device", metavar="D", help="record device D (name, part of a name, or index from 'trayrip devices')")
    p.add_argument("--app", metavar="NAME",
                   help="record only applications whose name or binary contains NAME (see 'trayrip apps'); "
                   "with --tracks, follow that application's player")
    p.add_argument("--muted", action="store_true",
                   help="with --app: record the application without hearing it (it plays only into the recording)")
    p.add_argument("--rate", type=_rate, metavar="R", help="sample rate in Hz (default: the device's own)")
    p.add_argument("--bits", type=int, choices=(16, 24), default=16, help="bit depth (default 16)")
    p.add_argument("--master", action="store_true", help="shorthand for --rate 96000 --bits 24")
    p.add_argument("--no-trim", dest="trim", action="store_false", help="keep leading and trailing silence")
    _add_replaygain_option(p)
    p.add_argument("--normalize", choices=("track", "album"), default=None,
                   help="apply the loudness gain to the audio (to -18 LUFS, peaks kept at or under -1 dBFS); "
                   "album: one gain for all tracks of --split/--tracks")
    p.add_argument(
        "--threshold", type=_threshold, default=None, metavar="DB", help="silence threshold in dBFS (default -50)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    p.add_argument("--format", type=_format, default=None, metavar="F", help=_FORMAT_HELP)
    p.add_argument("--template", type=_template, metavar="T", help=_TEMPLATE_HELP)
    p.add_argument("--title", metavar="TEXT", help="title for the {title} name field and the tags")
    p.add_argument(
        "--split", type=_positive_float, nargs="?", const=2.0, default=None, metavar="S",
        help="split into tracks at silences of at least S seconds (default 2) into one folder with an .m3u8 playlist",
    )
    p.add_argument(
        "--min-track", type=_positive_float, default=30.0, metavar="S",
        help="with --split: pieces shorter than S seconds are merged into a neighbour (default 30)",
    )
    p.add_argument(
        "--tracks", action="store_true", default=None,
        help="one file per track, cut at the media player's track changes (MPRIS) and named and tagged from its "
        "metadata, in one folder with an .m3u8; without a player: --split or one file",
    )
    p.add_argument("--track-template", type=_template, metavar="T",
                   help="with --tracks: track names from {track} {disc} {artist} {title} {album} {albumartist} {date} "
                   "(default '{track:02} {artist} - {title}'); --template names the folder ('{date} {time} {album}')")
    p.add_argument("--remote-art", action="store_true",
                   help="with --tracks: fetch cover art from the web when the player points there (default: local only)")
    p.add_argument("--keep-ads", dest="skip_ads", action="store_false",
                   help="with --tracks: file what the player marks as ads too (default: left out)")
    p.add_argument("--duplicates", choices=("keep-both", "skip", "keep-longer"), default="keep-both",
                   help="with --tracks, a track whose artist + title is already in the folder tree: keep both "
                   "(default, named '(2)'), skip it, or keep the longer recording")
    p.add_argument("--no-partial", dest="keep_partial", action="store_false", default=None,
                   help="with --tracks: do not file tracks joined mid-way or left early (default: keep, '(partial)')")
    p.add_argument(
        "--wait-for-sound", action="store_true",
        help="keep the stream open but write nothing until the level passes the threshold (the onset is kept)",
    )
    p.add_argument(
        "--stop-on-silence", type=_positive_float, default=None, metavar="S",
        help="stop and file by itself after S seconds of continuous silence",
    )
    p.set_defaults(func=_cmd_record)


def _add_replaygain_option(p) -> None:
    p.add_argument("--no-replaygain", dest="replaygain", action="store_false",
                   help="no ReplayGain loudness tags (default: track gain/peak, and album gain/peak over tracks)")


_FORMAT_HELP = "output format: wav (default), flac, mp3, ogg or opus (mp3/ogg/opus need ffmpeg; without it WAV is kept)"
_TEMPLATE_HELP = (
    "file name template with {date} {time} {counter} {duration} {device} {title}; "
    "a '/' makes a folder per recording (default: '{date} {time}')"
)


def _format(text: str) -> str:
    from .filing.encoders import get_format

    try:
        return get_format(text).name
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _template(text: str) -> str:
    from .filing.naming import validate_template

    try:
        return validate_template(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be zero or a positive number of seconds")
    return value


def _add_silence_options(p) -> None:
    """The detector settings shared by trim and split (defaults as when recording)."""
    p.add_argument(
        "--threshold", type=_threshold, default=None, metavar="DB", help="silence threshold in dBFS (default -50)"
    )
    p.add_argument(
        "--pad-before", type=_non_negative_float, default=None, metavar="S",
        help="keep S seconds before the sound (default 0.1)",
    )
    p.add_argument(
        "--pad-after", type=_non_negative_float, default=None, metavar="S",
        help="keep S seconds after the sound (default 0.3)",
    )
    p.add_argument("--dry-run", action="store_true", help="only print the points (seconds, tab-separated) on stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")


def _add_trim(sub) -> None:
    p = sub.add_parser(
        "trim",
        help="trim leading and trailing silence off audio files made elsewhere",
        description="Trim silence with the same detector and thresholds as live recording. WAV/RF64 of any size is "
        "streamed and the kept bytes copied; other formats go through libsndfile. By default the result is written "
        "beside each input as 'NAME (trimmed).EXT'; nothing is ever overwritten except with --in-place. "
        "Prints each output path on stdout (with --dry-run: START END FILE, in seconds).",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "-o", "--output", type=Path, metavar="OUT",
        help="write OUT (one input; its suffix picks the format), or into the existing folder OUT",
    )
    where.add_argument("--in-place", action="store_true", help="replace each input by its trimmed version")
    _add_silence_options(p)
    _add_replaygain_option(p)
    p.set_defaults(func=_cmd_trim)


def _add_split(sub) -> None:
    p = sub.add_parser(
        "split",
        help="split audio files into tracks at silences",
        description="Cut a recording of several songs at silences of at least --gap seconds into '01 NAME', "
        "'02 NAME' ... files in a new folder (beside the input, or in -o DIR) with an .m3u8 playlist. "
        "Prints each new folder on stdout (with --dry-run: START END per track).",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("-o", "--output", type=Path, metavar="DIR", help="make the track folders in DIR")
    p.add_argument(
        "--gap", type=_positive_float, default=2.0, metavar="S",
        help="silences of at least S seconds separate tracks (default 2)",
    )
    p.add_argument(
        "--min-track", type=_non_negative_float, default=30.0, metavar="S",
        help="merge pieces shorter than S seconds into a neighbour (default 30)",
    )
    p.add_argument("--format", type=_format, default=None, metavar="F", help="track format (default: the input's own)")
    p.add_argument(
        "--no-trim", dest="trim", action="store_false",
        help="keep the silence before the first and after the last track",
    )
    _add_silence_options(p)
    _add_replaygain_option(p)
    p.set_defaults(func=_cmd_split)


def _add_devices(sub) -> None:
    p = sub.add_parser("devices", help="list the sound server's sources and the input devices; * marks the one recorded")
    p.set_defaults(func=_cmd_devices)


def _add_apps(sub) -> None:
    p = sub.add_parser("apps", help="list the applications playing now (for 'trayrip record --app')")
    p.set_defaults(func=_cmd_apps)


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


def _add_doctor(sub) -> None:
    p = sub.add_parser(
        "doctor",
        help="check what trayrip needs, one line each with a fix; exit 1 if recording cannot work",
        description="Checks the sound server, the loopback source (with a one-second test capture), the tray, "
        "the hotkey, ffmpeg, the output folder, the config file and the log file.",
    )
    p.set_defaults(func=_cmd_doctor)


def _cmd_doctor(args) -> int:
    from .doctor import FAIL, format_check, run_checks

    failed = False
    for check in run_checks():
        print(format_check(check), flush=True)
        failed |= check.status == FAIL
    return 1 if failed else 0


def _add_tray(sub) -> None:
    p = sub.add_parser("tray", help="run the tray icon with the global hotkey (the default)")
    p.set_defaults(func=_cmd_tray)


_CONTROL_HELP = {
    "toggle": "start or stop recording in the running tray app (bind this to a desktop shortcut)",
    "start": "start recording in the running tray app (nothing if it already records)",
    "stop": "stop the running tray app's recording and file it (nothing if it is not recording)",
}


def _add_control(sub) -> None:
    for name, text in _CONTROL_HELP.items():
        p = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ". Exits with 1 when no trayrip runs.")
        p.set_defaults(func=_cmd_control)


def _add_autostart(sub) -> None:
    p = sub.add_parser(
        "autostart",
        help="start the tray app at login: on, off or status",
        description="Start the tray app when you log in (Linux: ~/.config/autostart/trayrip.desktop; "
        "Windows: the Run key of the current user; macOS: ~/Library/LaunchAgents/trayrip.plist). "
        "'status' prints on or off and where.",
    )
    p.add_argument("action", choices=("on", "off", "status"))
    p.set_defaults(func=_cmd_autostart)


def _add_schedule(sub) -> None:
    p = sub.add_parser(
        "schedule",
        help="record at set times: add, list, remove, on, off",
        description="Scheduled recordings, kept in schedules.toml beside config.toml. The tray app records them; "
        "when it is not running, a systemd user timer (Windows: a scheduled task) starts it.",
    )
    ssub = p.add_subparsers(dest="schedule_command", metavar="ACTION", required=True)
    add = ssub.add_parser(
        "add", help='add a schedule, e.g. add "Mon,Thu 20:00" --for 1h --app firefox --name "Jazz hour"',
        description='Add a schedule. WHEN is days and a time ("Mon,Thu 20:00", "daily 07:30", "weekdays 18:00", '
        '"Sat-Sun 10:00"); or give --at DATE-TIME for a single recording. Exit status 2 for a time in the past, '
        "an overlap with another schedule or bad syntax.",
    )
    add.add_argument("when", nargs="?", metavar="WHEN", help='days and a time, e.g. "Mon,Thu 20:00"')
    add.add_argument("--at", metavar="DATE-TIME", help="once, at this date and time, e.g. 2026-12-24T18:00")
    end = add.add_mutually_exclusive_group(required=True)
    end.add_argument("--for", dest="for_", metavar="LENGTH", help="record this long: 1h, 90m, 1h30m, 45s")
    end.add_argument("--until", metavar="TIME", help="record until this time of day (e.g. 19:30)")
    add.add_argument("--name", default="", help="a name used in the file name and tags, e.g. 'Jazz hour'")
    add.add_argument("--app", help="record only this application (see 'trayrip apps'); default: all audio")
    add.add_argument("--device", help="record this device (see 'trayrip devices')")
    add.add_argument("--format", type=_format, help=_FORMAT_HELP)
    add.add_argument("--folder", help="file into this folder (default: the tray's)")
    add.add_argument("--template", help=_TEMPLATE_HELP + "; default '{title} {date} {time}'")
    add.add_argument("--split", action="store_true", default=None, help="split into tracks at silences")
    add.add_argument("--tracks", action="store_true", default=None, help="one file per track of the media player")
    ssub.add_parser("list", help="list the schedules with their next run")
    for name, text in (("remove", "remove schedule N (its number in 'schedule list')"),
                       ("on", "turn schedule N on"), ("off", "turn schedule N off (kept in the file)")):
        q = ssub.add_parser(name, help=text)
        q.add_argument("number", type=int, metavar="N")
    ssub.add_parser("run", help="what the OS timer runs: hand the schedules to the running tray app, or start it")
    p.set_defaults(func=_cmd_schedule)


def _cmd_schedule(args) -> int:
    import datetime as dt

    from .schedule import edit
    from .schedule.rules import ScheduleError
    from .schedule.store import ScheduleStore
    from .schedule.timers import os_timers

    store = ScheduleStore()
    now = dt.datetime.now(dt.timezone.utc)
    action = args.schedule_command
    if action == "run":
        return _schedule_run(args)
    if action == "list":
        schedules = store.load()
        for problem in schedules.problems:
            sys.stderr.write(f"trayrip: {problem}\n")
        lines = edit.listing(schedules, now)
        for line in lines:
            print(line.text(schedules.tz))
        if not lines:
            sys.stderr.write(f"trayrip: no schedules ({store.path})\n")
        return 2 if schedules.problems else 0
    timers = os_timers()
    if action == "add":
        if (args.when is None) == (args.at is None):
            raise ScheduleError('give either WHEN (e.g. "Mon,Thu 20:00") or --at DATE-TIME, not both or neither')
        options = {"app": args.app, "device": args.device, "format": args.format, "folder": args.folder,
                   "name_template": args.template, "split": args.split, "tracks": args.tracks}
        entry, first, notes = edit.add(store, timers, now, when=args.when or args.at, for_=args.for_,
                                       until=args.until, name=args.name, options=options)
        number = len(store.load().entries)
        print(f"{number}  {entry.name or '(no name)'}  {entry.describe()}  "
              f"[next {first.start.astimezone(store.load().tz):%a %Y-%m-%d %H:%M}]")
    elif action == "remove":
        entry, notes = edit.remove(store, timers, args.number)
        sys.stderr.write(f"trayrip: removed {entry.name or entry.describe()}\n")
    else:
        entry, notes = edit.set_enabled(store, timers, args.number, action == "on", now)
        sys.stderr.write(f"trayrip: {entry.name or entry.describe()} is {action}\n")
    for note in notes:
        sys.stderr.write(f"trayrip: {note}\n")
    _tell_tray("schedules")
    return 0


def _tell_tray(command: str) -> None:
    """A running tray app reloads the schedules now (it does not poll the file)."""
    from .desktop.instance import NotRunning, ask_running

    try:
        ask_running(command)
    except NotRunning:
        pass
    except TrayripError as exc:
        log.info("the running tray app did not take the new schedules: %s", exc)


def _schedule_run(args) -> int:
    """The OS timer's command: the running tray app checks its schedules now; else the tray app starts."""
    from .desktop.instance import NotRunning, ask_running

    try:
        reply = ask_running("schedules")
    except NotRunning:
        from .desktop.app import run_tray
        from .logsetup import setup_logging

        setup_logging(logging.WARNING - 10 * min(args.verbose, 2), to_file=True)
        return run_tray(args)
    sys.stderr.write(f"trayrip: {reply}\n")
    return 0


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
    _add_apps(sub)
    _add_trim(sub)
    _add_split(sub)
    _add_recover(sub)
    _add_control(sub)
    _add_autostart(sub)
    _add_doctor(sub)
    _add_schedule(sub)
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
    """Leftovers of a crashed run in the folder we are about to use are filed first
    (and sound-server routing a killed run left is undone)."""
    from .filing.finish import default_folder
    from .filing.recovery import recover_all

    if sys.platform.startswith("linux"):
        from .capture.routing import cleanup_leftovers

        cleanup_leftovers()
    try:
        report_recovery(recover_all([Path(folder) if folder else default_folder()]), paths_to_stdout=False)
    except OSError as exc:
        log.warning("looking for unfinished recordings failed: %s", exc)


def _cmd_record(args) -> int:
    from .api import RecordingFailed, record
    from .recording.silence import SilenceSettings

    rate, bits = args.rate, args.bits
    if args.master:
        rate, bits = rate or 96000, 24
    silence = SilenceSettings() if args.threshold is None else SilenceSettings(threshold_db=args.threshold)
    if args.split is not None:
        silence = replace(silence, region_gap=args.split)
    out_format = _record_format(args)
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
        if args.stop_on_silence:
            until += f" or {args.stop_on_silence:g} s of silence"
        when = "Waiting for sound, then recording" if args.wait_for_sound else "Recording"
        sys.stderr.write(f"{when} what the computer plays {until}...\n")
    try:
        path = record(
            args.duration,
            stop=stop,
            on_progress=progress if progress.enabled else None,
            folder=args.folder,
            output=args.output,
            device=args.device,
            app=args.app,
            muted=args.muted,
            rate=rate,
            bits=bits,
            trim=args.trim,
            silence=silence,
            format=out_format,
            template=args.template,
            title=args.title,
            split=args.split is not None,
            min_track=args.min_track,
            tracks=bool(args.tracks),
            track_template=args.track_template,
            keep_partial=args.keep_partial is not False,
            remote_art=args.remote_art,
            wait_for_sound=args.wait_for_sound,
            stop_on_silence=args.stop_on_silence or 0.0,
            replaygain=args.replaygain,
            normalize=args.normalize,
            skip_ads=args.skip_ads,
            duplicates=args.duplicates,
        )
    except RecordingFailed as exc:
        progress.end()
        if exc.filed is not None:
            print(exc.filed.path)
        raise
    progress.end()
    print(path)
    return 0


def _record_format(args) -> str:
    """The output format of ``record``; says at once when it cannot be written (WAV is kept then)."""
    from .filing.encoders import format_for_path, warn_if_unusable

    by_suffix = format_for_path(args.output) if args.output else None
    if args.output is not None and by_suffix is None:
        raise BadArgument(f"{args.output.name}: unknown audio type; use .wav, .flac, .mp3, .ogg or .opus")
    if args.output is not None and (args.split is not None or args.tracks):
        which = "--split" if args.split is not None else "--tracks"
        raise BadArgument(f"{which} files a folder of tracks: give --folder, not --output")
    if by_suffix is not None and args.format is not None and by_suffix.name != args.format:
        raise BadArgument(f"--format {args.format} does not match the output file {args.output.name}")
    name = by_suffix.name if by_suffix is not None else args.format or "wav"
    warn_if_unusable(name)  # logged now, before recording; the recording will be kept as WAV
    return name


def _silence_from(args, region_gap: float | None = None):
    from .recording.silence import SilenceSettings

    changes = {}
    if args.threshold is not None:
        changes["threshold_db"] = args.threshold
    if args.pad_before is not None:
        changes["pad_before"] = args.pad_before
    if args.pad_after is not None:
        changes["pad_after"] = args.pad_after
    if region_gap is not None:
        changes["region_gap"] = region_gap
    return SilenceSettings(**changes)


def _trim_targets(args) -> tuple[Path | None, Path | None]:
    """(output file, output folder) for ``trim``."""
    out = args.output
    if out is None:
        return None, None
    if out.is_dir():
        return None, out
    from .filing.encoders import format_for_path

    if format_for_path(out) is None:
        raise BadArgument(f"{out.name}: unknown output type; use .wav, .flac, .mp3, .ogg or .opus, or an existing folder")
    if len(args.files) > 1:
        raise BadArgument(f"{out} is not a folder: with several files, -o must name an existing folder")
    return out, None


def _file_error(path: Path, exc: Exception) -> str:
    """One message about one input file, naming it once."""
    text = getattr(exc, "strerror", None) or str(exc)
    return text if str(path) in text or path.name in text.split(":", 1)[0] else f"{path}: {text}"


def _cmd_trim(args) -> int:
    from .filing.offline import trim_file

    settings = _silence_from(args)
    output, out_dir = _trim_targets(args)
    failed = 0
    for path in args.files:
        try:
            r = trim_file(path, output=output, out_dir=out_dir, in_place=args.in_place, settings=settings, dry_run=args.dry_run,
                          replaygain=args.replaygain)
        except (TrayripError, ValueError, OSError) as exc:
            failed += 1
            sys.stderr.write(f"trayrip: {_file_error(path, exc)}\n")
            continue
        a = r.analysis
        rate = a.format.rate
        if a.trim_range is None:
            failed += 1
            sys.stderr.write(f"trayrip: {path}: {a.no_sound(settings)}; nothing written\n")
            continue
        start, end = a.trim_range
        if not args.quiet:
            sys.stderr.write(
                f"{path}: keeping {start / rate:.3f}-{end / rate:.3f} s of {a.frames / rate:.3f} s "
                f"(cut {start / rate:.3f} s before, {(a.frames - end) / rate:.3f} s after)\n"
            )
        print(f"{start / rate:.3f}\t{end / rate:.3f}\t{path}" if args.dry_run else r.output)
    return 1 if failed else 0


def _cmd_split(args) -> int:
    from .filing.offline import split_file

    settings = _silence_from(args, region_gap=args.gap)
    if args.output is not None and args.output.exists() and not args.output.is_dir():
        raise TrayripError(f"{args.output} is not a folder")
    failed = 0
    for path in args.files:
        try:
            analysis, tracks, filed = split_file(
                path, out_dir=args.output, format=args.format, settings=settings,
                min_track=args.min_track, trim=args.trim, dry_run=args.dry_run, replaygain=args.replaygain,
            )
        except (TrayripError, ValueError, OSError) as exc:
            failed += 1
            sys.stderr.write(f"trayrip: {_file_error(path, exc)}\n")
            continue
        rate = analysis.format.rate
        if not args.quiet:
            sys.stderr.write(f"{path}: {len(tracks)} track{'s' if len(tracks) != 1 else ''}\n")
        if args.dry_run:
            for start, end in tracks:
                print(f"{start / rate:.3f}\t{end / rate:.3f}\t{path}")
        else:
            if filed.note:
                sys.stderr.write(f"trayrip: warning: {filed.note}\n")
            print(filed.path)
    return 1 if failed else 0


def report_recovery(reports, paths_to_stdout: bool = True) -> int:
    """Tell the user what recovery did (stderr for messages, stdout for filed paths); returns problems."""
    problems = 0
    for r in reports:
        problems += bool(r.problem)
        sys.stderr.write(("trayrip: " if r.problem else "") + r.message + "\n")
        if r.filed is not None and paths_to_stdout:
            print(r.filed.path)
    return problems


def _cmd_recover(args) -> int:
    from .capture.routing import cleanup_leftovers
    from .filing.finish import default_folder

    if sys.platform.startswith("linux"):
        cleanup_leftovers()
    from .filing.recovery import recover_all

    folders = [default_folder(), *args.folder]
    reports = recover_all(folders, trim=args.trim)
    if not reports:
        sys.stderr.write("nothing to recover in " + ", ".join(str(f) for f in folders) + "\n")
    return 1 if report_recovery(reports) else 0


def _cmd_apps(args) -> int:
    from .capture import routing
    from .errors import CaptureError

    if not sys.platform.startswith("linux"):
        raise CaptureError(routing.unsupported_message(sys.platform))
    apps = routing.playing_apps(routing.streams())
    if not apps:
        print("no application is playing", file=sys.stderr)
        return 0
    width = max(len(a) for a, _, _ in apps)
    for app, binary, pid in apps:
        print(f"{app:<{width}}  {binary or '-'}  {pid if pid is not None else '-'}")
    return 0


def _cmd_devices(args) -> int:
    from .capture.listing import device_report
    from .capture.portaudio import PortAudio

    backend = PortAudio()
    try:
        report = device_report(lambda: backend)
    finally:
        backend.close()
    for line in report.lines:
        print(line)
    for problem in report.problems:
        sys.stderr.write(f"trayrip: {problem}\n")
    if sys.platform.startswith("linux"):
        from .capture.discovery import plan_pipewire

        try:
            native = plan_pipewire()
        except TrayripError:
            native = None
        if native is not None:
            print(f"(PipeWire: 'trayrip record' records {native.target.description} with a {native.tool} "
                  "child, not through these devices)", file=sys.stderr)
    return 0 if report.ok else 1


def _cmd_control(args) -> int:
    from .desktop.instance import ask_running

    reply = ask_running(args.command)  # NotRunning (a TrayripError) -> status 1
    sys.stderr.write(f"trayrip: {reply}\n")
    return 0


def _cmd_autostart(args) -> int:
    from .desktop.autostart import for_platform, set_autostart

    autostart = for_platform()
    if args.action != "status":
        set_autostart(autostart, args.action == "on")
    print(f"{'on' if autostart.enabled() else 'off'}\t{autostart.where}")
    return 0


def _cmd_tray(args) -> int:
    from .desktop.app import run_tray

    return run_tray(args)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``trayrip`` command; returns the exit status."""
    from .logsetup import setup_logging

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "tray"])
    level = logging.WARNING - 10 * min(args.verbose, 2)
    setup_logging(level, to_file=args.command == "tray")
    try:
        return args.func(args)
    except BadArgument as exc:
        sys.stderr.write(f"trayrip: error: {exc}\n")
        return 2
    except TrayripError as exc:
        sys.stderr.write(f"trayrip: error: {exc}\n")
        return 1
    except ValueError as exc:
        sys.stderr.write(f"trayrip: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("\ntrayrip: interrupted\n")
        return 130
