"""Scheduled recordings as data: the syntax, the next-run function, the TOML file, OS timers.

Owns: what a schedule entry means (``rules``: "Mon,Thu 20:00" for 1 h), when
it runs next as a pure function of (previous run, now, time zone)
(``rules.next_window``/``rules.plan``), the ``schedules.toml`` file in the
config folder (``store``) and the OS timers that start trayrip when it is
not running (``timers``: a systemd user timer, a Windows scheduled task).

Runs on: the caller's thread (CLI, or the tray's controller thread through
``trayrip.desktop.schedule_runner``). Nothing here starts threads.

Never imports: ``desktop``, ``api``, the capture or recording stages (a
schedule only carries options; the normal start path records it), nor any
third-party I/O library.
"""
