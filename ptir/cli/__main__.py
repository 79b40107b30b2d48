"""`python -m ptir.cli ...` is `ptirc ...`."""

import sys

from . import main

sys.exit(main())
