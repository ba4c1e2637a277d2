"""The PyTorch peer: zuko's `RealNVP` (CPU) trained as the issue's protocol says.

    flow = zuko.flows.RealNVP(D, transforms=8, hidden_features=(256, 256))   alternating masks,
    Adam(lr 1e-3), batch 256 (shuffled, last partial batch dropped, as tfnvp does), best of 60
    epochs on the validation NLL, restored for the test figure.

zuko's coupling: y = exp(a) x + b with a soft-clipped to |a| < -log(1e-3); no batch norm, no L2.
Without torch or zuko installed (`pip install -e '.[bench]'`) `available()` says why.
"""
import copy
import time

import numpy as np

from benchmarks.peers import PROTOCOL, batch_size_for, examples_per_s

__all__ = ["available", "train"]


def available():
    """None if torch and zuko import, else the reason they do not."""
    try:
        import torch  # noqa: F401
        import zuko  # noqa: F401
    except ImportError as error:
        return f"zuko peer skipped: {error} (install the extra: pip install -e '.[bench]')"
    return None


def train(data, seed=0, epochs=None, threads=None, **settings):
    """Train zuko's RealNVP on `data` (a `benchmarks.real_data.RealData` of vectors) -> result
    dict (see `benchmarks.peers`). `settings` override `PROTOCOL` keys; `threads`: torch's
    intra-op threads (None: torch's default)."""
    import torch
    import zuko

    if threads:
        torch.set_num_threads(int(threads))

    protocol = {**PROTOCOL, **settings, **({"epochs": epochs} if epochs else {})}
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    train_x, validation_x, test_x = (torch.from_numpy(np.asarray(a, np.float32))
                                     for a in (data.train, data.validation, data.test))
    batch = batch_size_for(len(train_x), protocol["batch_size"])
    flow = zuko.flows.RealNVP(train_x.shape[1], transforms=protocol["couplings"],
                              hidden_features=(protocol["hidden_units"],)
                              * protocol["hidden_layers"])
    optimizer = torch.optim.Adam(flow.parameters(), lr=protocol["lr"])

    def nll(x):
        with torch.no_grad():
            return float(torch.cat([-flow().log_prob(b) for b in x.split(4096)]).mean())

    result = {"peer": "zuko", "run": "zuko", "seed": seed, "batch_size": batch,
              "threads": torch.get_num_threads(),
              "train_nll": [], "validation_nll": [], "error": None}
    best, best_state, train_seconds, start = np.inf, None, [], time.perf_counter()
    steps = len(train_x) // batch
    for _ in range(protocol["epochs"]):
        tic = time.perf_counter()
        flow.train()
        order = torch.randperm(len(train_x), generator=generator)
        losses = []
        for step in range(steps):
            loss = -flow().log_prob(train_x[order[step * batch:(step + 1) * batch]]).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        train_seconds.append(time.perf_counter() - tic)
        flow.eval()
        validation = nll(validation_x)
        result["train_nll"].append(float(np.mean(losses)))
        result["validation_nll"].append(validation)
        if np.isfinite(validation) and validation < best:
            best, best_state = validation, copy.deepcopy(flow.state_dict())
            result["best_epoch"] = len(result["validation_nll"])
    if best_state is None:
        result.update(test_nll=float("nan"), best_epoch=None,
                      error="no finite validation NLL in any epoch")
    else:
        flow.load_state_dict(best_state)
        result["test_nll"] = nll(test_x)
    epochs_run = len(result["train_nll"])
    result.update(epochs_run=epochs_run, seconds=time.perf_counter() - start,
                  train_examples_per_s=examples_per_s(steps * batch, train_seconds))
    return result
