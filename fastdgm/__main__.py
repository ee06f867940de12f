"""``python -m fastdgm``: the same as the ``fastdgm`` console script."""
import sys

from .cli import main

sys.exit(main())
