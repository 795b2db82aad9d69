"""Section 3.2's choice of q: by hand on synthetic sweeps, and end to end on constructed networks
whose answer is known."""

import pandas as pd
import pytest
from defaults import mask_settings

from extreme_sparsity import calibration
from extreme_sparsity.metrics import weight_mask
from test_metrics import coded_digits, specialized_model, swapped


def sweep_frame(own_shares: dict[float, list[tuple[float, float]]], accuracy: float = 0.9) -> pd.DataFrame:
    """Tidy sweep rows: own_shares[q] = [(M(0, 0), M(1, 1)) of seed 0, of seed 1, ...]."""
    rows = []
    for q, seeds in own_shares.items():
        for seed, (m00, m11) in enumerate(seeds):
            values = {(0, 0): m00, (1, 0): 1 - m00, (1, 1): m11, (0, 1): 1 - m11}
            for (n, k), value in values.items():
                rows.append({"seed": seed, "q": q, "attribution": "target", "quantity": "M", "sub_network": n, "digit": k, "value": value})
            for k in range(2):
                rows.append({"seed": seed, "q": q, "attribution": "target", "quantity": "accuracy", "sub_network": None, "digit": k, "value": accuracy})
    return pd.DataFrame(rows)


def test_the_largest_q_whose_seed_mean_meets_the_criterion_is_chosen():
    frame = sweep_frame({
        0.01: [(1.0, 1.0), (1.0, 1.0)],
        0.02: [(1.0, 0.99), (0.995, 1.0)],  # means 0.9975 and 0.995: meets
        0.05: [(1.0, 1.0), (0.97, 1.0)],  # M(0, 0) mean 0.985: one sub-network misses
        0.1: [(0.9, 0.95), (0.9, 0.95)],
    })
    table = calibration.calibration_table(frame, "target", 0.99)
    assert table["meets_criterion"].tolist() == [True, True, False, False]
    assert table.loc[table["chosen"], "q"].tolist() == [0.02]
    assert table.loc[table["q"] == 0.05, "M_00"].item() == pytest.approx(0.985)
    assert calibration.choose_q(table) == 0.02


def test_a_larger_q_that_meets_the_criterion_again_wins():
    table = calibration.calibration_table(sweep_frame({0.01: [(1, 1)], 0.05: [(0.9, 1)], 0.1: [(1, 1)]}), "target", 0.99)
    assert calibration.choose_q(table) == 0.1


def test_when_no_q_meets_the_criterion_the_closest_is_used_and_said(tmp_path):
    # smaller of M(0, 0), M(1, 1): 0.9, 0.92, 0.8 -> q = 0.05 comes closest to M(n, n) = 1
    frame = sweep_frame({0.01: [(0.9, 1)], 0.05: [(0.95, 0.92)], 0.1: [(0.8, 0.8)]})
    table = calibration.calibration_table(frame, "target", 0.99)
    assert not table["meets_criterion"].any()
    assert table.loc[table["chosen"], "q"].tolist() == [0.05]
    tie = calibration.calibration_table(sweep_frame({0.01: [(0.9, 1)], 0.05: [(1, 0.9)]}), "target", 0.99)
    assert calibration.choose_q(tie) == 0.05  # on a tie, the larger q (as high as possible)
    table.to_csv(tmp_path / "q.csv", index=False)
    assert calibration.read_chosen_q(tmp_path / "q.csv") == 0.05
    table.assign(chosen=False).to_csv(tmp_path / "none.csv", index=False)
    with pytest.raises(ValueError, match="rerun rule calibrate_mask_q"):
        calibration.read_chosen_q(tmp_path / "none.csv")


MASKS = mask_settings(0.01, epochs=3, q_train=None)  # trained at each q of the grid
GRID = [0.005, 0.01, 0.6]


def calibrate(swap: bool) -> pd.DataFrame:
    """The calibration of two seeds' sweeps on the constructed, fully specialized network."""
    train, test = coded_digits(3000, seed=1), coded_digits(800, seed=2)
    if swap:
        train, test = swapped(train), swapped(test)
    frames = []
    for seed in (0, 1):
        sweep = weight_mask.mask_sweep(specialized_model(), train, test, MASKS, GRID, seed)
        frames.append(pd.DataFrame(weight_mask.sweep_rows(sweep)).assign(seed=seed))
    return calibration.calibration_table(pd.concat(frames), "target", 0.99)


def test_calibration_on_isolated_specialized_subnetworks_picks_the_known_q():
    """No connection between the sub-networks and each reads out its own digit: small masks lie
    entirely in the own sub-network, while q = 0.6 keeps more weights than one sub-network holds
    (850 of 1700), so M(n, n) <= 850 / 1020 < 0.99 there by counting alone."""
    table = calibrate(swap=False)
    by_q = table.set_index("q")
    assert by_q.loc[0.005, "meets_criterion"] and by_q.loc[0.01, "meets_criterion"]
    assert by_q.loc[0.6, "M_00"] <= 850 / 1020 + 1e-9 and not by_q.loc[0.6, "meets_criterion"]
    assert calibration.choose_q(table) == 0.01
    assert by_q.loc[0.01, "masked_accuracy_digit_0"] > 0.9


def test_calibration_on_swapped_inputs_meets_no_q():
    """Each sub-network now sees the other's digit: a mask for digit n lies in sub-network 1 - n,
    and the more weights a mask keeps, the more of them fall in sub-network n by counting alone."""
    table = calibrate(swap=True).set_index("q")
    assert table["M_00"].max() < 0.6 and not table["meets_criterion"].any()
    assert table.loc[0.005, "M_00"] < 0.05 and table.loc[0.6, "M_00"] > 0.15
    assert calibration.choose_q(table.reset_index()) == 0.6
