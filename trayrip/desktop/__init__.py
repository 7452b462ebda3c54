"""The tray app: composition root (:mod:`.app`), the controller thread and its
state table, the tray icon and menu (the only pystray import), icons,
global hotkeys (pynput, the only pynput import; the Wayland GlobalShortcuts
portal), notifications, the single-instance channel (``trayrip toggle``; a
Unix socket, on Windows a loopback port with a token: :mod:`.instance_endpoint`),
start at login and the installer's menu entry.

Threads: main (tray loop), ``trayrip-controller`` (the only code that changes
state), the filer thread, and foreign callbacks (hotkey hook, menu clicks)
that only put a command on the controller's queue.

The top of the path: imports ``api``, ``config`` and below; nothing below
imports from here.
"""
