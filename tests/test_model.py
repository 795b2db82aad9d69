"""Equation (3), the readouts and the max decision: the fast path against model.py's plain
reference of equation (3), and known answers."""

import pytest
import torch
from defaults import model_config

from extreme_sparsity.model import GlobalModel, decide, reference_readouts


@pytest.mark.parametrize("bottleneck", [0, 5])
@pytest.mark.parametrize("sparse_input", ["direct", "through_recurrent"])
@pytest.mark.parametrize("sparsity", [1e-3, 0.3, 1.0])
def test_forward_matches_equation_3(bottleneck, sparse_input, sparsity):
    config = model_config(sparsity, n_hidden=12, n_inputs=9, n_steps=4, bottleneck=bottleneck, sparse_input=sparse_input, init_bound=0.5)
    model = GlobalModel(config, torch.Generator().manual_seed(1))
    inputs = torch.randn(6, 2, 9, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.allclose(model(inputs), reference_readouts(model, inputs), atol=1e-5)


def test_sparse_connections_carry_information_between_sub_networks():
    config = model_config(1.0, n_hidden=8, n_inputs=5, n_steps=3, init_bound=0.5)
    model = GlobalModel(config, torch.Generator().manual_seed(0))
    x = torch.randn(1, 2, 5)
    changed = x.clone()
    changed[0, 1] += 1.0  # change only sub-network 1's input
    with torch.no_grad():
        h, h_changed = model.hidden_states(x), model.hidden_states(changed)
        assert not torch.allclose(h[0, 0], h_changed[0, 0])  # reached sub-network 0 through W_sparse
        model.sparse.phi.zero_()
        assert torch.allclose(model.hidden_states(x)[0, 0], model.hidden_states(changed)[0, 0])


def test_one_step_has_no_recurrence():
    config = model_config(1.0, n_hidden=4, n_inputs=3, n_steps=1)
    model = GlobalModel(config, torch.Generator().manual_seed(0))
    x = torch.randn(2, 2, 3)
    with torch.no_grad():
        expected = torch.tanh(torch.einsum("bni,nhi->bnh", x, model.w_ih) + model.b_ih + model.b_hh)
        assert torch.allclose(model.hidden_states(x), expected)


def test_weights_start_uniform_in_plus_minus_bound():
    """Every weight, and W_sparse with its uniform initial magnitudes (the half-normal ones: test_deep_r)."""
    model = GlobalModel(model_config(0.5, init_bound=0.1, sparse_init="uniform"), torch.Generator().manual_seed(0))
    for name, value in model.named_parameters():
        if name != "sparse.phi":
            assert value.abs().max() <= 0.1 and value.std() > 0.05, name
    assert model.sparse.weight().abs().max() <= 0.1


def test_max_decision_picks_the_sub_network_with_the_largest_readout():
    readouts = torch.tensor([
        [[0.1, 0.9, 0.0], [0.5, 0.2, 0.1]],  # sub-network 0 has the largest value
        [[0.1, 0.2, 0.0], [-3.0, 0.3, 0.1]],  # 1 by max, 1 by max |r|
        [[0.4, 0.2, 0.0], [-3.0, 0.3, 0.1]],  # 0 by max, 1 by max |r|
    ])
    chosen, chooser = decide(readouts, "max")
    assert chooser.tolist() == [0, 1, 0]
    assert torch.equal(chosen[2], readouts[2, 0])
    assert decide(readouts, "max_abs")[1].tolist() == [0, 1, 1]


def test_invalid_variants_are_rejected():
    with pytest.raises(ValueError, match="decision"):
        model_config(0.1, decision="mean")
    with pytest.raises(ValueError, match="sparse_input"):
        model_config(0.1, sparse_input="sideways")
