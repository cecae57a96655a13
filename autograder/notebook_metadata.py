"""Give lesson notebooks the metadata JupyterLab writes, so opening one changes nothing.

JupyterLab fills in a notebook's ``kernelspec`` and ``language_info`` from the
kernel it starts. A committed notebook that lacks them opens marked unsaved,
asks "Save changes?" on close and shows as changed in git although the learner
did nothing. Writing the same metadata into ``solutions/`` once (``make
release`` copies it into ``course/``) avoids that.

Run ``python -m autograder.notebook_metadata solutions/*/*.ipynb`` after adding
a notebook; the release tests fail, naming this command, when one lacks it.
Only ``language_info["version"]`` still follows the learner's Python: it is the
one field that differs between the Python versions the course supports.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

__all__ = ["expected_metadata", "normalise", "main"]


def expected_metadata() -> dict:
    """Return the ``kernelspec`` and ``language_info`` JupyterLab writes for the course kernel.

    Returns
    -------
    metadata : dict
        Keys ``"kernelspec"`` (what ``ipykernel`` installs as ``python3``) and
        ``"language_info"`` (what that kernel reports, with this interpreter's
        version).
    """
    from ipykernel.ipkernel import IPythonKernel
    from ipykernel.kernelspec import KERNEL_NAME, get_kernel_dict

    spec = get_kernel_dict()
    return {
        "kernelspec": {"display_name": spec["display_name"], "language": spec["language"],
                       "name": KERNEL_NAME},
        "language_info": dict(IPythonKernel.language_info),
    }


def normalise(path) -> bool:
    """Write the expected metadata into one notebook if it differs.

    Parameters
    ----------
    path : str or pathlib.Path
        An ``.ipynb`` file.

    Returns
    -------
    changed : bool
        Whether the file was rewritten.
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    wanted = expected_metadata()
    if all(nb.metadata.get(key) == value for key, value in wanted.items()):
        return False
    nb.metadata.update(wanted)
    nbformat.write(nb, path)
    return True


def main(argv=None) -> int:
    """Command line: normalise the notebooks given as arguments."""
    parser = argparse.ArgumentParser(prog="python -m autograder.notebook_metadata",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for path in args.notebooks:
        if normalise(path):
            print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
