"""Quality by budget: the quality ladder, and the flat-area promise on the tapes that test it.

The ``render`` fixture asserts the flat-area bound (99th percentile within 4 code values) on
every encode; these tests add the tapes that used to break it: a noise-heavy one near the size
cap, and one held still for seconds at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from tapes.encoder import EncodeSettings, Rung, plan_video, quality_ladder
from tapes.encoder.planning import CABAC_RATIO, predicted_ratio
from tests.support.synth import SynthTape, make_durations
from tests.support.video import decoded_planes, entropy_coder, flat_errors
from tests.tapes.encoder.conftest import FLAT_P99, Rendered

Render = Callable[..., Rendered]
TapeFactory = Callable[..., SynthTape]
CAP = EncodeSettings().max_bytes


def test_ladder_keeps_the_upscale_before_starving_the_bitrate() -> None:
    settings = EncodeSettings()
    plan = plan_video([16.7] * 600, 256, 256, settings)
    assert plan.factor == 2
    ladder = quality_ladder(plan, settings)
    level = settings.max_bitrate
    assert ladder[:-1] == [
        Rung(2, 8, level, cabac=False, share=settings.cavlc_share),
        Rung(2, 8, level),
        Rung(2, 12, level),
        Rung(2, 16, level),
        Rung(1, 8, level),
        Rung(1, 12, level),
        Rung(1, 16, level),
    ]
    fallback = ladder[-1]
    assert fallback.fallback and (fallback.factor, fallback.crf) == (1, 16)
    assert fallback.bitrate < level  # only the last rung caps the rate to the budget


def test_ladder_of_a_drawing_already_at_1x() -> None:
    settings = EncodeSettings(crf=10, crf_step=5, crf_crisp=18)
    plan = plan_video([16.7] * 10, 1000, 700, settings)
    assert plan.factor == 1
    ladder = quality_ladder(plan, settings)
    assert [(r.factor, r.crf, r.fallback, r.cabac) for r in ladder] == [
        (1, 10, False, False),
        (1, 10, False, True),
        (1, 15, False, True),
        (1, 18, False, True),
        (1, 18, True, True),
    ]
    # Without CAVLC every rung is CABAC, each allowed the whole budget.
    always = quality_ladder(plan, replace(settings, cavlc_share=0))
    assert always == ladder[1:] and {(r.cabac, r.share) for r in always} == {(True, 1.0)}


def test_predicted_ratio_counts_crf_steps_and_the_step_to_1x() -> None:
    assert predicted_ratio(Rung(4, 8, 1), Rung(4, 16, 1), 4, 0.5, 0.5) == 0.25
    assert predicted_ratio(Rung(4, 16, 1), Rung(1, 8, 1), 4, 0.5, 0.5) == 0.5
    # From CAVLC to CABAC the bytes shrink too; from CABAC to CAVLC they are never predicted to.
    cavlc = Rung(4, 8, 1, cabac=False)
    assert predicted_ratio(cavlc, Rung(4, 8, 1), 4, 0.5, 0.5) == CABAC_RATIO
    assert predicted_ratio(cavlc, Rung(4, 12, 1), 4, 0.5, 0.5) == 0.5 * CABAC_RATIO


def test_a_tape_far_under_the_cap_gets_the_best_rung(
    tape_factory: TapeFactory, render: Render
) -> None:
    out = render(tape_factory(frames=90, scale=1, seed=12))
    result = out.result
    assert (result.factor, result.crf, result.passes) == (2, EncodeSettings().crf, 1)
    # Far under the budget, the cheaper entropy coder: the same picture, a few more bytes.
    assert result.cabac is False and entropy_coder(out.mp4) == "cavlc"
    assert result.attempts == [
        {
            "factor": 2,
            "crf": 8,
            "cabac": False,
            "bitrate": EncodeSettings().max_bitrate,
            "outcome": "kept",
            "bytes": result.mp4_bytes,
        }
    ]
    assert out.flat is not None and out.flat.p99 <= 1  # near-lossless


def test_a_tape_past_the_cavlc_share_gets_cabac_at_the_same_rung(
    tape_factory: TapeFactory, render: Render
) -> None:
    tape = tape_factory(frames=90, scale=1, seed=12)
    cabac = render(tape, cavlc_share=0)
    assert cabac.result.cabac and entropy_coder(cabac.mp4) == "cabac"
    assert [a["cabac"] for a in cabac.result.attempts] == [True]
    # A budget the CABAC video fits and the CAVLC one (~25 % larger) would not fit the share of.
    out = render(tape, max_bytes=int(cabac.result.mp4_bytes * 1.05))
    result = out.result
    assert [(a["cabac"], a["outcome"]) for a in result.attempts] == [
        (False, "abandoned"),
        (True, "kept"),
    ]
    assert result.attempts[0]["bytes"] > EncodeSettings().cavlc_share * result.mp4_bytes
    assert (result.factor, result.crf, result.cabac) == (2, EncodeSettings().crf, True)
    assert entropy_coder(out.mp4) == "cabac" and result.mp4_bytes <= cabac.result.mp4_bytes * 1.05
    # Same rung, same picture: the entropy coder changes bytes, not what is shown.
    cavlc = render(tape)
    assert not cavlc.result.cabac and cavlc.result.mp4_bytes > cabac.result.mp4_bytes
    for a, b in zip(decoded_planes(cavlc.mp4), decoded_planes(cabac.mp4), strict=True):
        assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_noise_heavy_tape_near_the_cap_steps_down_the_upscale_not_the_bitrate(
    tape_factory: TapeFactory, render: Render
) -> None:
    # 5 % random pixels per frame (5x the usual sprinkle), 200 frames: ~16 MB at the full
    # upscale near-losslessly, so the cap binds. The ladder goes to 1x at a crisp CRF rather than
    # starving the 2x picture (which put flat areas ~90 code values off).
    tape = tape_factory(frames=200, scale=1, seed=11, noise=0.05, pauses=False)
    out = render(tape)
    result = out.result
    assert out.mp4.stat().st_size == result.mp4_bytes <= CAP
    assert result.mp4_bytes > CAP // 2  # near the cap: the budget is used, not wasted
    assert result.factor == 1 and result.crf <= EncodeSettings().crf_crisp
    kept = result.attempts[-1]
    assert kept["outcome"] == "kept" and kept["bitrate"] == EncodeSettings().max_bitrate
    assert [a["outcome"] for a in result.attempts[:-1]] == ["abandoned"] * (result.passes - 1)
    assert all(a["factor"] == 2 for a in result.attempts[:-1])
    assert result.attempts[0]["cabac"] is False and result.cabac is True
    assert out.flat is not None and out.flat.p99 <= FLAT_P99  # (also asserted by render)
    assert len(list(decoded_planes(out.mp4))) == 200


def test_frames_held_for_seconds_stay_crisp(tape_factory: TapeFactory, render: Render) -> None:
    durations = list(make_durations(150, seed=5, pauses=False))
    held = (10, 40, 41, 90, 149)
    for index in held:
        durations[index] = 4000.0
    tape = tape_factory(frames=150, scale=2, seed=5, durations_ms=durations)
    out = render(tape)
    assert out.result.duration_ms == round(sum(durations))
    # Every held frame on its own, not just the tape's overall percentile.
    for index, planes in enumerate(decoded_planes(out.mp4)):
        if index in held:
            errors = flat_errors(tape.frame(index), planes, out.result.factor)
            assert np.percentile(errors, 99) <= FLAT_P99, index
