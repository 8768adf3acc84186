"""``python -m capnb``: same as the ``capnb`` command."""

import sys

from capnb.cli import main

sys.exit(main())
