"""``python -m lifecycle.deploy``: run the command line (:func:`lifecycle.deploy.cli.main`)."""
import sys

from lifecycle.deploy.cli import main

sys.exit(main())
