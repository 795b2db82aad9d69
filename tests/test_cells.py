"""The recurrent cells (rnn, leaky, lstm, gru) checked against hand-written per-sample loops."""

import copy

import pytest
import torch
from defaults import CONFIG, model_config

from extreme_sparsity import cells
from extreme_sparsity.deep_r import DeepR
from extreme_sparsity.errors import CheckpointMismatch
from extreme_sparsity.metrics import weight_mask
from extreme_sparsity.model import GlobalModel, decide
from extreme_sparsity.plumbing import settings
from extreme_sparsity.plumbing.checkpoint import load_model, load_trusted, save_model

CELL_NAMES = ("rnn", "leaky", "lstm", "gru")
SPARSE_INPUTS = ("direct", "through_recurrent")
GATES = {"rnn": 1, "leaky": 1, "lstm": 4, "gru": 3}
CANDIDATE = {"rnn": 0, "leaky": 0, "lstm": 2, "gru": 2}  # gate that takes s(n) alone when "direct"
LEAK_RATE = 0.3


def tanh_update(h, c, x_part, h_part):
    return torch.tanh(x_part + h_part), c


def leaky_update(h, c, x_part, h_part):
    return (1 - LEAK_RATE) * h + LEAK_RATE * torch.tanh(x_part + h_part), c


def lstm_update(h, c, x_part, h_part):
    i, f, g, o = (x_part + h_part).chunk(4)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def gru_update(h, c, x_part, h_part):
    x_r, x_z, x_n = x_part.chunk(3)
    h_r, h_z, h_n = h_part.chunk(3)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h, c


UPDATES = {"rnn": tanh_update, "leaky": leaky_update, "lstm": lstm_update, "gru": gru_update}


def reference_steps(model: GlobalModel, x: torch.Tensor) -> list[torch.Tensor]:
    """Hidden states (2, N) of one sample after each step, sub-network by sub-network."""
    cfg = model.config
    n_hidden, gates, candidate = cfg.n_hidden, GATES[cfg.cell], CANDIDATE[cfg.cell]
    w_sparse = model.sparse.weight().detach()
    h = [torch.zeros(n_hidden, dtype=x.dtype) for _ in range(2)]
    c = [torch.zeros(n_hidden, dtype=x.dtype) for _ in range(2)]
    steps = []
    for _ in range(cfg.n_steps):
        new_h, new_c = [], []
        for n in range(2):
            s = w_sparse[n] @ h[1 - n]
            x_part = model.w_ih[n] @ x[n] + model.b_ih[n]
            if cfg.sparse_input == "through_recurrent":
                h_part = model.w_hh[n] @ (h[n] + s) + model.b_hh[n]
            else:
                h_part = model.w_hh[n] @ h[n] + model.b_hh[n]
                h_part = h_part + torch.cat([s if g == candidate else torch.zeros_like(s) for g in range(gates)])
            h_n, c_n = UPDATES[cfg.cell](h[n], c[n], x_part, h_part)
            new_h.append(h_n)
            new_c.append(c_n)
        h, c = new_h, new_c
        steps.append(torch.stack(h))
    return steps


def reference_readouts(model: GlobalModel, h_final: torch.Tensor) -> torch.Tensor:
    """Readouts (2, n_classes) of one sample's final states, sub-network by sub-network."""
    outputs = []
    for n in range(2):
        if model.config.bottleneck:
            b = model.w_hb[n] @ h_final[n] + model.b_hb[n]
            outputs.append(model.w_br[n] @ b + model.b_br[n])
        else:
            outputs.append(model.w_hr[n] @ h_final[n] + model.b_hr[n])
    return torch.stack(outputs)


def make_model(cell: str, sparse_input: str = "direct", bottleneck: int = 0, **overrides) -> GlobalModel:
    config = dict(
        sparsity=0.3, n_hidden=7, n_inputs=5, n_classes=4, n_steps=4, bottleneck=bottleneck,
        init_bound=0.5, sparse_input=sparse_input, cell=cell, leak_rate=LEAK_RATE,
    )
    return GlobalModel(model_config(**{**config, **overrides}), torch.Generator().manual_seed(1))


def random_inputs(batch: int, n_inputs: int = 5, seed: int = 2) -> torch.Tensor:
    return torch.randn(batch, 2, n_inputs, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("bottleneck", [0, 3])
@pytest.mark.parametrize("sparse_input", SPARSE_INPUTS)
@pytest.mark.parametrize("cell", CELL_NAMES)
def test_forward_matches_hand_written_loop(cell, sparse_input, bottleneck):
    model = make_model(cell, sparse_input, bottleneck).double()
    inputs = random_inputs(5).double()
    with torch.no_grad():
        every_step = model.hidden_states(inputs, every_step=True)
        final = model.hidden_states(inputs)
        readouts = model(inputs)
        expected_steps = torch.stack([torch.stack(reference_steps(model, x)) for x in inputs], dim=1)
        expected_readouts = torch.stack([reference_readouts(model, h) for h in expected_steps[-1]])
    assert every_step.shape == (4, 5, 2, 7) and final.shape == (5, 2, 7)
    assert torch.equal(every_step[-1], final)
    assert torch.allclose(every_step, expected_steps, rtol=0, atol=1e-12)
    assert torch.allclose(readouts, expected_readouts, rtol=0, atol=1e-12)
    assert expected_steps.std() > 0.05  # the states are not trivially small


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_single_step_has_no_recurrence(cell):
    model = make_model(cell, n_steps=1).double()
    inputs = random_inputs(3).double()
    with torch.no_grad():
        expected = torch.stack([reference_steps(model, x)[-1] for x in inputs])
        assert torch.allclose(model.hidden_states(inputs), expected, rtol=0, atol=1e-12)
        assert model.hidden_states(inputs, every_step=True).shape == (1, 3, 2, 7)


@pytest.mark.parametrize("sparse_input", SPARSE_INPUTS)
def test_leaky_cell_with_rate_one_is_the_rnn(sparse_input):
    rnn = make_model("rnn", sparse_input).double()
    leaky = make_model("leaky", sparse_input, leak_rate=1.0).double()
    inputs = random_inputs(4).double()
    with torch.no_grad():
        expected, states = rnn.hidden_states(inputs, every_step=True), leaky.hidden_states(inputs, every_step=True)
    # t = 1 involves no matrix product over the states: the same arithmetic, bit for bit.
    assert torch.equal(expected[0], states[0])
    # Later steps multiply equal states held in other buffers; Intel's kernels round such a product
    # by the buffers' alignment (AMD's do not), so equal up to float64 rounding. A wrong leak would
    # be off by more than 1e-2.
    assert torch.allclose(expected, states, rtol=0, atol=1e-12)
    assert (expected[-1] - expected[-2]).abs().max() > 1e-2  # the states still move at t = T


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_gates_are_stacked_in_the_parameters(cell):
    model = make_model(cell, bottleneck=3)
    rows = GATES[cell] * 7
    shapes = {name: tuple(value.shape) for name, value in model.named_parameters()}
    assert shapes == {
        "w_ih": (2, rows, 5), "b_ih": (2, rows), "w_hh": (2, rows, 7), "b_hh": (2, rows),
        "sparse.phi": (2, 7, 7), "w_hb": (2, 3, 7), "b_hb": (2, 3), "w_br": (2, 4, 3), "b_br": (2, 4),
    }
    dense = torch.cat([value.detach().flatten() for name, value in model.named_parameters() if name != "sparse.phi"])
    assert dense.abs().max() <= 0.5 and 0.25 < dense.std() < 0.33  # U(-0.5, 0.5): std 0.29


@pytest.mark.parametrize("sparse_input", SPARSE_INPUTS)
@pytest.mark.parametrize("cell", CELL_NAMES)
def test_other_subnetwork_enters_only_through_w_sparse(cell, sparse_input):
    model = make_model(cell, sparse_input, sparsity=1.0)
    inputs = random_inputs(3)
    changed = inputs.clone()
    changed[:, 1] += 1.0  # only sub-network 1's input

    def subnetwork_0(x):  # states of sub-network 0 at every step
        return model.hidden_states(x, every_step=True)[:, :, 0]

    with torch.no_grad():
        before, after = subnetwork_0(inputs), subnetwork_0(changed)
        assert torch.equal(before[0], after[0])  # t = 1: nothing has crossed yet
        assert (before[-1] - after[-1]).abs().max() > 1e-4
        model.sparse.phi.zero_()
        assert torch.equal(subnetwork_0(inputs), subnetwork_0(changed))


@pytest.mark.parametrize("sparse_input", SPARSE_INPUTS)
@pytest.mark.parametrize("cell", CELL_NAMES)
def test_deep_r_trains_w_sparse_through_every_cell(cell, sparse_input):
    model = make_model(cell, sparse_input, sparsity=0.2, init_bound=0.1)
    k = model.config.n_active
    deep_r = DeepR(model.sparse, lr=0.03, betas=(0.9, 0.95), noise_std=0.0, l1=0.0, reactivation_value=1e-10,
                   generator=torch.Generator().manual_seed(3))
    optimizer = torch.optim.SGD([p for name, p in model.named_parameters() if name != "sparse.phi"], lr=0.1)
    inputs = random_inputs(32)
    target = torch.randint(0, 4, (32,), generator=torch.Generator().manual_seed(4))
    initial_phi, initial_index = model.sparse.phi.detach().clone(), model.sparse.active_index.clone()
    for _ in range(6):
        loss = torch.nn.functional.cross_entropy(decide(model(inputs))[0], target)
        optimizer.zero_grad()
        model.sparse.phi.grad = None
        loss.backward()
        active = model.sparse.active()
        assert model.sparse.phi.grad[active].ne(0).all()  # the gradient reaches every active connection
        assert model.sparse.phi.grad[~active].eq(0).all()
        optimizer.step()
        deep_r.step()
        active = model.sparse.active()
        assert active.view(2, -1).sum(1).tolist() == [k, k]
        active_index = active.view(2, -1).nonzero()[:, 1].view(2, k)
        assert torch.equal(active_index, model.sparse.active_index.sort().values)
    assert deep_r.n_rewired > 0
    kept = torch.zeros(2, 49, dtype=torch.bool).scatter_(1, initial_index, True) & model.sparse.active().view(2, -1)
    assert kept.any() and (model.sparse.phi.detach().view(2, -1)[kept] != initial_phi.view(2, -1)[kept]).all()


@pytest.mark.parametrize(
    "cell, bottleneck, expected",
    [
        # w_hh 2*G*7*7 + b_hh 2*G*7 + 2K (K = round(0.3 * 49) = 15) + readout
        ("rnn", 0, 98 + 14 + 30 + (56 + 8)),
        ("lstm", 0, 392 + 56 + 30 + (56 + 8)),
        ("gru", 0, 294 + 42 + 30 + (56 + 8)),
        # bottleneck readout: w_hb 2*3*7 + b_hb 2*3 + w_br 2*4*3 + b_br 2*4
        ("lstm", 3, 392 + 56 + 30 + (42 + 6 + 24 + 8)),
        ("gru", 3, 294 + 42 + 30 + (42 + 6 + 24 + 8)),
    ],
)
def test_weight_mask_layout_of_gated_cells(cell, bottleneck, expected):
    model = make_model(cell, bottleneck=bottleneck)
    layout = weight_mask.mask_layout(model)
    assert layout.size == expected
    assert torch.bincount(layout.owner).tolist() == [expected // 2, expected // 2]
    assert int(layout.is_sparse.sum()) == 30
    scores = weight_mask.initial_scores(model, layout, "kaiming_uniform", torch.Generator().manual_seed(0))
    recurrent = scores[: 2 * GATES[cell] * 49]  # w_hh comes first: bound 1 / sqrt(fan_in = N)
    assert len(scores) == expected and recurrent.abs().max() <= 7**-0.5
    inputs = random_inputs(4)
    with torch.no_grad():
        unmasked = weight_mask.masked_readouts(model, layout, torch.ones(expected), inputs)
        assert torch.equal(unmasked, model(inputs))
        no_recurrence = torch.cat([torch.zeros(2 * GATES[cell] * 49), torch.ones(expected - 2 * GATES[cell] * 49)])
        assert not torch.allclose(weight_mask.masked_readouts(model, layout, no_recurrence, inputs), model(inputs))


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_checkpoint_round_trip(cell, tmp_path):
    model = make_model(cell, "through_recurrent", bottleneck=3)
    save_model(tmp_path / "model.pt", model, {"note": "test"})
    loaded, saved = load_model(tmp_path / "model.pt")
    assert loaded.config == model.config and saved["model_config"]["cell"] == cell
    inputs = random_inputs(4)
    with torch.no_grad():
        assert torch.equal(loaded(inputs), model(inputs))


def test_checkpoint_of_other_code_is_refused_by_name(tmp_path):
    """A checkpoint whose model settings are not this code's (a field missing or unknown) is refused
    with the fields named, rather than loaded as some other model."""
    model = make_model("rnn")
    save_model(tmp_path / "model.pt", model, {})
    saved = load_trusted(tmp_path / "model.pt")
    del saved["model_config"]["cell"]
    saved["model_config"]["old_setting"] = 1
    torch.save(saved, tmp_path / "old.pt")
    with pytest.raises(CheckpointMismatch, match=r"lack \['cell'\] and have unknown \['old_setting'\]"):
        load_model(tmp_path / "old.pt")


def test_settings_pass_the_cell_from_the_config():
    config = copy.deepcopy(CONFIG)
    config["model"].update(bottleneck_size=2, cell="leaky", leak_rate=0.2)
    chosen = settings.model_config(config, "bottleneck", 0.1)
    assert (chosen.cell, chosen.leak_rate, chosen.bottleneck) == ("leaky", 0.2, 2)


def test_invalid_cells_and_leak_rates_are_rejected():
    with pytest.raises(ValueError, match=r"cell must be one of \('rnn', 'leaky', 'lstm', 'gru'\), got 'transformer'"):
        model_config(0.1, cell="transformer")
    for rate in (0.0, -0.5, 1.5):
        with pytest.raises(ValueError, match="leak_rate"):
            model_config(0.1, leak_rate=rate)
    assert model_config(0.1, cell="leaky", leak_rate=1.0).leak_rate == 1.0


def test_a_registered_cell_is_selected_by_name(monkeypatch):
    monkeypatch.setattr(cells, "CELLS", dict(cells.CELLS))

    @cells.register("input_only")
    class InputOnly(cells.TanhCell):
        """Ignores the recurrent term: every step equals the first."""

        def step(self, state, drive, recurrent_t, recurrent_bias):
            return self.start(drive, recurrent_bias)

    model = make_model("input_only")
    with torch.no_grad():
        steps = model.hidden_states(random_inputs(2), every_step=True)
    assert isinstance(model.cell, InputOnly) and torch.equal(steps[0], steps[-1])
