"""Model Lifecycle Lab: the helper package learners import.

The package holds what the lesson notebooks should not carry: data loading with
checksum verification (:mod:`lifecycle.datasets`), feedback helpers that turn a
failed check into an explanation (:mod:`lifecycle.feedback`), one plotting style
(:mod:`lifecycle.plotting`), and one module per lesson with its tools.
"""

__version__ = "0.1.1"

from lifecycle.datasets import DatasetError, data_card, load_dataset  # noqa: E402

__all__ = ["DatasetError", "data_card", "load_dataset", "__version__"]
