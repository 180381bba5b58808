"""Data for training: built-in data sets, CSV files, preprocessing, batching, validation.

Importing this package is light: scikit-learn and mnist1d are imported inside the functions
that use them.
"""

from .catalog import DATASETS, load_dataset
from .columns import Column, DataWarning
from .csvfile import CSVData, load_csv, read_csv_features
from .csvtable import Table, read_table
from .datasets import Dataset, circles, digits, linear, moons, spirals, xor
from .errors import DataError
from .loader import DataLoader
from .mnist1d_offline import cache_dir, mnist1d
from .preprocessing import Preprocessor
from .split import split_indices, train_test_split
from .tablefit import TableOptions
from .tensor_dataset import TensorDataset
from .validate import (
    as_array,
    check_arrays,
    check_batch_size,
    check_epochs,
    check_finite,
    check_fraction,
    check_labels,
    check_lr,
    check_n_features,
)

__all__ = [
    "DATASETS",
    "CSVData",
    "Column",
    "DataError",
    "DataLoader",
    "DataWarning",
    "Dataset",
    "Preprocessor",
    "Table",
    "TableOptions",
    "TensorDataset",
    "as_array",
    "cache_dir",
    "check_arrays",
    "check_batch_size",
    "check_epochs",
    "check_finite",
    "check_fraction",
    "check_labels",
    "check_lr",
    "check_n_features",
    "circles",
    "digits",
    "linear",
    "load_csv",
    "load_dataset",
    "mnist1d",
    "moons",
    "read_csv_features",
    "read_table",
    "spirals",
    "split_indices",
    "train_test_split",
    "xor",
]
