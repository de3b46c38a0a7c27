"""Learning-rate schedules and the optimizer factory."""

import keras
import numpy as np
import pytest

from ttszoo.training.optimization import NoamSchedule, ScaledFromStep, make_optimizer


def test_noam_schedule_matches_the_dctts_formula():
    schedule = NoamSchedule(peak=1e-3, warmup_steps=4000)
    steps = np.array([0, 1, 1999, 3999, 4000, 15999, 99999])
    s = steps + 1.0
    expected = 1e-3 * 4000**0.5 * np.minimum(s * 4000**-1.5, s**-0.5)
    got = np.array([float(schedule(step)) for step in steps])
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert got.argmax() == 3  # the peak at the end of the warm-up
    assert NoamSchedule.from_config(schedule.get_config()).warmup_steps == 4000


def test_scaled_from_step_multiplies_from_the_boundary_on():
    inner = keras.optimizers.schedules.ExponentialDecay(2e-4, 100, 0.999, staircase=True)
    schedule = ScaledFromStep(inner, boundary=10000, factor=0.1)
    steps = [0, 9999, 10000, 10999]
    # 2e-4 * 0.999 ** (s // 100), times 0.1 from step 10000 on.
    expected = [2e-4, 2e-4 * 0.999**99, 2e-5 * 0.999**100, 2e-5 * 0.999**109]
    got = [float(schedule(keras.ops.convert_to_tensor(s, "int64"))) for s in steps]
    np.testing.assert_allclose(got, expected, rtol=1e-5)  # float32 powers
    copy = ScaledFromStep.from_config(schedule.get_config())
    assert float(copy(10000)) == pytest.approx(expected[2], rel=1e-5)
    assert float(ScaledFromStep(1e-3, 5, 0.5)(4)) == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="factor > 0"):
        ScaledFromStep(inner, boundary=10, factor=0.0)


def test_make_optimizer_clipping_and_loss_scaling():
    optimizer = make_optimizer(learning_rate=NoamSchedule(), clip_norm=1.0)
    assert isinstance(optimizer, keras.optimizers.Adam) and optimizer.global_clipnorm == 1.0
    assert make_optimizer(clip_value=0.5).clipvalue == 0.5
    scaled = make_optimizer(precision="mixed_float16")
    assert isinstance(scaled, keras.optimizers.LossScaleOptimizer)
    with pytest.raises(ValueError, match="not both"):
        make_optimizer(clip_norm=1.0, clip_value=1.0)
    with pytest.raises(ValueError, match="precision"):
        make_optimizer(precision="float8")
