"""Gradient-based criteria: a sample matters if its loss gradient is large or hard to stand in for.

EL2N and GraNd score each sample by the size of its error / loss gradient (Paul et al. 2021, "Deep
Learning on a Data Diet"); CRAIG picks a weighted subset whose gradients match the full-data
gradient via facility location on per-sample gradient features (Mirzasoleiman et al. 2020,
"Coresets for Data-efficient Training of Machine Learning Models"). Higher score = kept first.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call, grad, vmap
from tqdm.auto import tqdm

from distill_lab._validation import (check_array_2d, check_chunk_size, check_labels, check_subset,
                                     is_int, resolve_budget)
from distill_lab.criteria.entropy import check_probs

__all__ = ["el2n", "grand_last_layer", "gradient_features", "per_sample_grads", "grand", "craig",
           "craig_bound"]

PARAMS = ("all", "last")


def _check_probs_y(probs, y):
    """Validate probs (n, C) and labels y (n,) with every label in [0, C)."""
    probs = check_probs(probs)
    y = check_labels(y, n_samples=len(probs))
    _check_label_range(y, probs.shape[1])
    return probs, y


def _check_label_range(y, n_classes):
    if y.size and y.max() >= n_classes:
        raise ValueError(f"y holds label {int(y.max())} but there are only {n_classes} classes; "
                         f"labels must lie in [0, {n_classes - 1}]")


def _check_embeddings(embeddings, n_samples):
    embeddings = check_array_2d(embeddings, name="embeddings")
    if len(embeddings) != n_samples:
        raise ValueError(f"embeddings must have one row per sample, got {len(embeddings)} rows "
                         f"for {n_samples} samples in probs")
    return embeddings


def _residual(probs, y):
    """p_i - onehot(y_i), shape (n, C): the gradient of cross-entropy w.r.t. the logits."""
    res = probs.copy()
    res[np.arange(len(y)), y] -= 1.0
    return res


def el2n(probs, y) -> np.ndarray:
    """EL2N score ||p_i - onehot(y_i)||_2 (Paul et al. 2021), shape (n,); in [0, sqrt(2)]."""
    probs, y = _check_probs_y(probs, y)
    return np.linalg.norm(_residual(probs, y), axis=1)


def grand_last_layer(probs, y, embeddings=None) -> np.ndarray:
    """Closed-form norm of the per-sample cross-entropy gradient w.r.t. the last linear layer.

    With logits z = W h + b (W: (C, H), b: (C,)), p = softmax(z) and l = -log p_y, the chain rule
    gives dl/dz = p - e_y, hence dl/db = p - e_y and dl/dW = (p - e_y) h^T, an outer product whose
    Frobenius norm is ||p - e_y|| ||h||. Summing the squares of both blocks:

        ||grad_(W,b) l||^2 = ||p - e_y||^2 ||h||^2 + ||p - e_y||^2
        ||grad_(W,b) l||   = ||p - e_y|| sqrt(||h||^2 + 1).

    `embeddings` holds h, the input of the last linear layer (n, H). Without it only the bias block
    is counted and the result equals `el2n`. Returns shape (n,).
    """
    probs, y = _check_probs_y(probs, y)
    err = np.linalg.norm(_residual(probs, y), axis=1)  # (n,)
    if embeddings is None:
        return err
    h = _check_embeddings(embeddings, len(probs))
    return err * np.sqrt(np.sum(h * h, axis=1) + 1.0)


def gradient_features(probs, y, embeddings=None) -> np.ndarray:
    """Per-sample last-layer gradients: the cheap gradient proxy of CRAIG (Mirzasoleiman et al.).

    Without `embeddings`: p - onehot(y), shape (n, C) (the gradient w.r.t. the logits, or the bias).
    With embeddings h (n, H): the full gradient w.r.t. the last nn.Linear, shape (n, C*(H+1)),
    laid out as torch flattens (weight, bias): [vec((p - e_y) h^T) row-major, p - e_y]. It then
    equals `per_sample_grads(model, X, y, params="last")` for a model ending in that layer.
    """
    probs, y = _check_probs_y(probs, y)
    res = _residual(probs, y)  # (n, C)
    if embeddings is None:
        return res
    h = _check_embeddings(embeddings, len(probs))
    weight_grad = res[:, :, None] * h[:, None, :]  # (n, C, H)
    return np.concatenate([weight_grad.reshape(len(res), -1), res], axis=1)


def _last_layer(model):
    """(name, module) of the last layer: `model.classifier`, else the last module with weights."""
    if isinstance(getattr(model, "classifier", None), torch.nn.Module):
        return "classifier", model.classifier
    found = None
    for name, module in model.named_modules():  # registration order, which nn.Sequential follows
        if any(True for _ in module.parameters(recurse=False)):
            found = (name, module)
    if found is None:
        raise ValueError(f"model {type(model).__name__} has no parameters")
    return found


def _param_names(model, params):
    if params == "all":
        return [name for name, p in model.named_parameters() if p.requires_grad]
    if params == "last":
        prefix, module = _last_layer(model)
        return [f"{prefix}.{name}" if prefix else name for name, _ in module.named_parameters()]
    raise ValueError(f"params={params!r} is not supported; allowed values are {PARAMS}")


def _as_input_tensor(X, dtype):
    """X (array or tensor) -> a finite 2-D tensor in the model's dtype (left where it lives)."""
    if isinstance(X, torch.Tensor):
        X = X.detach()
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features) flat inputs, got shape "
                             f"{tuple(X.shape)}; flatten images first, e.g. X.reshape(len(X), -1)")
        if X.shape[0] == 0 or not torch.isfinite(X).all():
            raise ValueError(f"X must be non-empty and finite, got shape {tuple(X.shape)} with "
                             f"{int((~torch.isfinite(X)).sum())} NaN or infinite value(s)")
        return X.to(dtype)
    return torch.as_tensor(check_array_2d(X, name="X"), dtype=dtype)


def _grad_chunks(model, X, y, params, batch_size, verbose):
    """Yield exact per-sample gradients (B, P) chunk by chunk, so callers need not hold (n, P)."""
    if not is_int(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    first = next(model.parameters(), None)
    if first is None:
        raise ValueError(f"model {type(model).__name__} has no parameters to differentiate")
    names = _param_names(model, params)
    device, dtype = first.device, first.dtype
    X = _as_input_tensor(X, dtype)
    y = check_labels(y, n_samples=len(X))
    named = dict(model.named_parameters())
    theta = {name: named[name].detach() for name in names}  # the parameters we differentiate
    rest = {name: p.detach() for name, p in named.items() if name not in theta}
    rest.update({name: b.detach() for name, b in model.named_buffers()})

    def sample_loss(theta, x, t):  # x: (d,), t: () -> scalar loss of one sample
        logits = functional_call(model, (theta, rest), (x.unsqueeze(0),))  # (1, C)
        return F.cross_entropy(logits, t.unsqueeze(0))

    per_sample = vmap(grad(sample_loss), in_dims=(None, 0, 0))
    was_training = model.training
    model.eval()  # one sample at a time: dropout off, BatchNorm on running statistics
    try:
        with torch.no_grad():
            n_classes = model(X[:1].to(device)).shape[1]
        _check_label_range(y, n_classes)
        y_t = torch.as_tensor(y)
        for start in tqdm(range(0, len(X), batch_size), disable=not verbose,
                          desc="per-sample gradients"):
            xb = X[start:start + batch_size].to(device)  # (B, d)
            yb = y_t[start:start + batch_size].to(device)  # (B,)
            grads = per_sample(theta, xb, yb)  # name -> (B, *param.shape)
            yield torch.cat([grads[name].reshape(len(xb), -1) for name in names], dim=1)
    finally:
        model.train(was_training)


def per_sample_grads(model, X, y, *, params="all", batch_size=256, verbose=False) -> torch.Tensor:
    """Exact per-sample gradients of the cross-entropy loss, shape (n, P), via torch.func.

    `params="all"` differentiates every parameter that requires grad; `"last"` only the last layer
    (`model.classifier` when the model has one, else the last module holding parameters). Columns
    follow `model.named_parameters()` order, each parameter flattened row-major. X holds flat inputs
    (n, d) as an array or tensor; chunks of `batch_size` are moved to the model's device. The model
    runs in eval mode and its mode is restored afterwards. The result lives on the model's device.
    """
    chunks = list(_grad_chunks(model, X, y, params, batch_size, verbose))
    return torch.cat(chunks, dim=0)


def grand(model, X, y, *, params="all", batch_size=256, verbose=False) -> np.ndarray:
    """GraNd score E_theta ||grad_theta l(x_i, y_i)||_2 (Paul et al. 2021), shape (n,).

    Paul et al. take the expectation over several early-training models from independent
    initializations; pass a list of models to average the per-model norms (the mean of the norms,
    not the norm of the mean). One model gives its plain per-sample gradient norm. Gradients are
    reduced chunk by chunk, so the (n, P) matrix is never held in memory.
    """
    models = list(model) if isinstance(model, (list, tuple)) else [model]
    if not models:
        raise ValueError("model must be a torch.nn.Module or a non-empty list of them, got []")
    total = None
    for m in models:
        norms = torch.cat([g.norm(dim=1) for g in _grad_chunks(m, X, y, params, batch_size,
                                                                 verbose)])
        norms = norms.detach().cpu().double().numpy()
        total = norms if total is None else total + norms
    return total / len(models)


def craig(G, budget, *, similarity="rbf", gamma=None, optimizer="lazy", epsilon=0.01,
          random_state=None, return_objective=False):
    """CRAIG-style weighted coreset: facility location on per-sample gradient features G (n, P).

    Mirzasoleiman et al. (2020) bound the gradient discrepancy ||sum_i g_i - sum_{j in S} w_j g_j||
    by sum_i min_{j in S} ||g_i - g_j||; turning distance into similarity makes shrinking that bound
    a facility-location maximisation, solved greedily by
    `distill_lab.criteria.facility_dense.facility_location` (`similarity` and its `gamma`,
    `optimizer` "lazy" or "stochastic" and its `epsilon` are passed on to it).
    w_j = the number of samples that pick j represents (sum = n). Use `gradient_features` for G.
    Returns (indices (k,) int64 in selection order, weights (k,) float64), and with
    `return_objective=True` the facility-location value F(indices) as well.
    """
    G = check_array_2d(G, name="G")  # float32 stays float32: FL's cost scales with the itemsize
    k = resolve_budget(budget, len(G))
    from distill_lab.criteria import facility_dense  # the gradient scores do not need it

    indices, weights, objective = facility_dense.facility_location(
        G, k, similarity=similarity, gamma=gamma, optimizer=optimizer, epsilon=epsilon,
        random_state=random_state, return_objective=True)
    indices = np.asarray(indices, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.float64)
    return (indices, weights, float(objective)) if return_objective else (indices, weights)


def craig_bound(G, indices, *, chunk_size=2048) -> float:
    """Mirzasoleiman et al.'s (2020) bound on a weighted subset's gradient discrepancy,
    L(S) = sum_i min_{j in S} ||g_i - g_j||_2, for per-sample gradient features G (n, P).

    With w_j = the number of samples whose nearest pick is j (what `craig` returns),
    ||sum_i g_i - sum_{j in S} w_j g_j|| <= L(S). `craig` itself maximises a facility-location
    similarity (RBF by default) rather than -L(S); this measures the bound for any picks.
    Rows are processed `chunk_size` at a time, so the (n, |S|) distances are never held at once.
    """
    from distill_lab.criteria.kernels import sq_distances  # the gradient scores do not need it

    G = check_array_2d(G, name="G", dtype=np.float64)
    indices = check_subset(indices, len(G))
    chunk_size = check_chunk_size(chunk_size)
    picks = G[indices]                                              # (k, P)
    total = 0.0
    for start in range(0, len(G), chunk_size):
        d2 = sq_distances(G[start:start + chunk_size], picks)                 # (chunk, k)
        total += float(np.sqrt(d2.min(axis=1)).sum())
    return total
