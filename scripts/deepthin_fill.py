"""How DeepThin's fit treats the free entries past ``m n``: zero fill against the method's fit.

Prints the relative error ``||W - W_hat||_F / ||W||_F`` of both on (a) a kernel that is exactly
rank ``r`` at its auxiliary shape and (b) kernels with a power-law spectrum plus noise, as trained
kernels have. The numbers are quoted in ``deepthin/methods/deepthin.py`` (fitting).
"""

import numpy as np

from deepthin.layers import CompressedDense
from deepthin.methods.deepthin import materialize
from deepthin.methods.fitting import best_rank_factors, relative_error


def trained_like(m: int, n: int, rng: np.random.Generator) -> np.ndarray:
    u, _ = np.linalg.qr(rng.normal(size=(m, min(m, n))))
    v, _ = np.linalg.qr(rng.normal(size=(n, min(m, n))))
    s = (1 + np.arange(min(m, n))) ** -0.7
    return (u * s) @ v.T + 0.01 * rng.normal(size=(m, n)) / np.sqrt(n)


def errors(kernel: np.ndarray, ratio: float, policy: str) -> tuple[float, float, str]:
    """(zero fill, method's fit, plan) relative errors."""
    m, n = kernel.shape
    layer = CompressedDense(n, method="deepthin", ratio=ratio, method_options={"policy": policy})
    layer.build((None, m))
    matrix, plan = layer.kernel_matrix, layer.kernel_matrix.plan
    layout = np.zeros(plan.m_aux * plan.n_aux)
    layout[: m * n] = kernel.ravel()
    x, y = best_rank_factors(layout.reshape(plan.m_aux, plan.n_aux), plan.rank)
    zero = relative_error(kernel, np.asarray(materialize(x, y, (m, n))))
    return zero, matrix.fit_to(kernel), f"{plan.m_aux}x{plan.n_aux} r={plan.rank}"


def main() -> None:
    rng = np.random.default_rng(0)
    layer = CompressedDense(64, method="deepthin", ratio=0.2)
    layer.build((None, 48))
    plan = layer.kernel_matrix.plan
    exact = np.asarray(materialize(rng.normal(size=(plan.m_aux, plan.rank)),
                                   rng.normal(size=(plan.rank, plan.n_aux)), (48, 64)))
    zero, fit, _ = errors(exact, 0.2, "paper")
    print(f"exactly rank r at 48x64, ratio 0.2, paper: zero fill {zero:.2e}, fit {fit:.2e}")
    for shape in ((440, 512), (512, 512)):
        kernel = trained_like(*shape, rng)
        for policy in ("paper", "aligned"):
            for ratio in (0.02, 0.1):
                zero, fit, aux = errors(kernel, ratio, policy)
                print(f"{shape[0]}x{shape[1]} {policy:7s} ratio {ratio:<4} aux {aux}: zero fill {zero:.5f}, "
                      f"fit {fit:.5f}, difference {zero - fit:.1e}")


if __name__ == "__main__":
    main()
