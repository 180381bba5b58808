"""scikit-learn estimators trained by chainrule: MLPClassifier and MLPRegressor.

They follow sklearn.neural_network's parameter names, so they drop into Pipeline,
cross_val_score and GridSearchCV; underneath, a cr.nn.Sequential is trained by cr.fit.

    from chainrule.sklearn import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=(64,), solver="adam", max_iter=100).fit(X, y)

X may be a pandas DataFrame with text, boolean, categorical or date columns (and missing
cells): fit then encodes it as `chainrule train` does (chainrule.data: one-hot, median fill
with missing indicators, date parts, standardization), keeps that as `preprocessor_`, and
predict applies it; n_features_in_ counts the encoded features.

solver is any chainrule optimizer by name: sgd, momentum, nesterov, adagrad, rmsprop, adam,
adamw (or a class name of chainrule.optim). The network computes in float32 for float32 input
and in float64 otherwise. With random_state set, fit seeds chainrule's generator
(cr.manual_seed), so a fit is reproducible bit for bit.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from . import nn
from .engine.random import manual_seed
from .train import fit as cr_fit
from .train import predict as cr_predict
from .train.callbacks import EarlyStopping
from .train.inference import model_dtype

__all__ = ["MLPClassifier", "MLPRegressor"]

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "logistic": nn.Sigmoid,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
}


def _is_mixed_frame(X) -> bool:
    """A pandas DataFrame with a column that is not plain numbers."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "columns"):
        return False
    return any(getattr(dtype, "kind", "O") not in "iuf" for dtype in dtypes)


def _neither_frame_nor_numbers(X) -> bool:
    """Neither a DataFrame nor numbers (which may be a fitted DataFrame's encoded features)."""
    return not hasattr(X, "columns") and np.asarray(X).dtype.kind not in "iufb"


class _BaseMLP(BaseEstimator):
    """What both estimators share: the parameters, building the network, the training loop."""

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate_init=0.001,
        max_iter=200,
        tol=1e-4,
        dropout=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        random_state=None,
        verbose=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.tol = tol
        self.dropout = dropout
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.verbose = verbose

    # --- checks and construction ------------------------------------------------------------
    def _check_params(self):
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, numbers.Integral) else tuple(sizes)
        if any(not isinstance(n, numbers.Integral) or n < 1 for n in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {sizes}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}"
            )
        for name, low in (("max_iter", 1), ("n_iter_no_change", 1)):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}"
            )
        if self.alpha < 0 or not self.learning_rate_init > 0:
            raise ValueError(
                f"alpha must be >= 0 and learning_rate_init > 0, got "
                f"{self.alpha!r} and {self.learning_rate_init!r}"
            )
        return sizes

    def _seed(self):
        """An int seed from random_state (None leaves chainrule's generator as it is)."""
        if self.random_state is None:
            return None
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        manual_seed(seed)
        return seed

    def _build(self, n_features, n_outputs, dtype):
        from .optim.registry import make_optimizer

        sizes = self._check_params()
        layers, width = [], n_features
        for size in sizes:
            layers += [nn.Linear(width, size), ACTIVATIONS[self.activation]()]
            if self.dropout > 0:
                layers.append(nn.Dropout(self.dropout))
            width = size
        layers.append(nn.Linear(width, n_outputs))
        self.model_ = nn.Sequential(*layers).to(dtype)
        try:
            self._optimizer = make_optimizer(
                self.solver, self.model_.parameters(), self.learning_rate_init
            )
        except Exception as error:  # an unknown solver name, reported as sklearn does
            raise ValueError(f"solver {self.solver!r}: {error}") from error
        self.loss_curve_, self.validation_loss_curve_, self.n_iter_ = [], None, 0

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if not isinstance(self.batch_size, numbers.Integral) or self.batch_size < 1:
            raise ValueError(
                f"batch_size must be 'auto' or an integer >= 1, got {self.batch_size!r}"
            )
        return min(int(self.batch_size), n_samples)

    def _table_features(self, X, fit: bool):
        """X as numbers: a mixed DataFrame encoded by preprocessor_ (fitted when fit is
        true, on every row of X); anything else as it is."""
        from .data.columns import Where

        if fit:
            self.__dict__.pop("preprocessor_", None)
        elif hasattr(self, "preprocessor_") and _neither_frame_nor_numbers(X):
            raise ValueError(
                "this estimator was fitted on a DataFrame; X must be a DataFrame with its "
                f"columns {self.preprocessor_.input_columns}, not {type(X).__name__}"
            )
        if not _is_mixed_frame(X):
            return X
        where = Where(None, X.index.to_numpy())  # errors name the row by its index label
        if not fit:
            check_is_fitted(self, "preprocessor_")
            return self.preprocessor_.transform_table(X, where)
        from .data import Preprocessor
        from .data.tablefit import TableOptions, fit_table

        names = [str(name) for name in X.columns]
        if names != list(X.columns):
            raise ValueError("a DataFrame with non-numeric columns needs string column names")
        cells = {name: X[name] for name in names}
        columns, Z, mean, scale, _ = fit_table(
            cells, where, [np.arange(len(X))], names, TableOptions()
        )
        features = [f for column in columns for f in column.feature_names()]
        self.preprocessor_: Preprocessor = Preprocessor(
            features, mean, scale, columns=columns, impute="median"
        )
        return Z

    # --- training -----------------------------------------------------------------------
    def _train(self, X, y, epochs, seed, callbacks=(), validation_data=None):
        batch_size = self._batch_size(len(X))
        history = cr_fit(
            self.model_,
            self._loss_fn(),
            self._optimizer,
            X,
            y,
            epochs=epochs,
            batch_size=batch_size,
            shuffle=True,
            validation_data=validation_data,
            callbacks=callbacks,
            l2=self.alpha / (2 * batch_size),
            seed=seed,
            verbose=2 if self.verbose else 0,
        )
        self.loss_curve_ += [float(v) for v in history.history["loss"]]
        if validation_data is not None:
            self.validation_loss_curve_ = (self.validation_loss_curve_ or []) + [
                float(v) for v in history.history["val_loss"]
            ]
        self.n_iter_ += len(history.epoch)
        return history

    def _fit(self, X, y):
        seed = self._seed()
        self._build(X.shape[1], self._n_outputs(y), X.dtype)
        validation = None
        if self.early_stopping:
            stratify = y if self._stratify(y) else None
            X, X_val, y, y_val = train_test_split(
                X, y, test_size=self.validation_fraction, random_state=seed, stratify=stratify
            )
            validation = (X_val, y_val)
        # scikit-learn's stopping rule: n_iter_no_change epochs without improving by tol
        # (validation loss with early_stopping, keeping the best weights; else training loss).
        stopper = EarlyStopping(
            monitor="val_loss" if self.early_stopping else "loss",
            patience=self.n_iter_no_change,
            min_delta=self.tol,
            restore_best_weights=self.early_stopping,
        )
        self._train(X, y, self.max_iter, seed, [stopper], validation)
        return self

    def _partial_fit(self, X, y, first_call):
        if first_call:
            self._build(X.shape[1], self._n_outputs(y), X.dtype)
        self._train(X, y, 1, None)
        return self

    def _outputs(self, X):
        check_is_fitted(self)
        if hasattr(self, "preprocessor_"):
            X = self._table_features(X, fit=False)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return cr_predict(self.model_, X.astype(model_dtype(self.model_), copy=False))


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multi-layer perceptron classifier: softmax outputs, cross-entropy loss."""

    def _loss_fn(self):
        return nn.loss_for_task("classification")

    def _n_outputs(self, y):
        return len(self.classes_)

    def _stratify(self, y):
        counts = np.bincount(y)
        return counts.min() >= 2 and len(y) * self.validation_fraction >= len(counts)

    def _encode(self, y, classes=None):
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if classes is not None:
            self.classes_ = np.unique(classes)
        elif not hasattr(self, "classes_") or not hasattr(self, "model_"):
            self.classes_ = np.unique(y)
        unseen = np.setdiff1d(y, self.classes_)
        if unseen.size:
            raise ValueError(f"y has labels {unseen.tolist()} not in classes {self.classes_}")
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes in y, got 1 class "
                f"({self.classes_[0]!r})"
            )
        encoder = LabelEncoder().fit(self.classes_)
        return encoder.transform(y).astype(np.int64)

    def fit(self, X, y):
        """Train a new network on (X, y) for up to max_iter epochs."""
        X = self._table_features(X, fit=True)
        X, y = validate_data(self, X, y, dtype=(np.float64, np.float32))
        for name in ("classes_", "model_"):
            self.__dict__.pop(name, None)
        return self._fit(X, self._encode(y))

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y); the first call needs `classes` (all labels to expect)."""
        first_call = not hasattr(self, "model_")
        if first_call and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        X, y = validate_data(self, X, y, reset=first_call, dtype=(np.float64, np.float32))
        return self._partial_fit(X, self._encode(y, classes if first_call else None), first_call)

    def predict_proba(self, X):
        """Class probabilities, one column per entry of classes_."""
        logits = self._outputs(X)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def predict(self, X):
        """The most probable class of each row, as a label of classes_."""
        outputs = self._outputs(X)
        return self.classes_[np.argmax(outputs, axis=1)]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multi-layer perceptron regressor: linear outputs, mean squared error."""

    def _loss_fn(self):
        return nn.loss_for_task("regression")

    def _n_outputs(self, y):
        return 1 if y.ndim == 1 else y.shape[1]

    def _stratify(self, y):
        return False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _targets(self, X, y):
        return y.astype(X.dtype, copy=False)

    def fit(self, X, y):
        """Train a new network on (X, y) for up to max_iter epochs."""
        X = self._table_features(X, fit=True)
        X, y = validate_data(
            self, X, y, dtype=(np.float64, np.float32), multi_output=True, y_numeric=True
        )
        self.__dict__.pop("model_", None)
        return self._fit(X, self._targets(X, y))

    def partial_fit(self, X, y):
        """One epoch over (X, y)."""
        first_call = not hasattr(self, "model_")
        X, y = validate_data(
            self,
            X,
            y,
            reset=first_call,
            dtype=(np.float64, np.float32),
            multi_output=True,
            y_numeric=True,
        )
        return self._partial_fit(X, self._targets(X, y), first_call)

    def predict(self, X):
        """Predictions, shaped (n,) for one target and (n, k) for k."""
        out = self._outputs(X)
        return out[:, 0] if out.shape[1] == 1 else out
