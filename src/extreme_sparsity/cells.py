"""Recurrent cells of the sub-networks, registered by name (``ModelConfig.cell``).

A cell advances both sub-networks at once. Pre-activations are laid out (batch, 2 G N): sub-network
n, then gate g, then unit. ``drive`` = W_ih x + b_ih (+ b_hh when the cell folds it in) is the same
at every step; the recurrent term is one product of the hidden states [h(0), h(1)] (batch, 2N)
with the transposed block matrix of ``GlobalModel.recurrent_matrix``, which also carries
s(n) = W_sparse(m->n) h(m). Cells hold no parameters: the model passes them in, so that masked or
swapped parameters (``torch.func.functional_call``) take effect.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch


class CellSettings(Protocol):
    """What a cell reads from the model's configuration (``ModelConfig`` provides it)."""

    leak_rate: float

CELLS: dict[str, type[Cell]] = {}


def register(name: str):
    """Class decorator: make the cell available as ``ModelConfig(cell=name)``."""

    def add(cell: type[Cell]) -> type[Cell]:
        cell.name = name
        CELLS[name] = cell
        return cell

    return add


def cell_class(name: str) -> type[Cell]:
    """The registered cell called ``name``."""
    if name not in CELLS:
        raise ValueError(f"cell must be one of {tuple(CELLS)}, got {name!r}")
    return CELLS[name]


def split_gates(pre_activation: torch.Tensor, n_gates: int) -> tuple[torch.Tensor, ...]:
    """(batch, 2 G N) -> G tensors (batch, 2, N), in gate order."""
    return pre_activation.view(pre_activation.shape[0], 2, n_gates, -1).unbind(2)


def flat(state: torch.Tensor) -> torch.Tensor:
    """(batch, 2, N) -> (batch, 2N), the layout the recurrent product acts on."""
    return state.reshape(state.shape[0], -1)


class Cell:
    """One step of both sub-networks. A state is the hidden state h (batch, 2N) unless a cell
    keeps more (see :meth:`hidden`)."""

    name = ""
    n_gates = 1
    candidate_gate = 0  # the gate that receives s(n) alone with sparse_input="direct"
    folds_recurrent_bias = True  # b_hh added to the drive once rather than at every step

    def __init__(self, config: CellSettings):
        self.config = config

    def start(self, drive: torch.Tensor, recurrent_bias: torch.Tensor) -> Any:
        """The state at t = 1, from h_0 = 0: the recurrent product vanishes and is skipped."""
        raise NotImplementedError

    def step(self, state: Any, drive: torch.Tensor, recurrent_t: torch.Tensor, recurrent_bias: torch.Tensor) -> Any:
        """The next state; ``recurrent_t`` is the transposed recurrent matrix, ``recurrent_bias``
        the flattened b_hh (already inside ``drive`` when the cell folds it in)."""
        raise NotImplementedError

    def hidden(self, state: Any) -> torch.Tensor:
        """The hidden state h (batch, 2N) of a state."""
        return state


@register("rnn")
class TanhCell(Cell):
    """Equation (3): h <- tanh(W_ih x + b_ih + b_hh + [W_hh | W_sparse] [h(n), h(m)])."""

    def start(self, drive, recurrent_bias):
        return torch.tanh(drive)

    def step(self, state, drive, recurrent_t, recurrent_bias):
        return torch.tanh(torch.addmm(drive, state, recurrent_t))


@register("leaky")
class LeakyCell(Cell):
    """Leaky integrator: h <- (1 - alpha) h + alpha tanh(equation (3)'s pre-activation)."""

    def start(self, drive, recurrent_bias):
        return self.config.leak_rate * torch.tanh(drive)

    def step(self, state, drive, recurrent_t, recurrent_bias):
        alpha = self.config.leak_rate
        return (1 - alpha) * state + alpha * torch.tanh(torch.addmm(drive, state, recurrent_t))


@register("lstm")
class LSTMCell(Cell):
    """LSTM with gates i, f, g, o: c <- f c + i g, h <- o tanh(c). The state is (h, c)."""

    n_gates = 4
    candidate_gate = 2

    def start(self, drive, recurrent_bias):
        empty = drive.new_zeros(drive.shape[0], 2, drive.shape[1] // (2 * self.n_gates))
        return self._update(drive, empty)

    def step(self, state, drive, recurrent_t, recurrent_bias):
        hidden, memory = state
        return self._update(torch.addmm(drive, hidden, recurrent_t), memory)

    def hidden(self, state):
        return state[0]

    def _update(self, pre_activation: torch.Tensor, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        i, f, g, o = split_gates(pre_activation, self.n_gates)
        memory = torch.sigmoid(f) * memory + torch.sigmoid(i) * torch.tanh(g)
        return flat(torch.sigmoid(o) * torch.tanh(memory)), memory


@register("gru")
class GRUCell(Cell):
    """GRU in torch.nn.GRUCell's convention, gates r, z, n: n = tanh(x_n + r (W_hn h + b_hn)),
    h <- (1 - z) n + z h."""

    n_gates = 3
    candidate_gate = 2
    folds_recurrent_bias = False  # b_hn must stay inside the reset gate's product

    def start(self, drive, recurrent_bias):
        empty = drive.new_zeros(drive.shape[0], drive.shape[1] // self.n_gates)
        return self._update(empty, drive, recurrent_bias.expand_as(drive))

    def step(self, state, drive, recurrent_t, recurrent_bias):
        return self._update(state, drive, torch.addmm(recurrent_bias, state, recurrent_t))

    def _update(self, hidden: torch.Tensor, from_input: torch.Tensor, from_hidden: torch.Tensor) -> torch.Tensor:
        x_r, x_z, x_n = split_gates(from_input, self.n_gates)
        h_r, h_z, h_n = split_gates(from_hidden, self.n_gates)
        reset, update = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        candidate = torch.tanh(x_n + reset * h_n)
        return flat((1 - update) * candidate + update * hidden.view_as(candidate))
