"""``python -m benchmarks.api_load``: the load benchmark (``make bench``)."""

import sys

from benchmarks.api_load.run import main

sys.exit(main())
