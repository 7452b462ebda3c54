"""Player events + synthetic audio → track ranges: gapless change, silence, pause, partial, skip back."""
from __future__ import annotations

import numpy as np
import pytest

from trayrip.nowplaying.metadata import PlayerEvent, TrackInfo
from trayrip.nowplaying.timeline import plan_player_tracks

RATE = 16000
A = TrackInfo("/a", "Alpha", "Ann", length=10.0)
B = TrackInfo("/b", "Beta", "Bob", length=8.0)
C = TrackInfo("/c", "Gamma", "Cy", length=4.0)


def tone(freq, seconds):
    t = np.arange(round(seconds * RATE)) / RATE
    x = 0.3 * np.sin(2 * np.pi * freq * t)
    return np.stack([x, x], axis=1).astype(np.float32)


def quiet(seconds):
    return np.zeros((round(seconds * RATE), 2), np.float32)


def ev(kind, t, track, status="Playing", position=None):
    return PlayerEvent(kind, t, "org.mpris.MediaPlayer2.x", status, track, position, t if position is not None else None)


def plan(audio, events):
    return plan_player_tracks(events, lambda t: int(min(max(0, round(t * RATE)), audio.shape[0])), audio.shape[0],
                              RATE, lambda s, n: audio[s : s + n], span=(0, audio.shape[0]))


@pytest.mark.parametrize("late", [-0.2, 0.0, 0.4, 0.8])
def test_a_session_with_every_kind_of_change(late):
    # A joined mid-way (6 of 10 s) | gapless B | B paused 9-11 | B ends in silence | C | back to A, left early
    audio = np.concatenate([tone(440, 6), tone(660, 3), quiet(2), tone(660, 5), quiet(1), tone(880, 4), tone(440, 4)])
    events = [
        ev("state", -0.5, A, position=4.0),
        ev("track", 6.0 + late, B),
        ev("status", 9.0 + max(0.0, late), B, "Paused"),
        ev("status", 11.0 + late - 0.2, B),
        ev("track", 16.5 + late, C),
        ev("track", 21.0 + late, A),
    ]
    result = plan(audio, events)
    assert result.reason is None
    got = [(t.info.title, t.partial) for t in result.tracks]
    assert got == [("Alpha", True), ("Beta", False), ("Gamma", False), ("Alpha", True)]
    a, b, c, a2 = result.tracks
    sec = lambda f: f / RATE  # noqa: E731
    assert a.ranges[0][0] == 0 and abs(sec(a.ranges[-1][1]) - 6.0) <= 0.15
    assert len(b.ranges) == 2, "the pause is cut out and B goes on in the same track"
    (b1s, b1e), (b2s, b2e) = b.ranges
    assert abs(sec(b1s) - 6.0) <= 0.15 and b1s == a.ranges[-1][1], "gapless: B starts where A ends"
    assert sec(b1e) == pytest.approx(9.0, abs=0.02) and sec(b2s) == pytest.approx(11.0, abs=0.02)
    assert sec(b2e) == pytest.approx(16.0 + 0.3, abs=0.02)  # its tail pad into the silence
    assert sec(c.ranges[0][0]) == pytest.approx(17.0 - 0.1, abs=0.02)
    assert abs(sec(c.ranges[0][1]) - 21.0) <= 0.15 and a2.ranges[0][0] == c.ranges[0][1]
    assert a2.ranges[-1][1] == audio.shape[0]
    assert b.frames / RATE == pytest.approx(8.3, abs=0.2)


def test_no_player_or_no_titles_means_fall_back():
    audio = tone(440, 3)
    assert plan(audio, [PlayerEvent("none", 0.0)]).reason == "no media player (MPRIS) on the session bus"
    untitled = plan(audio, [ev("state", 0.0, TrackInfo("/1"))])
    assert untitled.tracks == () and "no track titles" in untitled.reason


def test_a_title_that_comes_late_names_the_first_track():
    audio = np.concatenate([tone(440, 4), tone(660, 4)])
    events = [ev("switch", 0.0, TrackInfo("")), ev("track", 0.3, A), ev("track", 4.2, B)]
    result = plan(audio, events)
    assert [t.info.title for t in result.tracks] == ["Alpha", "Beta"]
    assert result.tracks[0].ranges[0][0] == 0, "nothing of the first track is lost while its title was unknown"
    assert abs(result.tracks[1].ranges[0][0] / RATE - 4.0) <= 0.15


def test_metadata_blanked_for_a_moment_does_not_cut_the_track():
    audio = np.concatenate([tone(440, 4), tone(660, 4)])
    events = [ev("state", 0.0, A), ev("track", 2.0, TrackInfo("")), ev("track", 4.2, B)]
    result = plan(audio, events)
    assert [t.info.title for t in result.tracks] == ["Alpha", "Beta"]
    assert len(result.tracks[0].ranges) == 1 and abs(result.tracks[0].ranges[0][1] / RATE - 4.0) <= 0.15


def test_the_player_leaving_ends_the_track_in_its_silence():
    audio = np.concatenate([tone(440, 3), quiet(3)])
    result = plan(audio, [ev("state", 0.0, A), PlayerEvent("gone", 3.4, "org.mpris.MediaPlayer2.x", "Stopped", A)])
    assert [len(t.ranges) for t in result.tracks] == [1]
    assert result.tracks[0].ranges[0][1] / RATE == pytest.approx(3.3, abs=0.02)


def test_playing_the_same_track_again_makes_a_new_track():
    """"Previous" late in a track seeks it back to 0 (same track id): the first play is kept, partial."""
    audio = np.concatenate([tone(440, 5), tone(440, 4.0)])
    restart = PlayerEvent("seeked", 5.3, "org.mpris.MediaPlayer2.x", "Playing", A, 0.0, 5.0)
    result = plan(audio, [ev("state", 0.0, A), restart, ev("track", 5.5, A)])
    assert [(t.info.title, t.partial) for t in result.tracks] == [("Alpha", True), ("Alpha", True)]
    first, again = result.tracks
    assert first.ranges[-1][1] == again.ranges[0][0] == 5 * RATE  # cut where the player said it started again
    seek_early = PlayerEvent("seeked", 1.0, "org.mpris.MediaPlayer2.x", "Playing", A, 0.2, 1.0)
    assert len(plan(audio, [ev("state", 0.0, A), seek_early]).tracks) == 1  # early in the track: no new file


def fade(freq, seconds, fade_for):
    x = tone(freq, seconds)
    x[-round(fade_for * RATE):] *= np.linspace(1.0, 0.0, round(fade_for * RATE), dtype=np.float32)[:, None]
    return x


@pytest.mark.parametrize("early", [0.0, 0.22, 0.6])
def test_the_last_track_keeps_its_end_and_tail_pad_when_the_player_stops(early):
    """Issue 20, defect 4: the player's "Stopped" may come before its last audio (or mid-fade)."""
    audio = np.concatenate([tone(440, 3), fade(660, 3, 1.0), quiet(2)])
    events = [ev("state", 0.0, A), ev("track", 3.0, B), ev("status", 6.0 - early, B, "Stopped")]
    result = plan(audio, events)
    first, last = result.tracks
    assert abs(first.ranges[-1][1] / RATE - 3.0) <= 0.15  # the first track's end came from the change
    end = last.ranges[-1][1] / RATE
    # the sound (with its fade, to where it falls below -50 dBFS) and the 0.3 s pad after it
    sound_end = 6.0 - 1.0 * 10 ** (-50 / 20)
    assert sound_end + 0.3 - 0.03 <= end <= sound_end + 0.3 + 0.02, end


def test_the_last_track_ends_with_the_recording_when_the_stop_comes_before_its_last_audio():
    audio = np.concatenate([tone(440, 3), tone(660, 3)])  # the recording ends while the sound still plays
    events = [ev("state", 0.0, A), ev("track", 3.0, B), ev("status", 5.78, B, "Stopped")]
    last = plan(audio, events).tracks[-1]
    assert last.ranges[-1][1] == audio.shape[0], "the file must not lose the last 0.22 s at full level"


@pytest.mark.parametrize("position", [0.6, 1.0])
def test_the_players_position_puts_the_change_before_the_signal(position):
    """Issue 20, item 6: a track reported ``position`` s in at the signal began ``position`` s before it.

    Two equally strong changes lie either side of the signal, ``position`` s away; only the sign decides.
    """
    signal_at = 6.0
    audio = np.concatenate([tone(440, signal_at - position), tone(660, 2 * position), tone(880, 4)])
    events = [ev("state", 0.0, A), ev("track", signal_at, B, position=position)]
    a, b = plan(audio, events).tracks
    assert b.ranges[0][0] / RATE == pytest.approx(signal_at - position, abs=0.05)
    assert a.ranges[-1][1] == b.ranges[0][0]
