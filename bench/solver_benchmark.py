"""DS3 solver speed and quality (issue: solver): working-set ADMM, all-rows ADMM and cvxpy.

For each K and solver: seconds (median of --repeats; cvxpy --cvxpy-repeats), ADMM
iterations, working-set rows, representatives, the eq.-8 objective, its relative gap to
cvxpy (Clarabel when run, else SCS), the solver's certified gap (objective minus a dual
bound, no cvxpy needed), peak memory during the solve (and what the solve added), the
speed-up over all-rows ADMM timed in the same run, how many of the first --batch selected
pairs agree with the all-rows solution, and how far (in nearest-neighbour rank) candidates
sit from their representatives. A second table gives the cost of building A, D and lambda.

Synthetic instances: unit-norm 300-d pair embeddings around 10 random centres (nearest-
neighbour and typical dissimilarities like a trained pool's), a quarter as many labelled
pairs for the diversity penalty, lambda = sparsity_weight(A, alpha). With --data, also the
first K pairs of the pool of a model trained --epochs on 20% seeds of a real benchmark.

Timings depend on load: two torch threads slow down by 10-100x when other processes keep the
two cores busy (thread hand-offs stall), so on a busy machine pass --threads 1.

    .venv/bin/python -m bench.solver_benchmark --sizes 100 300 1000 3000 10000 \
        --skip-cvxpy-above 1000 --data ../shared/data/FB15K237-DB15K --real-sizes 1000 3000 --threads 1
"""
from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import numpy as np
import torch
from torch.nn import functional as F

from almea.selection.dissimilarity import dissimilarity_matrix, diversity_penalty, sparsity_weight
from almea.selection.ds3 import ds3_admm, ds3_objective, representatives
from almea.selection.ds3_reference import ds3_cvxpy

CVXPY_SOLVERS = ("CLARABEL", "SCS")
T = TypeVar("T")


@dataclass
class Memory:
    """Peak memory while a call ran: total, and how much the call added (MB)."""

    peak: float
    added: float

    def __str__(self) -> str:
        return f"{self.peak:.0f} (+{self.added:.0f})"


@dataclass
class Instance:
    name: str
    A: torch.Tensor
    D: torch.Tensor
    lam: float
    build_seconds: float
    """Time to build A, D and lambda from the pair embeddings."""
    build_memory: Memory


@dataclass
class Row:
    solver: str
    seconds: float
    iterations: str
    rows: str
    objective: float
    certified: str
    memory: Memory
    chosen: np.ndarray
    rank: str = ""


def rss_mb() -> tuple[float, float]:
    """(current, peak since the last reset) resident memory of this process, MB (Linux)."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def measured(call: Callable[[], T], device: torch.device) -> tuple[float, Memory, T]:
    """(seconds, peak memory, result) of ``call``; on CPU the peak is Linux's VmHWM, reset first."""
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated() / 2**20
    else:
        ctypes.CDLL("libc.so.6").malloc_trim(0)                        # hand freed heap back first
        Path("/proc/self/clear_refs").write_text("5")                 # reset VmHWM to VmRSS
        base = rss_mb()[0]
    started = time.perf_counter()
    result = call()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    peak = torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else rss_mb()[1]
    return seconds, Memory(peak, peak - base), result


def instance(
    name: str, pairs: tuple[torch.Tensor, torch.Tensor], labelled: tuple[torch.Tensor, torch.Tensor], alpha: float,
    device: torch.device,
) -> Instance:
    """Eq.-5 A, eq.-7 D and B.3's lambda of ``pairs`` (source, target) embeddings, timed."""
    def build() -> tuple[torch.Tensor, torch.Tensor, float]:
        A = dissimilarity_matrix(*pairs)
        return A, diversity_penalty(*pairs, *labelled), sparsity_weight(A, alpha)

    seconds, memory, (A, D, lam) = measured(build, device)
    return Instance(name, A, D, lam, seconds, memory)


def clustered_instance(k: int, seed: int, alpha: float, device: torch.device, clusters: int = 10) -> Instance:
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(clusters, 300, generator=g)
    labels = torch.randint(clusters, (k + k // 4,), generator=g)
    h_source, h_target = (
        F.normalize(centres[labels] + torch.randn(len(labels), 300, generator=g), dim=1).to(device) for _ in range(2)
    )
    return instance("clustered", (h_source[:k], h_target[:k]), (h_source[k:], h_target[k:]), alpha, device)


def real_pools(args: argparse.Namespace, device: torch.device) -> Iterator[Instance]:
    """The first K pairs (the pool capped at K) of a model trained for --epochs on 20% seeds."""
    from almea.data import load_dataset
    from almea.features import FeatureConfig
    from almea.model.config import ModelConfig, TrainConfig
    from almea.selection.pool import candidate_pool
    from almea.training.pipeline import build_model
    from almea.training.split import split_links
    from almea.training.trainer import Trainer

    pair = load_dataset(args.data, args.layout)
    model, inputs = build_model(pair, FeatureConfig(), ModelConfig(), str(device), seed=0)
    labelled = split_links(pair.links, 0.8, seed=0).base(0.2)
    config = TrainConfig(epochs=args.epochs, eval_every=0, device=str(device))
    Trainer(model, inputs, config, progress=False).fit(labelled)
    model.eval()
    with torch.no_grad():
        emb = F.normalize(model.embed(inputs).float(), dim=1)
    sources = np.setdiff1d(np.arange(pair.n1), labelled[:, 0])
    targets = np.setdiff1d(np.arange(pair.n1, pair.n_entities), labelled[:, 1])
    pool = candidate_pool(emb, sources, targets, k=10, k_max=max(args.real_sizes))
    for k in args.real_sizes:
        pairs = emb[pool.pairs[:k, 0]], emb[pool.pairs[:k, 1]]
        yield instance(f"{pair.name} ({args.epochs} epochs)", pairs, (emb[labelled[:, 0]], emb[labelled[:, 1]]),
                       args.alpha, device)


def instances(args: argparse.Namespace, device: torch.device) -> Iterator[Instance]:
    """One at a time, so only one K x K matrix is alive."""
    for k in args.sizes:
        yield clustered_instance(k, args.seed, args.alpha, device)
    if args.data:
        yield from real_pools(args, device)


def neighbour_rank(A: torch.Tensor, Z_rows: torch.Tensor, rows: torch.Tensor) -> str:
    """Median / largest rank of each candidate's main representative among its nearest
    candidates (0 = itself): the m a nearest-m support restriction would need."""
    main = rows[Z_rows.argmax(dim=0)]                                    # (K,)
    closer = (A < A.gather(0, main[None, :])).sum(dim=0).float()
    return f"{float(closer.median()):.0f} / {float(closer.max()):.0f}"


def run_admm(problem: Instance, working_set: bool, repeats: int, device: torch.device) -> Row:
    runs = [measured(lambda: ds3_admm(problem.A, problem.D, problem.lam, working_set=working_set), device)
            for _ in range(repeats)]
    result = runs[-1][2]
    return Row(
        solver="ADMM, working set" if working_set else "ADMM, all rows",
        seconds=statistics.median(r[0] for r in runs),
        iterations=f"{result.iterations}{'' if result.converged else ' (cap)'}",
        rows=str(len(result.rows)),
        objective=result.objective,
        certified=f"{result.gap:.1e}",
        memory=max((r[1] for r in runs), key=lambda m: m.peak),
        chosen=representatives(result),
        rank=neighbour_rank(problem.A, result.Z_rows, result.rows) if working_set else "",
    )


def run_cvxpy(problem: Instance, solver: str, repeats: int, device: torch.device) -> Row:
    runs = [measured(lambda: ds3_cvxpy(problem.A, problem.D, problem.lam, solver=solver), device)
            for _ in range(repeats)]
    Z = torch.from_numpy(runs[-1][2])
    # Interior-point and SCS solutions are feasible only to their tolerance: project the
    # columns back (as ADMM's are) so the objectives compare like for like.
    Z = Z.clamp(min=0)
    Z = Z / Z.sum(dim=0, keepdim=True)
    return Row(
        solver=f"cvxpy {solver}",
        seconds=statistics.median(r[0] for r in runs),
        iterations="",
        rows="",
        objective=ds3_objective(Z, problem.A, problem.D, problem.lam),
        certified="",
        memory=max((r[1] for r in runs), key=lambda m: m.peak),
        chosen=representatives(Z),
    )


def batch(chosen: np.ndarray, k: int, n: int) -> set[int]:
    """The first ``n`` pool indices ds3_selection would ask: representatives, then the pool."""
    return set(np.concatenate([chosen, np.setdiff1d(np.arange(k), chosen)])[:n].tolist())


def report(problem: Instance, rows: list[Row], n_batch: int) -> None:
    k = problem.A.shape[0]
    reference = next((r for r in rows if r.solver.startswith("cvxpy")), None)
    all_rows = next((r for r in rows if r.solver == "ADMM, all rows"), None)
    for row in rows:
        gap = f"{(row.objective - reference.objective) / abs(reference.objective):.1e}" if reference else "n/a"
        speedup = f"{all_rows.seconds / row.seconds:.1f}x" if all_rows else "n/a"
        shared = len(batch(row.chosen, k, n_batch) & batch(all_rows.chosen, k, n_batch)) if all_rows else None
        same = f"{shared / min(n_batch, k):.0%}" if all_rows else "n/a"
        print(
            f"| {k} | {problem.name} | {row.solver} | {row.seconds:.3f} | {row.iterations} | {row.rows} | "
            f"{len(row.chosen)} | {row.objective:.4f} | {gap} | {row.certified} | {row.memory} | {speedup} | "
            f"{same} | {row.rank} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000, 3000, 10000])
    parser.add_argument("--alpha", type=float, default=0.35)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per ADMM solve (median)")
    parser.add_argument("--cvxpy-repeats", type=int, default=1, help="timed runs per cvxpy solve (median)")
    parser.add_argument("--cvxpy", nargs="*", default=list(CVXPY_SOLVERS), help="cvxpy solvers to run")
    parser.add_argument("--skip-cvxpy-above", type=int, default=1000)
    parser.add_argument("--all-rows-above", type=int, default=1000, help="largest K for all-rows ADMM")
    parser.add_argument("--data", type=Path, help="real benchmark folder for a trained pool")
    parser.add_argument("--layout", default="openea")
    parser.add_argument("--epochs", type=int, default=5, help="training epochs for the real pool")
    parser.add_argument("--real-sizes", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--batch", type=int, default=127, help="pairs per round compared between solutions")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(
        f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"load average {os.getloadavg()[0]:.1f}, alpha {args.alpha}, float32; memory MB = peak "
        f"{'CUDA allocation' if device.type == 'cuda' else 'RSS'} during the call (+ what the call added)\n"
    )
    print("| K | instance | solver | seconds | iterations | rows | representatives | objective | "
          "gap to cvxpy | certified gap | memory MB | speed-up vs all rows | same first batch as all rows | "
          "representative's neighbour rank (median / max) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    built = []
    for problem in instances(args, device):
        k = problem.A.shape[0]
        built.append(f"| {k} | {problem.name} | {problem.build_seconds:.2f} | {problem.build_memory} | "
                     f"{problem.A.numel() * problem.A.element_size() / 2**20:.0f} |")
        # ADMM first: cvxpy leaves freed memory behind that would hide ADMM's peak.
        rows = [run_admm(problem, True, args.repeats, device)]
        if k <= args.all_rows_above:
            rows.insert(0, run_admm(problem, False, args.repeats, device))
        if k <= args.skip_cvxpy_above:
            rows[:0] = [run_cvxpy(problem, solver, args.cvxpy_repeats, device) for solver in args.cvxpy]
        report(problem, rows, args.batch)
    print("\n| K | instance | seconds to build A, D, lambda | memory MB | A MB |\n|---|---|---|---|---|")
    print("\n".join(built))


if __name__ == "__main__":
    main()
