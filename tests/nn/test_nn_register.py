"""@cr.nn.register: a user's Module saved by cr.save and rebuilt by cr.load in a fresh process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.io import ModelFileError

BLOCK = textwrap.dedent('''
    import chainrule as cr
    from chainrule import nn

    @cr.nn.register
    class UserBlock(nn.Module):
        def __init__(self, width=4, activation="tanh", scales=(1.0,)):
            super().__init__()
            self.width, self.activation, self.scales = width, activation, list(scales)
            self.inner = nn.Sequential(nn.Linear(3, width), nn.Linear(width, 2))

        def forward(self, x):
            h = self.inner[0](x)
            h = h.tanh() if self.activation == "tanh" else h.relu()
            return self.inner[1](h) * self.scales[0]

        def spec_args(self):
            return {"width": self.width, "activation": self.activation, "scales": self.scales}
''')


def test_a_registered_module_is_rebuilt_in_a_fresh_process(tmp_path):
    (tmp_path / "userblock.py").write_text(BLOCK)
    save = textwrap.dedent(f'''
        import numpy as np, chainrule as cr, userblock
        cr.manual_seed(3)
        model = userblock.UserBlock(width=7, activation="relu", scales=[0.5])
        cr.save(model, {str(tmp_path / "model.safetensors")!r})
        x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
        np.save({str(tmp_path / "out.npy")!r}, model(cr.tensor(x)).data)
    ''')
    load = textwrap.dedent(f'''
        import numpy as np, chainrule as cr, userblock
        model = cr.load({str(tmp_path / "model.safetensors")!r})
        assert type(model).__name__ == "UserBlock" and model.width == 7
        assert model.activation == "relu" and model.scales == [0.5]
        x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
        assert np.array_equal(model(cr.tensor(x)).data, np.load({str(tmp_path / "out.npy")!r}))
        print("rebuilt")
    ''')
    for script in (save, load):
        done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "rebuilt"


def test_a_class_with_arguments_needs_spec_args():
    with pytest.raises(TypeError, match="spec_args"):
        @nn.register
        class NoArgs(nn.Module):  # noqa: F841
            def __init__(self, width):
                super().__init__()


def test_a_registered_name_cannot_shadow_another():
    with pytest.raises(TypeError, match="Linear is registered"):
        @nn.register
        class Linear(nn.Module):  # noqa: F841
            pass


class _Scaled(nn.Module):
    def __init__(self, factor=1.0):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor

    def spec_args(self):
        return {"factor": self.factor}


@pytest.fixture
def scaled_registered():
    """_Scaled registered for one test only (the registry is global)."""
    nn.register(_Scaled)
    yield _Scaled
    del nn.LAYERS["_Scaled"]


@pytest.mark.parametrize("factor", [{"__class__": "os.system"}, [[[[["deep"]]]]], "x" * 20_000])
def test_hostile_arguments_of_a_registered_class_are_refused(tmp_path, factor, scaled_registered):
    import json

    import safetensors.numpy

    spec = {"type": "_Scaled", "args": {"factor": factor}}
    path = tmp_path / "bad.safetensors"
    path.write_bytes(safetensors.numpy.save({"w": np.zeros(1, np.float32)},
                                            metadata={"chainrule.architecture": json.dumps(spec)}))
    with pytest.raises(ModelFileError, match="factor"):
        cr.load(path)
