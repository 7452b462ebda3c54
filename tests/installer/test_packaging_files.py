"""The Windows and macOS packaging files, checked as far as this Debian machine can.

The Windows build itself runs under Wine (installer/windows/build.sh, tested
by tests/windows/test_installer_windows.py); here, fast: the spec must parse
as Python and name files that exist; the Inno Setup script must point at what
the spec builds and write the same Run value as ``trayrip autostart on``; the
macOS LaunchAgent template must be the plist that ``trayrip autostart on`` writes.
"""
from __future__ import annotations

import ast
import configparser
import plistlib
import re
from pathlib import Path

from trayrip.desktop.autostart import RUN_KEY, MacLaunchAgent, WindowsAutostart

ROOT = Path(__file__).resolve().parents[2]
WIN = ROOT / "installer" / "windows"


def _spec():
    text = (WIN / "trayrip.spec").read_text()
    tree = ast.parse(text, "trayrip.spec")  # a syntax error fails here
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    return text, strings


def test_pyinstaller_spec_parses_and_names_existing_files():
    text, strings = _spec()
    assert "launch.py" in text and (WIN / "launch.py").is_file()
    ast.parse((WIN / "launch.py").read_text())
    assert (ROOT / "trayrip" / "desktop" / "images").is_dir() and (ROOT / "icons" / "idle.png").is_file()
    assert {"trayrip", "pystray._win32", "pynput.keyboard._win32", "pyaudiowpatch"} <= strings
    assert 'program(NAME, False)' in text and 'f"{NAME}-cli"' in text  # trayrip.exe: no console; the CLI: console


def _iss() -> configparser.ConfigParser:
    iss = configparser.ConfigParser(allow_no_value=True, strict=False, delimiters=("=",), comment_prefixes=(";", "#"),
                                    interpolation=None)
    iss.optionxform = str
    iss.read_string((WIN / "trayrip.iss").read_text())
    return iss


def _entries(iss, section: str) -> list[dict[str, str]]:
    """Inno Setup's 'Key: value; Key: value' lines."""
    out = []
    for line in iss[section]:
        fields = {}
        for part in re.findall(r'(\w+):\s*("(?:[^"]|"")*"|[^;]*)', line):
            fields[part[0]] = part[1].strip()
        out.append(fields)
    return out


def test_inno_setup_script_packs_the_spec_output_and_writes_the_autostart_run_value():
    iss = _iss()
    setup = iss["Setup"]
    assert setup["AppName"] == "trayrip" and setup["PrivilegesRequired"] == "lowest"
    (files,) = _entries(iss, "Files")
    assert files["Source"].strip('"') == "{#DistDir}\\*"
    default = re.search(r'#define DistDir "([^"]+)"', (WIN / "trayrip.iss").read_text()).group(1)
    assert (WIN / default.replace("\\", "/")).resolve() == ROOT / "dist" / "trayrip"  # pyinstaller's default dist/<name>
    (run_value,) = _entries(iss, "Registry")
    assert run_value["Root"] == "HKCU" and run_value["Subkey"].strip('"') == RUN_KEY
    assert run_value["ValueName"].strip('"') == WindowsAutostart.name
    assert '{app}\\trayrip.exe"" tray' in run_value["ValueData"] and run_value["Flags"] == "uninsdeletevalue"
    uninstall = _entries(iss, "UninstallRun")[0]
    assert uninstall["Parameters"].strip('"') == "autostart off"
    programs = {e["Filename"].strip('"').split("\\")[-1] for s in ("Icons", "Run", "UninstallRun") for e in _entries(iss, s)}
    assert programs == {"trayrip.exe", "trayrip-cli.exe"}  # both built by the spec


def test_macos_launch_agent_template_is_what_autostart_writes():
    with open(ROOT / "installer" / "macos" / "trayrip.plist", "rb") as f:
        template = plistlib.load(f)
    assert template == MacLaunchAgent(command=["TRAYRIP_PATH", "tray"]).plist()
