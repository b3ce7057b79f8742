"""Entry point of a runtime process: ``python3 -m nightjar --ipc-root ... --control-fd N``.
The launcher starts it; it is not meant to be run by hand."""

import sys

from ._runtime import main

sys.exit(main())
