"""`python -m classifier ...`: see classifier.cli."""
from .cli import main

raise SystemExit(main())
