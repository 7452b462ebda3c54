"""Entry script of the frozen Windows build (PyInstaller runs it as __main__)."""
import sys

from trayrip.cli import main

sys.exit(main())
