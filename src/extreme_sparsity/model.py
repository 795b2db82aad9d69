"""The global model of section 2.2: two dense recurrent sub-networks joined by sparse connections.

Sub-network n (n = 0, 1; m = 1 - n) runs equation (3) for T steps on the same input, from h_0 = 0:

    h_t(n) = tanh(W_ih(n) x(n) + b_ih(n) + W_hh(n) h_{t-1}(n) + b_hh(n) + W_sparse(m->n) h_{t-1}(m))

(``cell="rnn"``; other cells in :mod:`.cells`, where s(n) = W_sparse(m->n) h(m) enters the
recurrent term as set by ``sparse_input``), then reads out r(n) = W_hr(n) h_T(n) + b_hr(n), or
through a linear bottleneck b(n) in the bottleneck architecture (fig. 1b). The sub-network whose
readout has the largest maximum decides.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .cells import cell_class
from .deep_r import INITS, SparseConnections
from .seeding import derived_generators
from .sparsity import n_connections

DECISIONS = ("max", "max_abs")
SPARSE_INPUTS = ("direct", "through_recurrent")


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Shape and variant of a global model; ``bottleneck=0`` is the plain architecture. Built from
    the config (plumbing/settings.py): only MNIST's sizes, which are no setting, have defaults."""

    sparsity: float
    n_hidden: int
    n_inputs: int = 784
    n_classes: int = 10
    n_steps: int
    bottleneck: int
    init_bound: float
    decision: str
    sparse_input: str
    cell: str
    leak_rate: float  # alpha of the leaky cell
    sparse_init: str  # W_sparse's initial magnitudes: |U(-init_bound, init_bound)| | half_normal
    sparse_init_std: float  # sigma of half_normal: magnitudes |N(0, sigma^2)|

    def __post_init__(self):
        if self.decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}, got {self.decision!r}")
        if self.sparse_input not in SPARSE_INPUTS:
            raise ValueError(f"sparse_input must be one of {SPARSE_INPUTS}, got {self.sparse_input!r}")
        cell_class(self.cell)
        if not 0 < self.leak_rate <= 1:
            raise ValueError(f"leak_rate must lie in (0, 1], got {self.leak_rate!r}")
        if self.sparse_init not in INITS:
            raise ValueError(f"sparse_init must be one of {INITS}, got {self.sparse_init!r}")
        if not self.sparse_init_std > 0:
            raise ValueError(f"sparse_init_std must be > 0, got {self.sparse_init_std!r}")

    @property
    def n_active(self) -> int:
        return n_connections(self.sparsity, self.n_hidden)

    def to_dict(self) -> dict:
        return asdict(self)


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> nn.Parameter:
    return nn.Parameter(torch.empty(shape).uniform_(-bound, bound, generator=generator))


class GlobalModel(nn.Module):
    """Both sub-networks stored stacked along a leading axis of size 2 (index = sub-network n).

    The cell's G gates are stacked in the second axis of w_ih (2, G N, inputs), b_ih, w_hh (2, G N, N)
    and b_hh, gate-major as in torch.nn's recurrent cells.
    """

    def __init__(self, config: ModelConfig, generator: torch.Generator):
        super().__init__()
        self.config = config
        self.cell = cell_class(config.cell)(config)
        n, i, c, b = config.n_hidden, config.n_inputs, config.n_classes, config.bottleneck
        gated = self.cell.n_gates * n
        bound = config.init_bound
        self.w_ih = _uniform((2, gated, i), bound, generator)
        self.b_ih = _uniform((2, gated), bound, generator)
        self.w_hh = _uniform((2, gated, n), bound, generator)
        self.b_hh = _uniform((2, gated), bound, generator)
        self.sparse = SparseConnections(n, config.n_active, bound, generator, config.sparse_init, config.sparse_init_std)
        if b:
            self.w_hb = _uniform((2, b, n), bound, generator)
            self.b_hb = _uniform((2, b), bound, generator)
            self.w_br = _uniform((2, c, b), bound, generator)
            self.b_br = _uniform((2, c), bound, generator)
        else:
            self.w_hr = _uniform((2, c, n), bound, generator)
            self.b_hr = _uniform((2, c), bound, generator)

    def recurrent_matrix(self) -> torch.Tensor:
        """The (2GN x 2N) matrix acting on [h(0), h(1)]: W_hh on the diagonal blocks, the path of
        s(n) = W_sparse(m->n) h(m) off it.

        ``through_recurrent`` (the authors' code): s(n) is added to h(n) before W_hh(n), in every
        gate. ``direct``: s(n) is added to the candidate gate's recurrent term only. Both
        sub-networks then advance with a single matrix product per time step.
        """
        w_hh, w_sparse = self.w_hh, self.sparse.weight()  # w_sparse[n] = W_sparse(m->n)
        if self.config.sparse_input == "through_recurrent":
            crossing = torch.bmm(w_hh, w_sparse)
        else:
            n, gates, candidate = self.config.n_hidden, self.cell.n_gates, self.cell.candidate_gate
            crossing = F.pad(w_sparse, (0, 0, candidate * n, (gates - 1 - candidate) * n))
        top = torch.cat([w_hh[0], crossing[0]], dim=1)
        bottom = torch.cat([crossing[1], w_hh[1]], dim=1)
        return torch.cat([top, bottom], dim=0)

    def input_drive(self, inputs: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """W_ih x + bias (default b_ih) of both sub-networks, shape (batch, 2 G N): the input's part of
        every step's pre-activation, the same at every step.

        Computed as W_ih x^T (2, GN, batch): the gradient of W_ih then comes out in W_ih's own
        layout, with no transposed copy (5 % of a training step).
        """
        bias = self.b_ih if bias is None else bias
        drive = torch.baddbmm(bias.unsqueeze(2), self.w_ih, inputs.transpose(0, 1).transpose(1, 2))
        return drive.permute(2, 0, 1).reshape(inputs.shape[0], -1)

    def hidden_states(
        self, inputs: torch.Tensor | None, every_step: bool = False, drive: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Final hidden states h_T, shape (batch, 2, N), for inputs of shape (batch, 2, n_inputs);
        with ``every_step`` the hidden states of every step t = 1..T, shape (T, batch, 2, N).

        Inputs whose memory is laid out sub-network first (a transposed view of a (2, batch,
        n_inputs) tensor, as the training loop gathers them) need no copy. ``drive``, when given,
        replaces the inputs by their :meth:`input_drive` computed beforehand (the weight-mask
        metric does so: W_ih is never masked).
        """
        n, cell = self.config.n_hidden, self.cell
        if drive is None:
            # project the input once, with b_hh folded in unless the cell needs it apart
            drive = self.input_drive(inputs, self.b_ih + self.b_hh if cell.folds_recurrent_bias else None)
        elif cell.folds_recurrent_bias:
            drive = drive + self.b_hh.reshape(-1)
        batch = drive.shape[0]
        recurrent_bias = self.b_hh.reshape(-1)
        state = cell.start(drive, recurrent_bias)  # t = 1, from h_0 = 0
        steps = [cell.hidden(state)]
        if self.config.n_steps > 1:
            recurrent_t = self.recurrent_matrix().t()
            for _ in range(self.config.n_steps - 1):
                state = cell.step(state, drive, recurrent_t, recurrent_bias)
                if every_step:
                    steps.append(cell.hidden(state))
        if every_step:
            return torch.stack(steps).view(len(steps), batch, 2, n)
        return cell.hidden(state).view(batch, 2, n)

    def bottleneck_states(self, hidden: torch.Tensor) -> torch.Tensor:
        """Bottleneck layer b(n) = W_hb(n) h_T(n) + b_hb(n), shape (batch, 2, bottleneck)."""
        return _per_subnetwork_linear(hidden, self.w_hb, self.b_hb)

    def readouts(self, hidden: torch.Tensor) -> torch.Tensor:
        """Readouts r(n) of both sub-networks, shape (batch, 2, n_classes)."""
        if self.config.bottleneck:
            # The bottleneck is linear: r = W_br (W_hb h + b_hb) + b_br in one product per sample.
            weight = torch.bmm(self.w_br, self.w_hb)
            bias = torch.bmm(self.w_br, self.b_hb.unsqueeze(2)).squeeze(2) + self.b_br
            return _per_subnetwork_linear(hidden, weight, bias)
        return _per_subnetwork_linear(hidden, self.w_hr, self.b_hr)

    def forward(self, inputs: torch.Tensor | None, drive: torch.Tensor | None = None) -> torch.Tensor:
        return self.readouts(self.hidden_states(inputs, drive=drive))

    def adjacency(self) -> torch.Tensor:
        """Directed graph of the 2N neurons, A[i, j] = 1 for a connection from i to j: all-to-all
        within each sub-network (W_hh), the active W_sparse connections between them."""
        n = self.config.n_hidden
        graph = torch.zeros(2 * n, 2 * n, dtype=torch.bool)
        graph[:n, :n] = graph[n:, n:] = True
        active = self.sparse.active()  # active[n][target, source]
        graph[n:, :n] = active[0].T  # from sub-network 1 (rows) into sub-network 0 (columns)
        graph[:n, n:] = active[1].T  # from sub-network 0 into sub-network 1
        return graph


def reference_readouts(model: GlobalModel, inputs: torch.Tensor) -> torch.Tensor:
    """Equation (3) as printed, sub-network by sub-network and step by step (the RNN cell), then the
    readouts: the plain reference that the fast path of ``GlobalModel.forward`` is tested against.
    inputs (batch, 2, n_inputs) -> readouts (batch, 2, n_classes)."""
    config = model.config
    if config.cell != "rnn":
        raise ValueError(f"the reference is equation (3), the rnn cell; got cell {config.cell!r}")
    w_sparse = model.sparse.weight()  # w_sparse[n] = W_sparse(m->n)
    h = [inputs.new_zeros(len(inputs), config.n_hidden) for _ in range(2)]
    for _ in range(config.n_steps):
        new = []
        for n in range(2):
            from_other = h[1 - n] @ w_sparse[n].T  # s(n) = W_sparse(m->n) h(m)
            if config.sparse_input == "through_recurrent":
                recurrent = (h[n] + from_other) @ model.w_hh[n].T
            else:
                recurrent = h[n] @ model.w_hh[n].T + from_other
            new.append(torch.tanh(inputs[:, n] @ model.w_ih[n].T + model.b_ih[n] + recurrent + model.b_hh[n]))
        h = new
    readouts = []
    for n in range(2):
        if config.bottleneck:
            readouts.append((h[n] @ model.w_hb[n].T + model.b_hb[n]) @ model.w_br[n].T + model.b_br[n])
        else:
            readouts.append(h[n] @ model.w_hr[n].T + model.b_hr[n])
    return torch.stack(readouts, dim=1)


def _per_subnetwork_linear(states: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """y(n) = weight(n) x(n) + bias(n) for both sub-networks as one product with a block-diagonal
    matrix: states (batch, 2, in), weight (2, out, in) -> (batch, 2, out)."""
    batch = states.shape[0]
    block = torch.block_diag(weight[0], weight[1])
    return torch.addmm(bias.reshape(-1), states.reshape(batch, -1), block.t()).view(batch, 2, -1)


def decide(readouts: torch.Tensor, rule: str = "max") -> tuple[torch.Tensor, torch.Tensor]:
    """Competitive max decision: mu = argmax_n max r(n); returns (r(mu), mu).

    ``rule="max_abs"`` compares max |r(n)| instead (the authors' code).
    """
    certainty = readouts.abs() if rule == "max_abs" else readouts
    chooser = certainty.amax(dim=2).argmax(dim=1)
    chosen = readouts[torch.arange(len(readouts), device=readouts.device), chooser]
    return chosen, chooser


def build_model(config: ModelConfig, seed: int) -> GlobalModel:
    """The model as initialised for ``seed``: the same seed always gives the same weights and connections."""
    return GlobalModel(config, derived_generators(seed)["init"])
