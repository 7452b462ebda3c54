"""Where recordings go and how they get there (controller/filer threads).

A recording is captured into a hidden ``.part`` file inside its target
folder (same filesystem, so filing is a rename), cut to the trim range and
then linked to a free final name: an existing file is never overwritten.
"""
from __future__ import annotations

import datetime as _dt
import errno
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import FilingError
from .wavedit import IN_PLACE_MAX_LEAD, copy_range, cut_in_place

__all__ = [
    "PART_PREFIX",
    "PART_SUFFIX",
    "default_folder",
    "prepare_folder",
    "new_part_path",
    "timestamp_stem",
    "place_exclusive",
    "claim_name",
    "FiledRecording",
    "finish_wav",
]

log = logging.getLogger(__name__)

PART_PREFIX = ".trayrip-"
PART_SUFFIX = ".wav.part"


def default_folder() -> Path:
    """The user's Music folder (XDG user dirs / platform default) + ``playlists``."""
    import platformdirs

    return Path(platformdirs.user_music_dir()) / "playlists"


def prepare_folder(folder: Path) -> Path:
    """Create ``folder`` if needed and check that it takes new files."""
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise FilingError(f"{folder} exists and is not a folder") from None
    except OSError as exc:
        raise FilingError(f"cannot create the folder {folder}: {exc.strerror}") from None
    if not folder.is_dir():
        raise FilingError(f"{folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise FilingError(f"cannot write to {folder}: permission denied; choose another folder with --folder")
    return folder


def timestamp_stem(when: _dt.datetime | None = None) -> str:
    """File name stem from date and time, valid on every OS."""
    return (when or _dt.datetime.now()).strftime("%Y-%m-%d %H-%M-%S")


def new_part_path(folder: Path, when: _dt.datetime | None = None) -> Path:
    """A fresh hidden capture file name in ``folder`` (not yet created)."""
    stamp = (when or _dt.datetime.now()).strftime("%Y%m%d-%H%M%S-%f")
    return folder / f"{PART_PREFIX}{stamp}-{os.getpid()}{PART_SUFFIX}"


def _candidates(folder: Path, stem: str, suffix: str):
    yield folder / f"{stem}{suffix}"
    for n in range(2, 100000):
        yield folder / f"{stem} ({n}){suffix}"


def claim_name(src: Path, target: Path) -> bool:
    """Move ``src`` to ``target`` atomically unless ``target`` exists (then False).

    A hard link claims the name atomically; where links are not supported
    the name is reserved with O_EXCL and then replaced.
    """
    try:
        os.link(src, target)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS):
            raise FilingError(f"cannot file {target.name} in {target.parent}: {exc.strerror}") from None
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            return False
        os.replace(src, target)
        return True
    os.unlink(src)
    return True


def place_exclusive(src: Path, folder: Path, stem: str, suffix: str) -> Path:
    """Move ``src`` to ``folder/stem+suffix`` (or ``stem (2)`` …) without overwriting."""
    for candidate in _candidates(Path(folder), stem, suffix):
        if claim_name(src, candidate):
            return candidate
    raise FilingError(f"no free file name for {stem}{suffix} in {folder}")


@dataclass(frozen=True)
class FiledRecording:
    """A finished recording."""

    path: Path
    frames: int
    rate: int
    trimmed: bool

    @property
    def duration(self) -> float:
        return self.frames / self.rate


def finish_wav(
    part: Path,
    keep: tuple[int, int] | None,
    *,
    folder: Path | None = None,
    stem: str | None = None,
    output: Path | None = None,
) -> FiledRecording:
    """Cut a closed capture file to ``keep`` frames and give it its final name.

    With ``output`` the file goes exactly there (refusing to overwrite);
    otherwise into ``folder`` under ``stem`` (plus a counter if taken).
    """
    from .wavfile import read_layout

    fd = os.open(part, os.O_RDONLY)
    try:
        layout = read_layout(fd)
    finally:
        os.close(fd)
    bpf = layout.fmt.bytes_per_frame
    total = layout.data_size // bpf
    start, end = keep if keep is not None else (0, total)
    source = part
    if start * bpf > IN_PLACE_MAX_LEAD:
        copied = part.with_name(part.name + ".cut")
        layout = copy_range(part, copied, start, end)
        os.unlink(part)
        os.replace(copied, part)
    elif (start, end) != (0, total):
        layout = cut_in_place(part, start, end)
    frames = layout.data_size // bpf
    if output is not None:
        final = Path(output)
        if not claim_name(source, final):
            raise FilingError(f"{final} already exists; not overwriting it (the recording is kept as {part})")
    else:
        final = place_exclusive(source, Path(folder or part.parent), stem or timestamp_stem(), ".wav")
    log.info("filed %s (%.2f s)", final, frames / layout.fmt.rate)
    return FiledRecording(final, frames, layout.fmt.rate, keep is not None)
