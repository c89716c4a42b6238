"""``python -m kvnb.local.server``: what `kvnb local start` launches in the background."""

import sys

from .process import main

sys.exit(main())
