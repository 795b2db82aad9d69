"""Adadelta, Adam and SGD computed by torch's own update functions, without torch.optim.Optimizer.

Constructing any ``torch.optim.Optimizer`` imports ``torch._dynamo`` (0.7 s on a 2-core Intel
Xeon), which every job that trains weights, masks or readouts would pay once: 410 of the default
study's 522 jobs. These classes keep the per-parameter state themselves and call
``torch.optim.adadelta.adadelta``, ``torch.optim.adam.adam`` and ``torch.optim.sgd.sgd``, the
functions torch.optim's ``step`` calls, with the same arguments (on a GPU, torch's default kernels
for the device, as torch.optim picks them); so each step is torch.optim's arithmetic bit for bit
(tests/test_optimizers.py). Their ``state_dict`` has torch.optim's layout, so a resume file
written by either loads into the other.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch.optim.adadelta import adadelta
from torch.optim.adam import adam
from torch.optim.sgd import sgd


def _scalar_dtype() -> torch.dtype:
    # torch.optim keeps each step count in this dtype (float64 only when that is the default).
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


class FunctionalOptimizer:
    """One parameter group. ``param_groups[0]`` holds the parameters and the hyperparameters; its
    ``"lr"`` may be changed between steps, as with torch.optim. ``state`` maps each parameter that
    has taken a step to its buffers."""

    def __init__(self, params: Iterable[torch.Tensor], **hyperparameters: object):
        self.param_groups = [{"params": list(params), **hyperparameters}]
        self.state: dict[torch.Tensor, dict[str, torch.Tensor]] = {}

    @property
    def params(self) -> list[torch.Tensor]:
        return self.param_groups[0]["params"]

    def zero_grad(self) -> None:
        """Drop the gradients (torch.optim's ``zero_grad(set_to_none=True)``)."""
        for param in self.params:
            param.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        with_grad = [param for param in self.params if param.grad is not None]
        if with_grad:
            self._update(with_grad, self.param_groups[0])

    def _update(self, params: list[torch.Tensor], group: dict) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """torch.optim's layout: the state by parameter index, and the group with its indices."""
        index = {id(param): position for position, param in enumerate(self.params)}
        hyperparameters = {key: value for key, value in self.param_groups[0].items() if key != "params"}
        return {
            "state": {index[id(param)]: dict(buffers) for param, buffers in self.state.items()},
            "param_groups": [{**hyperparameters, "params": list(range(len(self.params)))}],
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a :meth:`state_dict` of this class or of the torch.optim optimizer it computes as;
        buffers move to their parameter's device and dtype, step counts stay on the CPU."""
        (saved_group,) = state_dict["param_groups"]
        if len(saved_group["params"]) != len(self.params):
            raise ValueError(f"the state is of {len(saved_group['params'])} parameters, this optimizer has {len(self.params)}")
        group = self.param_groups[0]
        for key in group.keys() - {"params"}:
            group[key] = saved_group.get(key, group[key])
        self.state = {
            self.params[index]: {
                name: value if name == "step" else value.to(dtype=self.params[index].dtype, device=self.params[index].device)
                for name, value in buffers.items()
            }
            for index, buffers in state_dict["state"].items()
        }

    def _buffers(self, param: torch.Tensor, *names: str) -> dict[str, torch.Tensor]:
        """The parameter's step count and zero-initialised ``names``, created on its first step."""
        if param not in self.state:
            self.state[param] = {
                "step": torch.zeros((), dtype=_scalar_dtype()),
                **{name: torch.zeros_like(param, memory_format=torch.preserve_format) for name in names},
            }
        return self.state[param]


def _has_complex(params: list[torch.Tensor]) -> bool:
    return any(torch.is_complex(param) for param in params)


# Each group also holds torch.optim's fixed settings (no weight decay, no foreach or fused choice:
# torch's default for the device), so that a state_dict loads into torch.optim as well.


class Adadelta(FunctionalOptimizer):
    """torch.optim.Adadelta(params, lr, rho, eps)."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6):
        super().__init__(
            params, lr=lr, rho=rho, eps=eps, weight_decay=0, foreach=None, capturable=False, maximize=False,
            differentiable=False,
        )

    def _update(self, params: list[torch.Tensor], group: dict) -> None:
        buffers = [self._buffers(param, "square_avg", "acc_delta") for param in params]
        adadelta(
            params, [param.grad for param in params], [b["square_avg"] for b in buffers],
            [b["acc_delta"] for b in buffers], [b["step"] for b in buffers],
            capturable=group["capturable"], foreach=group["foreach"], differentiable=group["differentiable"],
            has_complex=_has_complex(params), lr=group["lr"], rho=group["rho"], eps=group["eps"],
            weight_decay=group["weight_decay"], maximize=group["maximize"],
        )


class Adam(FunctionalOptimizer):
    """torch.optim.Adam(params, lr, betas, eps)."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        super().__init__(
            params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=0, amsgrad=False, maximize=False, foreach=None,
            capturable=False, differentiable=False, fused=None, decoupled_weight_decay=False,
        )

    def _update(self, params: list[torch.Tensor], group: dict) -> None:
        buffers = [self._buffers(param, "exp_avg", "exp_avg_sq") for param in params]
        beta1, beta2 = group["betas"]
        adam(
            params, [param.grad for param in params], [b["exp_avg"] for b in buffers],
            [b["exp_avg_sq"] for b in buffers], [], [b["step"] for b in buffers],
            foreach=group["foreach"], capturable=group["capturable"], differentiable=group["differentiable"],
            fused=group["fused"], grad_scale=None, found_inf=None, has_complex=_has_complex(params),
            decoupled_weight_decay=group["decoupled_weight_decay"], amsgrad=group["amsgrad"], beta1=beta1,
            beta2=beta2, lr=group["lr"], weight_decay=group["weight_decay"], eps=group["eps"], maximize=group["maximize"],
        )


class SGD(FunctionalOptimizer):
    """torch.optim.SGD(params, lr, momentum, weight_decay)."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float, momentum: float = 0, weight_decay: float = 0):
        super().__init__(
            params, lr=lr, momentum=momentum, weight_decay=weight_decay, dampening=0, nesterov=False,
            maximize=False, foreach=None, differentiable=False, fused=None,
        )

    def _update(self, params: list[torch.Tensor], group: dict) -> None:
        momentum = group["momentum"]
        # As torch.optim.SGD: momentum buffers only with momentum, created by sgd() on the first step.
        buffers = [self.state.get(param, {}).get("momentum_buffer") for param in params] if momentum != 0 else []
        sgd(
            params, [param.grad for param in params], buffers,
            has_sparse_grad=any(param.grad.is_sparse for param in params), foreach=group["foreach"],
            fused=group["fused"], grad_scale=None, found_inf=None, weight_decay=group["weight_decay"],
            momentum=momentum, lr=group["lr"], dampening=group["dampening"], nesterov=group["nesterov"],
            maximize=group["maximize"],
        )
        for param, buffer in zip(params, buffers):
            self.state[param] = {"momentum_buffer": buffer}
