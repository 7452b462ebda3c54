"""``python -m trayrip``: same as the ``trayrip`` command."""
from .cli import main

raise SystemExit(main())
