"""The session's model as a file: the same model.safetensors (and metadata) as `chainrule train`."""

from __future__ import annotations

import os
import tempfile

from .turns import ENGINE

__all__ = ["model_file"]


def model_file(session) -> bytes:
    """The bytes of model.safetensors for the weights the page shows now.

    The weights come from the latest View (a consistent copy taken between two steps); the
    metadata holds the standardization and the training configuration, so `chainrule predict`
    and `chainrule evaluate` read the file as one of their own.
    """
    import chainrule as cr

    from ..cli.trained import MODEL_FILE, model_metadata

    with ENGINE:
        model = session.problem.build_model()[0]
        model.load_state_dict(session.view.state)
    metadata = model_metadata(session.problem.preprocessor, session.settings.train_config())
    with tempfile.TemporaryDirectory(prefix="chainrule-serve-") as folder:
        path = os.path.join(folder, MODEL_FILE)
        cr.save(model, path, metadata=metadata)
        with open(path, "rb") as handle:
            return handle.read()
