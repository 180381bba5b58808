"""`chainrule train`'s work: data, model and optimizer from the configuration, fit, outputs."""

from __future__ import annotations

import contextlib
import os
import sys

from . import config as cfg
from .options import OptionError
from .setup import build_model, build_optimizer, build_scheduler
from .trained import MODEL_FILE, loss_function, metric_names
from .trajectory import save_trajectory

__all__ = ["load_training_data", "train_and_report"]

CHECKPOINT_FILE = "checkpoint.safetensors"


def n_outputs(data) -> int:
    """Output units: one per class, or one per regression target."""
    if data.task == "classification":
        return len(data.classes)
    return 1 if data.y_train.ndim == 1 else data.y_train.shape[1]


def _dataset_splits(config: dict):
    """A built-in dataset: its train part split again for validation, then standardized."""
    from ..data import CSVData, Preprocessor, load_dataset, split_indices

    data = load_dataset(config["dataset"], seed=config["seed"])
    if config["task"] not in (None, data.task):
        raise OptionError(
            f"--task {config['task']}: dataset {config['dataset']!r} is a {data.task} problem"
        )
    labels = data.y_train if data.task == "classification" else None
    train, val = split_indices(len(data.X_train), [config["val_split"]], config["seed"], labels)
    target = "label" if data.task == "classification" else "target"
    preprocessor = Preprocessor.fit(
        data.X_train[train], data.feature_names, data.task, target=target, classes=data.classes
    )
    X = preprocessor.transform
    return CSVData(
        X(data.X_train[train]),
        data.y_train[train],
        X(data.X_train[val]),
        data.y_train[val],
        X(data.X_test) if len(data.X_test) else data.X_test,
        data.y_test,
        data.task,
        preprocessor,
    )


def load_training_data(config: dict):
    """A CSVData (standardized splits and their Preprocessor), from --data or --dataset."""
    if config["data"]:
        from ..data import load_csv

        data = load_csv(
            config["data"],
            config["target"],
            task=config["task"],
            val_split=config["val_split"],
            seed=config["seed"],
            ignore=config.get("ignore") or (),
            impute=config.get("impute", "median"),
            max_categories=config.get("max_categories", 20),
            int_categories=config.get("int_categories", 0),
        )
        for note in data.notes:
            print(f"chainrule: note: {config['data']}: {note}", file=sys.stderr)
        return data
    return _dataset_splits(config)


MONITOR_SAMPLES_PER_EPOCH = 4
# A checkpoint at most this often (and after the last epoch): a run of short epochs would
# otherwise spend more time writing checkpoints than training; a crash loses at most this.
CHECKPOINT_EVERY_SECONDS = 30.0


def _callbacks(config: dict, out: str, recorders, writer):
    from .. import callbacks

    chosen = [
        # Gradient health from a few evenly spaced steps of each epoch: watching every step
        # would cost more than the step itself on a small model.
        callbacks.GradientMonitor(samples_per_epoch=MONITOR_SAMPLES_PER_EPOCH),
        *recorders,
        callbacks.ModelCheckpoint(
            os.path.join(out, CHECKPOINT_FILE),
            every_n_seconds=CHECKPOINT_EVERY_SECONDS,
            writer=writer,
        ),
    ]
    if config["early_stopping"] is not None:
        chosen.append(
            callbacks.EarlyStopping(
                monitor="val_loss", patience=config["early_stopping"], restore_best_weights=True
            )
        )
    return chosen


def _checkpoint_to_resume(out: str) -> str:
    path = os.path.join(out, CHECKPOINT_FILE)
    if not os.path.exists(path):
        raise OptionError(f"--resume: no checkpoint to resume from ({path} not found)")
    return path


def check_resumable(config: dict, out: str) -> None:
    """A resumed run continues up to --epochs: refuse fewer epochs than its checkpoint holds
    (training cannot go backwards) before config.json records them."""
    from ..train.checkpoint import load_checkpoint

    loop = load_checkpoint(_checkpoint_to_resume(out))["loop"]
    done = loop["epoch"] + (1 if loop["epoch_finished"] else 0)
    if config["epochs"] < done:
        raise OptionError(
            f"--resume --epochs {config['epochs']}: the run in {out} has "
            f"already trained {done} epochs; give --epochs {done} or more"
        )


@contextlib.contextmanager
def _saved_on_divergence(model, data, config: dict, out: str):
    """fit restores the last finite weights when training diverges: keep them in `out`."""
    from ..train import DivergenceError
    from .trained import model_metadata

    try:
        yield
    except DivergenceError as error:
        import chainrule as cr

        path = os.path.join(out, MODEL_FILE)
        cr.save(model, path, metadata=model_metadata(data.preprocessor, config))
        raise DivergenceError(
            f"{error} The last finite weights are saved in {path}.",
            epoch=error.epoch,
            step=error.step,
            parameter=error.parameter,
        ) from None


def fit_model(config: dict, data, out: str, resume: bool, verbose: int, device: str, writer):
    """(model, History, StepRecorder) of the run; the trajectory is saved in `out`, the
    checkpoint written on `writer` (a BackgroundWriter the caller waits for)."""
    import chainrule as cr

    from ..landscape import TrajectoryRecorder
    from ..viz.steps import StepRecorder

    cr.manual_seed(config["seed"])
    model = build_model(data.X_train.shape[1], n_outputs(data), config)
    optimizer = build_optimizer(config, model.parameters())
    has_validation = len(data.X_val) > 0
    recorder, steps = TrajectoryRecorder(), StepRecorder()
    with _saved_on_divergence(model, data, config, out):
        history = cr.fit(
            model,
            loss_function(data.task),
            optimizer,
            data.X_train,
            data.y_train,
            epochs=config["epochs"],
            batch_size=config["batch_size"] or None,
            validation_data=(data.X_val, data.y_val) if has_validation else None,
            callbacks=_callbacks(config, out, (recorder, steps), writer),
            metrics=metric_names(data.task),
            scheduler=build_scheduler(config, optimizer),
            clip_grad_norm=config["clip"],
            l2=config["l2"],
            seed=config["seed"],
            verbose=verbose,
            resume_from=_checkpoint_to_resume(out) if resume else None,
            device=device,
        )
    model.to("cpu")  # the run folder's files and plots are made from host arrays
    if cr.distributed.rank() == 0:
        save_trajectory(out, recorder.snapshots, resumed=resume)
    return model, history, steps


def train_and_report(
    config: dict,
    out: str,
    resume: bool = False,
    verbose: int = 1,
    plots: bool = True,
    device: str = "cpu",
) -> dict:
    """Train as configured and write the run folder `out`; returns the metrics.

    Under `mpiexec -n N` every process trains (data-parallel) but only rank 0 prints and
    writes the run folder; the other ranks return {}."""
    import safetensors  # noqa: F401  (model files need it: say so before training, not after)

    import chainrule as cr

    from ..atomic import BackgroundWriter
    from .outputs import print_results, write_outputs
    from .trained import model_metadata

    if resume:
        check_resumable(config, out)
    data = load_training_data(config)
    if config["early_stopping"] is not None and not len(data.X_val):
        raise OptionError(
            f"--early-stopping watches the validation loss, but --val-split "
            f"{config['val_split']} of {len(data.X_train)} training rows leaves "
            "none for validation; give a larger --val-split"
        )
    lead = cr.distributed.rank() == 0
    if lead:
        os.makedirs(out, exist_ok=True)
        cfg.save(out, config)  # before training, so that a killed run can be resumed
    writer = BackgroundWriter()  # the last checkpoint's fsync overlaps the model file's write
    try:
        model, history, steps = fit_model(
            config, data, out, resume, verbose if lead else 0, device, writer
        )
        if not lead:
            return {}
        cr.save(
            model,
            os.path.join(out, MODEL_FILE),
            metadata=model_metadata(data.preprocessor, config),
        )
    finally:
        writer.close()  # before write_outputs lists the files the run folder holds
    metrics, written = write_outputs(out, config, model, (history, steps), data, plots)
    print_results(metrics, history, out, written)
    return metrics
