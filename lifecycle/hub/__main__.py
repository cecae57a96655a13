"""``python -m lifecycle.hub``: see :mod:`lifecycle.hub.launch`."""
import sys

from lifecycle.hub.launch import main

sys.exit(main())
