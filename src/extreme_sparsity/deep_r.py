"""Deep-R sparse connections between the two sub-networks (section 2.4; Bellec et al. 2018).

Each possible connection has a fixed sign s_ij and a parameter phi_ij; its weight is s_ij phi_ij
when phi_ij > 0 (active) and exactly 0 otherwise (dormant). Exactly K connections are active in
each direction at all times: after every gradient step, each active phi that fell to <= 0 is
replaced by a dormant one, drawn at random, that becomes active.
"""

from __future__ import annotations

import torch
from torch import nn


class SparseConnections(nn.Module):
    """W_sparse(1->0) (index 0) and W_sparse(0->1) (index 1), each (N target x N source)."""

    def __init__(self, n_hidden: int, n_active: int, init_bound: float, generator: torch.Generator):
        super().__init__()
        if not 1 <= n_active <= n_hidden * n_hidden:
            raise ValueError(f"n_active must lie in [1, {n_hidden * n_hidden}], got {n_active}")
        self.n_hidden, self.n_active = n_hidden, n_active
        # Initial weights U(-b, b) as for every weight of the model; a weight's sign is kept for good.
        initial = torch.empty(2, n_hidden, n_hidden).uniform_(-init_bound, init_bound, generator=generator)
        sign = torch.where(initial < 0, -1.0, 1.0)
        active = torch.zeros(2, n_hidden * n_hidden, dtype=torch.bool)
        for direction in range(2):
            chosen = torch.randperm(n_hidden * n_hidden, generator=generator)[:n_active]
            active[direction, chosen] = True
        active = active.view(2, n_hidden, n_hidden)
        magnitude = initial.abs().clamp_min(torch.finfo(initial.dtype).tiny)
        self.phi = nn.Parameter(torch.where(active, magnitude, torch.zeros_like(magnitude)))
        self.register_buffer("sign", sign)

    def weight(self) -> torch.Tensor:
        """Effective weights s * phi where phi > 0, else 0: shape (2, N, N)."""
        return self.sign * torch.relu(self.phi)

    def active(self) -> torch.Tensor:
        """Boolean mask of the active connections, shape (2, N, N)."""
        return self.phi.detach() > 0


class DeepR:
    """Adam on the active phi only, a random-walk step, then rewiring to keep K active per direction.

    Each connection keeps its own Adam moments and step count; a reactivated connection starts
    with a fresh Adam state at ``reactivation_value``. ``l1`` adds a constant shrinkage on active
    phi (Deep-R's l1 prior).
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
        self.noise_std, self.l1, self.reactivation_value = noise_std, l1, reactivation_value
        self.generator = generator
        phi = connections.phi
        self.exp_avg = torch.zeros_like(phi, requires_grad=False)
        self.exp_avg_sq = torch.zeros_like(phi, requires_grad=False)
        self.steps = torch.zeros_like(phi, requires_grad=False)
        self.n_rewired = 0

    @torch.no_grad()
    def step(self) -> int:
        """One Deep-R update; returns the number of connections rewired."""
        phi = self.connections.phi
        grad = phi.grad if phi.grad is not None else torch.zeros_like(phi)
        active = phi > 0
        beta1, beta2 = self.betas
        self.steps.add_(active.to(phi.dtype))
        self.exp_avg.copy_(torch.where(active, beta1 * self.exp_avg + (1 - beta1) * grad, self.exp_avg))
        self.exp_avg_sq.copy_(torch.where(active, beta2 * self.exp_avg_sq + (1 - beta2) * grad * grad, self.exp_avg_sq))
        steps = self.steps.clamp_min(1.0)
        corrected_avg = self.exp_avg / (1 - beta1**steps)
        corrected_sq = self.exp_avg_sq / (1 - beta2**steps)
        update = self.lr * (corrected_avg / (corrected_sq.sqrt() + self.eps) + self.l1)
        if self.noise_std > 0:
            update = update - self.noise_std * torch.randn(phi.shape, generator=self.generator, dtype=phi.dtype)
        phi.copy_(torch.where(active, phi - update, phi))
        return self._rewire(active)

    def _rewire(self, was_active: torch.Tensor) -> int:
        phi = self.connections.phi
        lost = (was_active & (phi <= 0)).flatten(1).sum(1).tolist()
        for direction, n_lost in enumerate(lost):
            if n_lost == 0:
                continue
            dormant = (phi[direction] <= 0).flatten().nonzero().squeeze(1)
            chosen = dormant[torch.randperm(len(dormant), generator=self.generator)[:n_lost]]
            for state, value in ((phi, self.reactivation_value), (self.exp_avg, 0.0), (self.exp_avg_sq, 0.0), (self.steps, 0.0)):
                state[direction].view(-1)[chosen] = value
        n_rewired = sum(lost)
        self.n_rewired += n_rewired
        return n_rewired

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
