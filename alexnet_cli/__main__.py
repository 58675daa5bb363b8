"""``python -m alexnet_cli ...`` (what torchrun launches): the same as the `alexnet` console script."""

import sys

from alexnet_cli import main

sys.exit(main())
