"""History: per-epoch records, best_epoch, CSV."""

import csv
import math

from chainrule.train import History


def test_record_best_epoch_and_csv(tmp_path):
    history = History()
    assert history.best_epoch is None
    history.record(0, {"loss": 1.0, "val_loss": 0.9})
    history.record(1, {"loss": 0.5, "val_loss": 0.95, "accuracy": 0.75})
    history.record(2, {"loss": 0.4, "val_loss": 0.7})
    assert history.epoch == [0, 1, 2]
    assert history.history["loss"] == [1.0, 0.5, 0.4]
    assert math.isnan(history.history["accuracy"][0]) and math.isnan(history.history["accuracy"][2])
    assert history.best_epoch == 2
    history.record(3, {"loss": 0.1, "val_loss": 0.8})
    assert history.best_epoch == 2  # val_loss decides, not loss
    path = tmp_path / "h.csv"
    history.to_csv(path)
    with open(path) as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["epoch", "loss", "val_loss", "accuracy"]
    assert [float(v) for v in rows[2]][:3] == [1, 0.5, 0.95]
    assert len(rows) == 5


def test_best_epoch_without_validation_and_state_round_trip():
    history = History()
    for epoch, loss in enumerate([3.0, 1.0, 2.0]):
        history.record(epoch, {"loss": loss})
    assert history.best_epoch == 1
    copy = History()
    copy.load_state_dict(history.state_dict())
    assert copy.history == history.history and copy.epoch == history.epoch
