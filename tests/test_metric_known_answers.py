"""Known answers for networks that are not specialised, or only partly: the correlation and
bottleneck metrics on constructed networks whose states carry the other sub-network's digit
through W_sparse, in a proportion chosen by hand.

The construction (N = 24 units, T = 2 steps, equation 3 as printed, every bias and W_hh zero):
sub-network n sees its digit a as a one-hot image, and W_ih(n) writes eps * P[a], where P[0..9]
and Q[0..9] are orthonormal unit patterns with zero mean over the units. So h_1(n) = tanh(eps P[a])
~ eps P[a]. W_sparse(m -> n) = c * sum_d Q[code(d)] P[d]^T then gives
h_2(n) ~ eps (P[a] + c Q[code(b)]), b the other digit, with

* code(b) = b: the whole other digit, as strongly as the own one (c = 1): an unspecialised network;
* code(b) = b mod 5: half of the other digit (c = 1/2): a partly coupled network.

Correlation (equation 7): the Pearson correlation of two such states is
(delta(a, a') + c^2 delta(code b, code b')) / (1 + c^2), so over the pairs sharing the own digit
M(n, n) = (1 + c^2 f_n) / (1 + c^2), and over the pairs sharing the other digit
M(n, m) = (f_m + c^2) / (1 + c^2), where f_n (f_m) is the share of those pairs whose other (own)
digit code also agrees: counted from the digits alone. tanh's curvature adds O(eps^2).

Bottleneck (section 3.1): W_hb(n) reads the pattern coordinates (scaled to O(1)), so a retrained
linear readout can decode the own digit exactly and the other digit as well as its code allows:
with the whole digit, both M(n, k) ~ 1 (M_spec ~ 0); with b mod 5, the best any readout can do is
to pick, in each (own digit, b mod 5) group, the commoner of the (at most two) candidates that the
task's exclusion rule leaves: that accuracy is counted from the test digits.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from defaults import bottleneck_settings, correlation_settings, model_config

from extreme_sparsity import task
from extreme_sparsity.dataset import PairedDigits
from extreme_sparsity.metrics import bottleneck, correlation, weight_mask
from extreme_sparsity.model import GlobalModel
from extreme_sparsity.specialization import specialization_of_subnetworks

N_HIDDEN, EPS = 24, 1e-3
NETWORKS = {  # name: (code of the other digit, coupling c)
    "unspecialised": (lambda digit: digit, 1.0),
    "partly coupled": (lambda digit: digit % 5, 0.5),
}


def one_hot_pairs(n_samples: int, seed: int) -> PairedDigits:
    """Random digit pairs (the task's exclusion rule applied), each image a one-hot of its digit."""
    rng = np.random.default_rng(seed)
    digits = rng.integers(0, 10, (3 * n_samples, 2))
    digits = digits[~task.is_excluded(digits[:, 0], digits[:, 1])][:n_samples]
    inputs = torch.nn.functional.one_hot(torch.tensor(digits), 10).float()
    target = torch.tensor(task.global_target(digits[:, 0], digits[:, 1]))
    return PairedDigits(inputs, torch.tensor(digits), target)


def patterns() -> tuple[torch.Tensor, torch.Tensor]:
    """P (N x 10) and Q (N x 10): 20 orthonormal columns, each with zero mean over the units."""
    raw = torch.tensor(np.random.default_rng(3).normal(size=(N_HIDDEN, 20)))
    basis, _ = torch.linalg.qr(raw - raw.mean(dim=0))
    return basis[:, :10].float(), basis[:, 10:].float()


def coupled_network(code, coupling: float, bottleneck_size: int = 0) -> GlobalModel:
    config = model_config(1.0, n_hidden=N_HIDDEN, n_inputs=10, n_steps=2, bottleneck=bottleneck_size, cell="rnn", sparse_input="direct")
    model = GlobalModel(config, torch.Generator().manual_seed(0))
    P, Q = patterns()
    coupling_matrix = coupling * sum(torch.outer(Q[:, code(d)], P[:, d]) for d in range(10))
    with torch.no_grad():
        for parameter in (model.b_ih, model.b_hh, model.w_hh):
            parameter.zero_()
        model.w_ih.copy_(EPS * P.expand(2, -1, -1))
        model.sparse.sign.copy_(torch.where(coupling_matrix < 0, -1.0, 1.0).expand(2, -1, -1))
        model.sparse.phi.copy_(coupling_matrix.abs().clamp_min(1e-30).expand(2, -1, -1))
        if bottleneck_size:
            read = torch.cat([P.T, Q.T])[:bottleneck_size] / EPS  # pattern coordinates, O(1)
            model.w_hb.copy_(read.expand(2, -1, -1))
            model.b_hb.zero_()
    return model


def pooled_share(groups: np.ndarray, also: np.ndarray) -> float:
    """Over all unordered pairs within the same group, the share whose ``also`` agrees too."""
    pairs = sum(count * (count - 1) // 2 for count in Counter(groups.tolist()).values())
    both = sum(count * (count - 1) // 2 for count in Counter(zip(groups.tolist(), also.tolist())).values())
    return both / pairs


@pytest.fixture(scope="module")
def data():
    return one_hot_pairs(3000, seed=1), one_hot_pairs(2000, seed=2)


@pytest.mark.parametrize("name", NETWORKS)
def test_correlation_of_a_coupled_network_equals_the_hand_derived_value(name, data):
    code, c = NETWORKS[name]
    _, test = data
    values, _ = correlation.correlation_metric(coupled_network(code, c), test, correlation_settings(max_samples=None), seed=0)
    digits = test.digits.numpy()
    expected = np.zeros((2, 2))
    for n in range(2):
        own, other = digits[:, n], digits[:, 1 - n]
        expected[n, n] = (1 + c**2 * pooled_share(own, code(other))) / (1 + c**2)
        expected[n, 1 - n] = (pooled_share(other, own) + c**2) / (1 + c**2)
    np.testing.assert_allclose(values, expected, atol=1e-4)
    spec = specialization_of_subnetworks(values)
    if name == "unspecialised":
        assert max(abs(s) for s in spec) < 0.03  # (f_n - f_m) / (2 + f_n + f_m): counting noise only
    else:  # c = 1/2, a fifth of the codes: M(n, n) ~ (1 + 0.2 / 4) / 1.25, M(n, m) ~ (0.11 + 0.25) / 1.25
        np.testing.assert_allclose(spec, specialization_of_subnetworks(expected), atol=1e-4)
        assert 0.4 < min(spec) and max(spec) < 0.55


def best_accuracy_from_code(own: np.ndarray, other: np.ndarray, n: int, code) -> float:
    """Expected accuracy of the best readout of the other digit that knows only the own digit and
    code(other digit): the digits are uniform, so each candidate the exclusion rule leaves in the
    sample's (own, code) group is equally likely, and any choice among them is right 1 / |group|
    of the time."""
    chance = []
    for a, b in zip(own.tolist(), other.tolist()):
        candidates = [d for d in range(10) if code(d) == code(b)]
        pairs = [(a, d) if n == 0 else (d, a) for d in candidates]  # (digit 0, digit 1)
        allowed = [pair for pair in pairs if not task.is_excluded(*pair)]
        chance.append(1 / len(allowed))
    return float(np.mean(chance))


@pytest.mark.parametrize("name", NETWORKS)
def test_bottleneck_of_a_coupled_network_reaches_the_hand_derived_accuracy(name, data):
    code, c = NETWORKS[name]
    train, test = data
    model = coupled_network(code, c, bottleneck_size=20)
    settings = bottleneck_settings(epochs=30, trials=1)
    (values,) = bottleneck.bottleneck_metric(model, train, test, settings, seed=0)
    digits = test.digits.numpy()
    for n in range(2):
        assert values[n, n] > 0.98, values  # the own digit is in the bottleneck exactly
        ideal = best_accuracy_from_code(digits[:, n], digits[:, 1 - n], n, code)
        assert values[n, 1 - n] == pytest.approx(ideal, abs=0.03), (values, ideal)
    spec = specialization_of_subnetworks(values)
    if name == "unspecialised":
        assert max(abs(s) for s in spec) < 0.02
    else:  # about half of the other digit: M_spec ~ (1 - 0.55) / (1 + 0.55)
        assert all(0.2 < s < 0.4 for s in spec), spec


def test_weight_mask_shares_count_w_sparse_where_sparse_owner_says():
    """Weight-mask M(n, k) (equation 6) on the unspecialised network, whose W_sparse is dense:
    a kept set of 30 W_sparse(1->0) entries, 10 entries of sub-network 0's own weights and 20 of
    sub-network 1's gives, by hand, M(0) = 40/60 counting W_sparse(1->0) in its target (0) and
    10/60 counting it in its source (1)."""
    code, c = NETWORKS["unspecialised"]
    model = coupled_network(code, c)
    layout = weight_mask.mask_layout(model, "target")
    own = torch.nonzero(~layout.is_sparse & (layout.target_owner == 0)).squeeze(1)
    other = torch.nonzero(~layout.is_sparse & (layout.target_owner == 1)).squeeze(1)
    into_0 = torch.nonzero(layout.is_sparse & (layout.target_owner == 0)).squeeze(1)
    scores = torch.zeros(layout.size)
    for chosen, how_many in ((into_0, 30), (own, 10), (other, 20)):
        scores[chosen[torch.randperm(len(chosen), generator=torch.Generator().manual_seed(how_many))[:how_many]]] = 1.0
    q = 60 / layout.size
    np.testing.assert_allclose(weight_mask.share_per_subnetwork(layout, scores, q, "target"), [40 / 60, 20 / 60])
    np.testing.assert_allclose(weight_mask.share_per_subnetwork(layout, scores, q, "source"), [10 / 60, 50 / 60])
    unmasked = weight_mask.mask_layout(model, "unmasked")
    assert unmasked.size == layout.size - 2 * N_HIDDEN**2 and not unmasked.is_sparse.any()
