"""Arm assignment of online experiments: stable per user, the split share, shadow mode."""

from __future__ import annotations

import pytest

from keeldb.errors import InvalidArgument
from keeldb.lifecycle.experiments import Experiment, assign_arm, check_experiment_args


def _experiment(mode: str = "split", percent: float = 20.0, experiment_id: str = "ex-0001"):
    return Experiment(experiment_id, "default", "docs", mode, "docs__a_1", "docs__b_1", percent,
                      10, 0)  # fmt: skip


def test_the_same_user_always_gets_the_same_arm():
    ex = _experiment()
    first = {u: assign_arm(ex, f"user-{u}", "rq-1") for u in range(200)}
    again = {u: assign_arm(ex, f"user-{u}", f"rq-{u}") for u in range(200)}
    assert first == again  # the request id does not matter once there is a user key


def test_split_share_and_a_new_experiment_reshuffles_users():
    ex = _experiment(percent=20.0)
    arms = [assign_arm(ex, f"user-{u}", "rq") for u in range(5000)]
    share = arms.count("challenger") / len(arms)
    assert 0.18 < share < 0.22  # 20% ± about 3.5 standard deviations
    other = _experiment(percent=20.0, experiment_id="ex-0002")
    moved = sum(assign_arm(other, f"user-{u}", "rq") != arms[u] for u in range(5000))
    assert moved > 500  # assignments are independent between experiments


def test_keyless_traffic_splits_per_request_and_shadow_serves_the_champion():
    ex = _experiment(percent=50.0)
    arms = {assign_arm(ex, None, f"rq-{i}") for i in range(50)}
    assert arms == {"champion", "challenger"}
    shadow = _experiment(mode="shadow")
    assert {assign_arm(shadow, f"user-{u}", "rq") for u in range(100)} == {"champion"}


@pytest.mark.parametrize(
    ("mode", "percent", "k", "message"),
    [("ab", 10, 10, "mode 'ab'"), ("split", 0, 10, "got 0"), ("split", 100, 10, "got 100"),
     ("shadow", 10, 0, "k must be a positive integer, got 0")],
)  # fmt: skip
def test_bad_experiment_arguments(mode, percent, k, message):
    with pytest.raises(InvalidArgument, match=message):
        check_experiment_args(mode, percent, k)
