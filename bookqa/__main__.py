"""``python -m bookqa``: see bookqa.cli."""

import sys

from bookqa.cli import main

sys.exit(main())
