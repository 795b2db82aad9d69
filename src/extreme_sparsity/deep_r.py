"""Deep-R sparse connections between the two sub-networks (section 2.4; Bellec et al. 2018).

Each possible connection has a fixed sign s_ij and a parameter phi_ij; its weight is s_ij phi_ij
when phi_ij > 0 (active) and exactly 0 otherwise (dormant). Exactly K connections are active in
each direction at all times: they occupy K slots, and after every gradient step each slot whose phi
fell to <= 0 is handed to a dormant connection drawn at random, which becomes active.

The bookkeeping works on the K slots only, so a step costs O(K), not O(N^2), except when a
connection is rewired.
"""

from __future__ import annotations

import torch
from torch import nn


INITS = ("uniform", "half_normal")


def initial_weights(shape: tuple[int, ...], init: str, bound: float, std: float, generator: torch.Generator) -> torch.Tensor:
    """Signed initial weights of every possible connection; the sign of each is kept for good.

    ``uniform``: U(-bound, bound), as every weight of the model. ``half_normal``: N(0, std^2), so
    that the magnitudes are |N(0, std^2)| and the signs +-1 with probability 1/2 each, independent
    of them: the authors' Deep-R code (|randn| / sqrt(N), std 0.1 at N = 100, signs of another randn).
    """
    if init == "uniform":
        return torch.empty(shape).uniform_(-bound, bound, generator=generator)
    if init == "half_normal":
        return torch.empty(shape).normal_(0.0, std, generator=generator)
    raise ValueError(f"init must be one of {INITS}, got {init!r}")


class SparseConnections(nn.Module):
    """W_sparse(1->0) (index 0) and W_sparse(0->1) (index 1), each (N target x N source).

    ``phi`` holds every possible connection (dormant ones exactly 0); ``active_index`` holds the
    flat indices of the K active connections of each direction.
    """

    def __init__(
        self,
        n_hidden: int,
        n_active: int,
        init_bound: float,
        generator: torch.Generator,
        init: str = "uniform",
        init_std: float = 0.1,
    ):
        super().__init__()
        n_possible = n_hidden * n_hidden
        if not 1 <= n_active <= n_possible:
            raise ValueError(f"n_active must lie in [1, {n_possible}], got {n_active}")
        self.n_hidden, self.n_active = n_hidden, n_active
        initial = initial_weights((2, n_possible), init, init_bound, init_std, generator)
        sign = torch.where(initial < 0, -1.0, 1.0)
        index = torch.stack([torch.randperm(n_possible, generator=generator)[:n_active] for _ in range(2)])
        phi = torch.zeros(2, n_possible)
        magnitude = initial.gather(1, index).abs().clamp_min(torch.finfo(initial.dtype).tiny)
        phi.scatter_(1, index, magnitude)
        self.phi = nn.Parameter(phi.view(2, n_hidden, n_hidden))
        self.register_buffer("sign", sign.view(2, n_hidden, n_hidden))
        self.register_buffer("active_index", index)

    def weight(self) -> torch.Tensor:
        """Effective weights s * phi where phi > 0, else 0: shape (2, N, N)."""
        return self.sign * torch.relu(self.phi)

    def active(self) -> torch.Tensor:
        """Boolean mask of the active connections, shape (2, N, N)."""
        return self.phi.detach() > 0


class DeepR:
    """Adam on the active phi only, a random-walk step, then rewiring to keep K active per direction.

    Each slot keeps its own Adam moments and step count; a reactivated connection starts with a
    fresh Adam state at ``reactivation_value``. ``l1`` adds a constant shrinkage lr * l1 on
    active phi (Deep-R's l1 prior). ``lr`` may be set between steps (the per-epoch decay of
    training.py); it scales the Adam step only: the shrinkage stays at the initial lr times ``l1``
    and the random walk at ``noise_std``, as in the authors' code, whose StepLR decays only Adam's lr.
    """

    def __init__(
        self,
        connections: SparseConnections,
        lr: float,
        betas: tuple[float, float],
        noise_std: float,
        l1: float,
        reactivation_value: float,
        generator: torch.Generator,
        eps: float = 1e-8,
    ):
        if reactivation_value <= 0:
            raise ValueError("reactivation_value must be > 0 so that a reactivated connection is active")
        self.connections = connections
        self.lr, self.betas, self.eps = lr, betas, eps
        self.initial_lr = lr  # the lr of the l1 shrinkage
        self.noise_std, self.l1, self.reactivation_value = noise_std, l1, reactivation_value
        self.generator = generator
        # Adam state per slot, on the device of the connections; the random draws are made on the
        # CPU generator (the same stream on every device) and moved.
        self.exp_avg = torch.zeros_like(connections.active_index, dtype=connections.phi.dtype)
        self.exp_avg_sq = torch.zeros_like(self.exp_avg)
        self.steps = torch.zeros_like(self.exp_avg)
        self.n_rewired = 0

    @torch.no_grad()
    def step(self) -> int:
        """One Deep-R update; returns the number of connections rewired."""
        connections = self.connections
        flat_phi = connections.phi.view(2, -1)
        index = connections.active_index
        grad = connections.phi.grad
        grad = grad.view(2, -1).gather(1, index) if grad is not None else torch.zeros_like(self.exp_avg)
        beta1, beta2 = self.betas
        self.steps += 1
        self.exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        corrected_avg = self.exp_avg / (1 - beta1**self.steps)
        corrected_sq = self.exp_avg_sq / (1 - beta2**self.steps)
        # l1 * (initial_lr / lr) keeps the shrinkage at initial_lr * l1 (the factor is exactly 1 until lr decays)
        l1 = self.l1 * (self.initial_lr / self.lr)
        phi = flat_phi.gather(1, index) - self.lr * (corrected_avg / (corrected_sq.sqrt() + self.eps) + l1)
        if self.noise_std > 0:
            phi += self.noise_std * torch.randn(phi.shape, generator=self.generator).to(phi.device)
        lost = phi <= 0
        n_rewired = int(lost.sum())
        if n_rewired:
            self._rewire(flat_phi, phi, lost)
        flat_phi.scatter_(1, index, phi)
        self.n_rewired += n_rewired
        return n_rewired

    def _rewire(self, flat_phi: torch.Tensor, phi: torch.Tensor, lost: torch.Tensor) -> None:
        """Hand each lost slot to a dormant connection drawn uniformly (the lost ones included)."""
        index = self.connections.active_index
        for direction in range(2):
            slots = lost[direction].nonzero().squeeze(1)
            if len(slots) == 0:
                continue
            flat_phi[direction, index[direction, slots]] = 0.0  # now dormant: weight exactly 0
            # i.i.d. uniform keys, occupied connections excluded: the top keys are a uniformly drawn
            # set of dormant connections (cheaper than torch.multinomial without replacement)
            keys = torch.rand(flat_phi.shape[1], generator=self.generator).to(flat_phi.device)
            keys[index[direction]] = -1.0
            keys[index[direction, slots]] = torch.rand(len(slots), generator=self.generator).to(flat_phi.device)
            chosen = torch.topk(keys, len(slots)).indices
            index[direction, slots] = chosen
            phi[direction, slots] = self.reactivation_value
            for state in (self.exp_avg, self.exp_avg_sq, self.steps):
                state[direction, slots] = 0.0

    def state_dict(self) -> dict:
        return {
            "exp_avg": self.exp_avg.clone(),
            "exp_avg_sq": self.exp_avg_sq.clone(),
            "steps": self.steps.clone(),
            "n_rewired": self.n_rewired,
        }

    def load_state_dict(self, state: dict) -> None:
        self.exp_avg.copy_(state["exp_avg"])
        self.exp_avg_sq.copy_(state["exp_avg_sq"])
        self.steps.copy_(state["steps"])
        self.n_rewired = int(state["n_rewired"])
