"""Settings: defaults, the URL round trip, and one clear error per bad value."""

from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chainrule.serve import LIMITS, Settings, SettingsError
from chainrule.serve.settings import ACTIVATIONS, DATASETS


def from_url(query: str) -> Settings:
    return Settings.from_query(dict(parse_qsl(query, keep_blank_values=True)))


def test_defaults_round_trip_through_the_url():
    assert from_url(Settings().to_query()) == Settings()


@hypothesis_settings(max_examples=60, deadline=None)
@given(dataset=st.sampled_from(DATASETS), activation=st.sampled_from(ACTIVATIONS),
       hidden=st.lists(st.integers(1, LIMITS["neurons"]), max_size=LIMITS["layers"]),
       lr=st.floats(1e-6, 10.0), noise=st.floats(0.0, 1.0), batch_size=st.integers(0, 1000),
       schedule=st.sampled_from(["none", "cosine", "plateau"]), seed=st.integers(0, 2**31 - 1))
def test_every_setting_round_trips_through_the_url(dataset, activation, hidden, lr, noise,
                                                   batch_size, schedule, seed):
    chosen = Settings(dataset=dataset, activation=activation, hidden=hidden, lr=lr,
                      noise=noise, batch_size=batch_size, schedule=schedule, seed=seed,
                      columns="width (cm),x&y", target="kind=?")  # names that need escaping
    assert from_url(chosen.to_query()) == chosen


def test_no_hidden_layer_round_trips():
    assert from_url(Settings(hidden=()).to_query()).hidden == ()


@pytest.mark.parametrize("query, words", [
    ("dataset=mnist", ["'dataset'", "xor, gaussian, circles, moons, spirals", "'mnist'"]),
    ("lr=abc", ["'lr'", "a number", "'abc'"]),
    ("lr=0", ["'lr'", "between", "got 0.0"]),
    ("lr=nan", ["'lr'", "between"]),
    ("hidden=4,x", ["'hidden'", "integers"]),
    ("hidden=4,9", ["'hidden'", "between 1 and 8", "got 9"]),
    ("hidden=1,1,1,1,1,1,1", ["'layers'", "between 0 and 6", "got 7"]),
    ("points=5000", ["'points'", "between 20 and 1000"]),
    ("speed=0", ["'speed'", "steps per second"]),
    ("activation=gelu", ["'activation'", "tanh, relu, sigmoid"]),
    ("optimizer=lbfgs", ["'optimizer'", "adam"]),
    ("colour=red", ["unknown setting 'colour'"]),
    ("dataset=csv&columns=a&target=y", ["columns=NAME1,NAME2", "got columns='a'"]),
])
def test_a_bad_setting_is_named_with_its_value(query, words):
    with pytest.raises(SettingsError) as error:
        from_url(query)
    for word in words:
        assert word in str(error.value)


def test_train_config_is_chainrule_trains():
    config = Settings(optimizer="momentum", hidden=(3,), batch_size=0).train_config()
    assert config["hidden"] == [3] and config["momentum"] == 0.9
    assert config["batch_size"] == 0 and config["val_split"] == 0.0
