"""``python -m bench run ...``: the cross-system benchmark suite (``bench.suite``)."""

import sys

from bench.suite.cli import main

sys.exit(main())
