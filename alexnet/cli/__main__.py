"""``python -m alexnet.cli ...`` (what torchrun launches): the same as the `alexnet` console script."""

import sys

from alexnet.cli import main

sys.exit(main())
