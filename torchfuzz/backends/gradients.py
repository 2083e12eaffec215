"""Gradients of a program, for the backward variants: one fixed vector-Jacobian product.

Every floating-point tensor input becomes a leaf that requires grad.  The "loss" is
``sum_i (outputs[i] * w_i).sum()`` over the floating-point tensor outputs that require
grad, taken as ``torch.autograd.grad(outputs, leaves, grad_outputs=w)`` so that no loss
tensor is formed: its reduction would round outside the program and differently in
float64.  The weights ``w_i`` are fixed, not drawn:

* non-uniform, so a backward that ignores, permutes or broadcasts the incoming
  gradient differs from eager (a plain ``.sum()`` would not see it, and the gradient
  of ``softmax(x).sum()`` is zero);
* positive and of order 1, so they add no cancellation of their own;
* multiples of 1/8 in [0.5, 1.5], exact in every floating dtype, so eager, compiled
  and the float64 reference differentiate against the very same cotangent.

A program that is a module holding state (``torch.nn`` submodules, see
``torchfuzz.backends.module_state``) has its floating-point parameters made to require
grad too (:func:`state_parameters`); their gradients follow the inputs' ones.

An input the outputs do not depend on gets a zero gradient (autograd's ``None`` and
a compiled graph's zeros mean the same).  The weights depend on the output position
only, never on the seed.  Eager, the fp64 reference, compiled runs and the standalone
scripts (which copy this module verbatim) all use these functions.  Only torch is
imported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def requiring_grad(inputs: Sequence[object]) -> list[object]:
    """The inputs with each floating-point tensor replaced by a leaf requiring grad."""
    return [
        x.detach().requires_grad_(True)
        if isinstance(x, torch.Tensor) and x.is_floating_point()
        else x
        for x in inputs
    ]


def gradient_weights(output: torch.Tensor, index: int) -> torch.Tensor:
    """The cotangent of output ``index``: multiples of 1/8 in [0.5, 1.5], in its dtype."""
    k = torch.arange(output.numel(), dtype=torch.float64)
    weights = 0.5 + torch.remainder(k * 5 + index * 3, 9) / 8
    return weights.reshape(output.shape).to(output.dtype)


def differentiable_outputs(outputs: Sequence[object]) -> list[int]:
    """Positions of the floating-point tensor outputs that require grad."""
    return [
        i
        for i, out in enumerate(outputs)
        if isinstance(out, torch.Tensor) and out.is_floating_point() and out.requires_grad
    ]


def input_gradients(outputs: Sequence[object], inputs: Sequence[object]) -> tuple:
    """The gradient of the weighted output sum for each input that requires grad."""
    leaves = [x for x in inputs if isinstance(x, torch.Tensor) and x.requires_grad]
    chosen = differentiable_outputs(outputs)
    grads: Sequence[torch.Tensor | None] = [None] * len(leaves)
    if leaves and chosen:
        grads = torch.autograd.grad(
            [outputs[i] for i in chosen],
            leaves,
            grad_outputs=[gradient_weights(outputs[i], i) for i in chosen],
            allow_unused=True,
        )
    return tuple(torch.zeros_like(x) if g is None else g for x, g in zip(leaves, grads))


def state_parameters(fn: object) -> list[torch.Tensor]:
    """The floating-point parameters of ``fn`` (an ``nn.Module``; none otherwise), made to
    require grad, in ``fn.parameters()`` order."""
    params = fn.parameters() if isinstance(fn, torch.nn.Module) else ()
    return [p.requires_grad_(True) for p in params if p.is_floating_point()]


def with_gradients(fn: Callable[..., object], inputs: Sequence[object]) -> tuple[tuple, tuple]:
    """(outputs, gradients) of ``fn`` called with its float inputs as leaves: the inputs'
    gradients, then its state parameters' (:func:`state_parameters`)."""
    leaves = requiring_grad(inputs)
    params = state_parameters(fn)
    with torch.enable_grad():
        outputs = fn(*leaves)
        outputs = tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)
        return outputs, input_gradients(outputs, [*leaves, *params])
