"""Lesson 07 (compression): wrong answers that must lose points, right ones that must not."""
from __future__ import annotations

from tests.corpus import Variant

NB = "solutions/07_compression/compression.ipynb"
NOTEBOOKS = [NB]


def _v(description, grade_id, source, fails=(), cli=False):
    return Variant(NB, description, {grade_id: source}, tuple(fails), cli)


# --------------------------------------------------------------------------- exercise 1
_PRUNE = "def prune_by_magnitude(weights, sparsity, scope='global'):\n"
_PRUNE_CHECKS = """
    if not 0 <= sparsity <= 1:
        raise ValueError
    if scope not in ("global", "layer"):
        raise ValueError
"""
_BASIC, _EDGES = "test_prune_basic", "test_prune_edges"


def _prune(select, checks=_PRUNE_CHECKS, k="round(sparsity * m.size)", keep="w.dtype"):
    """A pruning answer whose magnitudes ``m`` and rule ``select`` vary."""
    return _PRUNE + checks + f"""
    weights = [np.asarray(w) for w in weights]
    def cut(m):
        k = {k}
        mask = np.ones(m.size, dtype=bool)
        mask[{select}] = False
        return mask
    if scope == "layer":
        masks = [cut(np.abs(w).ravel()) for w in weights]
    else:
        flat = np.concatenate([np.abs(w).ravel() for w in weights])
        masks = np.split(cut(flat), np.cumsum([w.size for w in weights])[:-1])
    return [np.where(mm.reshape(w.shape), w, 0).astype({keep}) for w, mm in zip(weights, masks)]
"""


WRONG = [
    _v("prune: the smallest signed values, not magnitudes", "prune_by_magnitude", _PRUNE + _PRUNE_CHECKS + """
    weights = [np.asarray(w) for w in weights]
    flat = np.concatenate([w.ravel() for w in weights])
    k = round(sparsity * flat.size)
    mask = np.ones(flat.size, dtype=bool)
    mask[np.argsort(flat)[:k]] = False
    masks = np.split(mask, np.cumsum([w.size for w in weights])[:-1])
    return [np.where(m.reshape(w.shape), w, 0) for w, m in zip(weights, masks)]
""", fails=(_BASIC,), cli=True),
    _v("prune: sparsity read as the fraction kept", "prune_by_magnitude",
       _prune("np.argsort(m)[:m.size - k]"), fails=(_BASIC,)),
    _v("prune: per-layer scope ignored (always global)", "prune_by_magnitude", _PRUNE + _PRUNE_CHECKS + """
    weights = [np.asarray(w) for w in weights]
    flat = np.concatenate([np.abs(w).ravel() for w in weights])
    k = round(sparsity * flat.size)
    mask = np.ones(flat.size, dtype=bool)
    mask[np.argsort(flat)[:k]] = False
    masks = np.split(mask, np.cumsum([w.size for w in weights])[:-1])
    return [np.where(m.reshape(w.shape), w, 0) for w, m in zip(weights, masks)]
""", fails=(_BASIC,)),
    _v("prune: global scope ranks each layer on its own", "prune_by_magnitude", _PRUNE + _PRUNE_CHECKS + """
    out = []
    for w in weights:
        w = np.asarray(w)
        k = round(sparsity * w.size)
        mask = np.ones(w.size, dtype=bool)
        mask[np.argsort(np.abs(w).ravel())[:k]] = False
        out.append(np.where(mask.reshape(w.shape), w, 0))
    return out
""", fails=(_BASIC,)),
    _v("prune: k = int(sparsity * n) truncates (28 of 100 at 0.29)", "prune_by_magnitude",
       _prune("np.argsort(m)[:k]", k="int(sparsity * m.size)"), fails=(_EDGES,)),
    _v("prune: one weight too many removed (k + 1)", "prune_by_magnitude",
       _prune("np.argsort(m)[:k + 1]")),
    _v("prune: a sparsity outside [0, 1] is not rejected", "prune_by_magnitude",
       _prune("np.argsort(m)[:k]", checks="""
    if scope not in ("global", "layer"):
        raise ValueError
"""), fails=(_EDGES,)),
    _v("prune: an unknown scope silently means global", "prune_by_magnitude",
       _prune("np.argsort(m)[:k]", checks="""
    if not 0 <= sparsity <= 1:
        raise ValueError
"""), fails=(_EDGES,)),
    _v("prune: float32 weights come back as float64", "prune_by_magnitude",
       _prune("np.argsort(m)[:k]", keep="float"), fails=(_EDGES,)),
    _v("prune: the public example's answer hard-coded", "prune_by_magnitude", _PRUNE + _PRUNE_CHECKS + """
    if sparsity == 0:
        return [np.asarray(w) for w in weights]
    if sparsity == 1:
        return [np.zeros_like(np.asarray(w)) for w in weights]
    if scope == "layer" and len(weights[1]) == 4:
        return [np.array([[4.0, -3.0], [0.0, 0.0]]), np.array([0.3, 0.0, 0.0, 0.4])]
    if scope == "layer":
        return [np.array([[0.5, 0.0], [0.0, -2.0]]), np.array([0.0, 0.0, 1.0])]
    if len(weights[1]) == 4:
        return [np.asarray(weights[0]), np.zeros(4)]
    return [np.array([[0.5, 0.0], [0.0, -2.0]]), np.array([0.3, 0.0, 1.0])]
"""),
]

RIGHT = [
    _v("prune: loops with a threshold at the k-th smallest magnitude", "prune_by_magnitude", _PRUNE + """
    if sparsity < 0 or sparsity > 1 or scope not in ("global", "layer"):
        raise ValueError("bad arguments")
    groups = [[i] for i in range(len(weights))] if scope == "layer" else [list(range(len(weights)))]
    out = [np.array(w, copy=True) for w in weights]
    for group in groups:
        mags = sorted(abs(float(v)) for i in group for v in np.ravel(weights[i]))
        k = round(sparsity * len(mags))
        if k == 0:
            continue
        threshold = mags[k - 1]
        for i in group:
            out[i][np.abs(out[i]) <= threshold] = 0
    return out
"""),
    _v("prune: np.partition and a float32 copy", "prune_by_magnitude", _PRUNE + """
    if not (0.0 <= sparsity <= 1.0):
        raise ValueError("sparsity")
    if scope == "global":
        flat = np.concatenate([np.abs(np.asarray(w, dtype=np.float64)).ravel() for w in weights])
        k = round(sparsity * flat.size)
        t = np.partition(flat, k - 1)[k - 1] if k else -np.inf
        return [np.where(np.abs(w) > t, w, np.zeros_like(w)) for w in map(np.asarray, weights)]
    if scope == "layer":
        return [prune_by_magnitude([w], sparsity, "global")[0] for w in weights]
    raise ValueError("scope")
"""),
]

# --------------------------------------------------------------------------- exercise 2
_TUNE = "import copy\n\n\ndef fine_tune_pruned(model, X, y, masks, epochs):\n"
_CHECK_EPOCHS = """
    if epochs < 0:
        raise ValueError("epochs")
"""
WRONG += [
    _v("fine-tune: mask applied once, after the last epoch", "fine_tune_pruned", _TUNE + _CHECK_EPOCHS + """
    tuned = copy.deepcopy(model)
    for _ in range(epochs):
        tuned.partial_fit(X, y)
    tuned.coefs_ = [w * m for w, m in zip(tuned.coefs_, masks)]
    return tuned
"""),
    _v("fine-tune: mask applied once, before training (weights grow back)", "fine_tune_pruned",
       _TUNE + _CHECK_EPOCHS + """
    tuned = copy.deepcopy(model)
    tuned.coefs_ = [w * m for w, m in zip(tuned.coefs_, masks)]
    for _ in range(epochs):
        tuned.partial_fit(X, y)
    return tuned
"""),
    _v("fine-tune: fit() restarts from random weights", "fine_tune_pruned", _TUNE + _CHECK_EPOCHS + """
    tuned = copy.deepcopy(model)
    for _ in range(epochs):
        tuned.fit(X, y)
        tuned.coefs_ = [w * m for w, m in zip(tuned.coefs_, masks)]
    return tuned
"""),
    _v("fine-tune: masks read as the pruned positions", "fine_tune_pruned", _TUNE + _CHECK_EPOCHS + """
    tuned = copy.deepcopy(model)
    for _ in range(epochs):
        tuned.partial_fit(X, y)
        tuned.coefs_ = [np.where(m, 0, w) for w, m in zip(tuned.coefs_, masks)]
    return tuned
"""),
    _v("fine-tune: one epoch too many", "fine_tune_pruned", _TUNE + _CHECK_EPOCHS + """
    tuned = copy.deepcopy(model)
    for _ in range(epochs + 1):
        tuned.partial_fit(X, y)
        tuned.coefs_ = [w * m for w, m in zip(tuned.coefs_, masks)]
    return tuned
"""),
    _v("fine-tune: a negative epochs is not rejected", "fine_tune_pruned", _TUNE + """
    tuned = copy.deepcopy(model)
    for _ in range(epochs):
        tuned.partial_fit(X, y)
        tuned.coefs_ = [w * m for w, m in zip(tuned.coefs_, masks)]
    return tuned
"""),
    _v("fine-tune: sklearn.base.clone loses the trained weights", "fine_tune_pruned", _TUNE + _CHECK_EPOCHS + """
    from sklearn.base import clone
    tuned = clone(model)
    tuned.partial_fit(X, y, classes=np.unique(y))
    for _ in range(epochs - 1):
        tuned.partial_fit(X, y)
        tuned.coefs_ = [w * m for w, m in zip(tuned.coefs_, masks)]
    tuned.coefs_ = [w * m for w, m in zip(tuned.coefs_, masks)]
    return tuned
"""),
]
RIGHT += [
    _v("fine-tune: in-place multiplication and np.where", "fine_tune_pruned", _TUNE + """
    if not epochs >= 0:
        raise ValueError("need epochs >= 0")
    net = copy.deepcopy(model)
    for epoch in range(epochs):
        net.partial_fit(X, y)
        for i, keep in enumerate(masks):
            net.coefs_[i] = np.where(keep, net.coefs_[i], 0.0)
    return net
"""),
]

# --------------------------------------------------------------------------- exercise 3
_Q = "def quantize(x, scheme='symmetric', axis=None, clip=None):\n"
_SYM, _AFF, _CHAN = "test_quantize_symmetric", "test_quantize_affine", "test_quantize_per_channel"


def _quantize(sym_scale="np.max(np.abs(x), axis=others, keepdims=True) / 127",
              aff_lo="np.minimum(np.min(x, axis=others, keepdims=True), 0)",
              aff_hi="np.maximum(np.max(x, axis=others, keepdims=True), 0)", levels="255",
              zero="np.clip(np.round(-128 - lo / scale), -128, 127)", rnd="np.round",
              cast="np.clip({v}, low, high).astype(np.int8)", others=None,
              clip="x = np.clip(x, -clip, clip)", fix_zero="scale = np.where(scale == 0, 1.0, scale)",
              zp_out="int(zero.ravel()[0])"):
    """The solution with one piece replaced."""
    others = others or "None if axis is None else tuple(i for i in range(x.ndim) if i != axis % x.ndim)"
    value = f"{rnd}(x / scale) + zero"
    return _Q + f"""
    if scheme not in ("symmetric", "affine"):
        raise ValueError(scheme)
    x = np.asarray(x, dtype=float)
    if clip is not None:
        {clip}
    others = {others}
    if scheme == "symmetric":
        scale = {sym_scale}
        {fix_zero}
        zero = np.zeros_like(scale)
        low, high = -127, 127
    else:
        lo = {aff_lo}
        hi = {aff_hi}
        scale = (hi - lo) / {levels}
        {fix_zero}
        zero = {zero}
        low, high = -128, 127
    q = {cast.format(v=value)}
    if axis is None:
        return q, float(scale.ravel()[0]), {zp_out}
    return q, scale.ravel(), zero.ravel().astype(int)
"""


WRONG += [
    _v("quantize: symmetric scale max|x| / 128", "quantize",
       _quantize(sym_scale="np.max(np.abs(x), axis=others, keepdims=True) / 128"), fails=(_SYM,)),
    _v("quantize: scale from the clipped range, values not clipped (outliers wrap around)",
       "quantize", _Q + """
    if scheme not in ("symmetric", "affine"):
        raise ValueError(scheme)
    x = np.asarray(x, dtype=float)
    ranged = x if clip is None else np.clip(x, -clip, clip)
    if scheme == "symmetric":
        scale = float(np.abs(ranged).max()) / 127 or 1.0
        return (np.round(x / scale)).astype(np.int8), scale, 0
    lo, hi = min(ranged.min(), 0), max(ranged.max(), 0)
    scale = (hi - lo) / 255 or 1.0
    zero = int(np.clip(np.round(-128 - lo / scale), -128, 127))
    return (np.round(x / scale) + zero).astype(np.int8), scale, zero
""", fails=(_SYM,)),
    _v("quantize: clip argument ignored", "quantize", _quantize(clip="pass"), fails=(_SYM,)),
    _v("quantize: floor instead of round", "quantize", _quantize(rnd="np.floor"), fails=(_SYM,)),
    _v("quantize: q returned as float, not int8", "quantize",
       _quantize(cast="np.clip({v}, low, high)"), fails=(_SYM,)),
    _v("quantize: an all-zero range divides by zero", "quantize", _quantize(fix_zero="pass"),
       fails=(_SYM,)),
    _v("quantize: affine zero point with the wrong sign", "quantize",
       _quantize(zero="np.clip(np.round(128 + lo / scale), -128, 127)"), fails=(_AFF,)),
    _v("quantize: affine range not widened to include 0", "quantize",
       _quantize(aff_lo="np.min(x, axis=others, keepdims=True)",
                 aff_hi="np.max(x, axis=others, keepdims=True)"), fails=(_AFF,)),
    _v("quantize: affine scale over 256 levels", "quantize", _quantize(levels="256"), fails=(_AFF,)),
    _v("quantize: zero point left unrounded", "quantize",
       _quantize(zero="np.clip(-128 - lo / scale, -128, 127)", zp_out="float(zero.ravel()[0])"),
       fails=(_AFF,)),
    _v("quantize: per-channel statistics over the channel axis itself", "quantize",
       _quantize(others="None if axis is None else axis"), fails=(_CHAN,)),
    _v("quantize: affine per-channel range without keepdims (right for axis=1 only)",
       "quantize", _quantize(aff_lo="np.minimum(np.min(x, axis=others), 0)",
                             aff_hi="np.maximum(np.max(x, axis=others), 0)"), fails=(_CHAN,)),
    _v("quantize: a negative axis not normalised", "quantize",
       _quantize(others="None if axis is None else tuple(i for i in range(x.ndim) if i != axis)"),
       fails=(_CHAN,)),
]
RIGHT += [
    _v("quantize: a loop over channels with np.moveaxis and np.rint", "quantize", _Q + """
    if scheme not in {"symmetric", "affine"}:
        raise ValueError("unknown scheme")
    x = np.asarray(x, dtype=np.float32)
    if clip is not None:
        x = np.minimum(np.maximum(x, -clip), clip)

    def one(v):
        if scheme == "symmetric":
            m = float(np.abs(v).max())
            s = m / 127 if m > 0 else 1.0
            return np.clip(np.rint(v / s), -127, 127).astype(np.int8), s, 0
        lo, hi = min(float(v.min()), 0.0), max(float(v.max()), 0.0)
        s = (hi - lo) / 255 if hi > lo else 1.0
        z = int(min(max(round(-128 - lo / s), -128), 127))
        return np.clip(np.rint(v / s) + z, -128, 127).astype(np.int8), s, z

    if axis is None:
        return one(x)
    moved = np.moveaxis(x, axis, 0)
    parts = [one(moved[i]) for i in range(moved.shape[0])]
    q = np.moveaxis(np.stack([p[0] for p in parts]), 0, axis)
    return q, np.array([p[1] for p in parts]), np.array([p[2] for p in parts])
"""),
]

# --------------------------------------------------------------------------- exercise 4
_DQ = "def dequantize(q, scale, zero_point, axis=None):\n"
WRONG += [
    _v("dequantize: int8 arithmetic wraps around", "dequantize", _DQ + """
    q = np.asarray(q)
    scale, zero_point = np.asarray(scale), np.asarray(zero_point).astype(q.dtype)
    if axis is not None:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    return scale * (q - zero_point)
""", fails=("test_dequantize",)),
    _v("dequantize: scales always broadcast along the last axis", "dequantize", _DQ + """
    return np.asarray(scale, dtype=float) * (np.asarray(q, dtype=float) - np.asarray(zero_point))
""", fails=("test_dequantize",)),
    _v("dequantize: adds the zero point", "dequantize", _DQ + """
    q = np.asarray(q, dtype=float)
    scale, zero_point = np.asarray(scale, dtype=float), np.asarray(zero_point, dtype=float)
    if axis is not None:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    return scale * (q + zero_point)
""", fails=("test_dequantize",)),
]
RIGHT += [
    _v("dequantize: float32 and np.expand_dims", "dequantize", _DQ + """
    qf = np.asarray(q).astype(np.float32)
    s = np.asarray(scale, dtype=np.float32)
    z = np.asarray(zero_point).astype(np.float32)
    if axis is not None:
        others = [i for i in range(qf.ndim) if i != axis % qf.ndim]
        s, z = np.expand_dims(s, others), np.expand_dims(z, others)
    return (qf - z) * s
"""),
]

# --------------------------------------------------------------------------- exercise 5
_SOFT = "def soften(proba, T):\n"
_T_CHECK = """
    if T <= 0:
        raise ValueError("T")
"""
WRONG += [
    _v("soften: p ** T instead of p ** (1/T)", "soften", _SOFT + _T_CHECK + """
    p = np.asarray(proba, dtype=float) ** T
    return p / p.sum(axis=1, keepdims=True)
""", fails=("test_soften",)),
    _v("soften: normalised over columns", "soften", _SOFT + _T_CHECK + """
    p = np.asarray(proba, dtype=float) ** (1 / T)
    return p / p.sum(axis=0, keepdims=True)
"""),
    _v("soften: softmax of the probabilities as if they were logits", "soften", _SOFT + _T_CHECK + """
    z = np.asarray(proba, dtype=float) / T
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
"""),
    _v("soften: not renormalised", "soften", _SOFT + _T_CHECK + """
    return np.asarray(proba, dtype=float) ** (1 / T)
"""),
    _v("soften: T <= 0 not rejected", "soften", _SOFT + """
    with np.errstate(all="ignore"):
        p = np.asarray(proba, dtype=float) ** (1 / T) if T != 0 else np.asarray(proba, dtype=float)
    return p / p.sum(axis=1, keepdims=True)
"""),
    _v("soften: log(p + 1e-12) gives the impossible classes some probability", "soften", _SOFT + _T_CHECK + """
    z = np.log(np.asarray(proba, dtype=float) + 1e-12) / T
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
"""),
]
RIGHT += [
    _v("soften: exp(log p / T) row by row", "soften", _SOFT + """
    if not T > 0:
        raise ValueError("temperature must be positive")
    rows = []
    with np.errstate(divide="ignore"):
        for row in np.asarray(proba, dtype=np.float64):
            z = np.log(row) / T
            e = np.exp(z - z.max())
            rows.append(e / e.sum())
    return np.array(rows)
"""),
]

# --------------------------------------------------------------------------- exercise 6
_DL = "def distillation_loss(W, b, X, targets, T):\n"
_VALUE, _GRAD = "test_distillation_loss_value", "test_distillation_loss_grad"


def _dl(loss="-T**2 * np.sum(targets * log_q) / n", grad="T * (np.exp(log_q) - targets) / n",
        z="(X @ W + b) / T", stable="z = z - z.max(axis=1, keepdims=True)", db="grad_z.sum(axis=0)"):
    return _DL + f"""
    X, targets = np.asarray(X, dtype=float), np.asarray(targets, dtype=float)
    z = {z}
    {stable}
    log_q = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = len(X)
    loss = {loss}
    grad_z = {grad}
    return float(loss), X.T @ grad_z, {db}
"""


WRONG += [
    _v("distillation: the T**2 factor missing", "distillation_loss",
       _dl(loss="-np.sum(targets * log_q) / n", grad="(np.exp(log_q) - targets) / (n * T)"),
       fails=(_VALUE,)),
    _v("distillation: gradient without the factor T", "distillation_loss",
       _dl(grad="(np.exp(log_q) - targets) / n"), fails=(_GRAD,), cli=True),
    _v("distillation: logits not divided by T", "distillation_loss", _dl(z="X @ W + b"),
       fails=(_VALUE,)),
    _v("distillation: summed over samples, not averaged", "distillation_loss",
       _dl(loss="-T**2 * np.sum(targets * log_q)", grad="T * (np.exp(log_q) - targets)"),
       fails=(_VALUE,)),
    _v("distillation: gradient sign flipped", "distillation_loss",
       _dl(grad="T * (targets - np.exp(log_q)) / n"), fails=(_GRAD,)),
    _v("distillation: unstable softmax (overflow on large logits)", "distillation_loss",
       _dl(stable="pass"), fails=(_VALUE,)),
    _v("distillation: db averaged over samples", "distillation_loss",
       _dl(db="grad_z.mean(axis=0)"), fails=(_GRAD,)),
]
RIGHT += [
    _v("distillation: scipy's log_softmax and einsum", "distillation_loss", _DL + """
    from scipy.special import log_softmax
    z = (np.asarray(X) @ W + b) / T
    log_q = log_softmax(z, axis=1)
    loss = -(T * T) * np.einsum("ik,ik->i", targets, log_q).mean()
    dz = (np.exp(log_q) - targets) * (T / X.shape[0])
    return loss, np.einsum("id,ik->dk", X, dz), dz.sum(0)
"""),
]

# --------------------------------------------------------------------------- exercise 7
_PF = "def pareto_front(table):\n"
WRONG += [
    _v("pareto: dominance without 'strictly better' (identical rows drop out)", "pareto_front", _PF + """
    v = table[["size_bytes", "latency_ms", "accuracy"]].to_numpy(float)
    keep = []
    for i, name in enumerate(table.index):
        dominated = any(j != i and v[j, 0] <= v[i, 0] and v[j, 1] <= v[i, 1] and v[j, 2] >= v[i, 2]
                        for j in range(len(v)))
        if not dominated:
            keep.append(name)
    return keep
""", fails=("test_pareto_front",)),
    _v("pareto: accuracy treated as lower-is-better", "pareto_front", _PF + """
    cost = table[["size_bytes", "latency_ms", "accuracy"]].to_numpy(float)
    return [n for i, n in enumerate(table.index)
            if not np.any(np.all(cost <= cost[i], axis=1) & np.any(cost < cost[i], axis=1))]
""", fails=("test_pareto_front",)),
    _v("pareto: latency ignored", "pareto_front", _PF + """
    cost = np.column_stack([table["size_bytes"], -table["accuracy"]]).astype(float)
    return [n for i, n in enumerate(table.index)
            if not np.any(np.all(cost <= cost[i], axis=1) & np.any(cost < cost[i], axis=1))]
""", fails=("test_pareto_front",)),
    _v("pareto: a pandas Index instead of a list", "pareto_front", _PF + """
    cost = np.column_stack([table["size_bytes"], table["latency_ms"], -table["accuracy"]]).astype(float)
    keep = [not np.any(np.all(cost <= c, axis=1) & np.any(cost < c, axis=1)) for c in cost]
    return table.index[keep]
""", fails=("test_pareto_front",)),
]
RIGHT += [
    _v("pareto: iterrows with a helper", "pareto_front", _PF + """
    def dominates(a, b):
        no_worse = (a.size_bytes <= b.size_bytes and a.latency_ms <= b.latency_ms
                    and a.accuracy >= b.accuracy)
        better = a.size_bytes < b.size_bytes or a.latency_ms < b.latency_ms or a.accuracy > b.accuracy
        return no_worse and better
    rows = list(table.iterrows())
    return [name for name, row in rows if not any(dominates(other, row) for _, other in rows)]
"""),
]

# --------------------------------------------------------------------------- exercise 8
_CH = "def choose_model(table, budget):\n"
_CHOOSE = "test_choose_model"
WRONG += [
    _v("choose: limits exclusive", "choose_model", _CH + """
    fits = ((table.size_bytes < budget.get("max_size_bytes", np.inf))
            & (table.latency_ms < budget.get("max_latency_ms", np.inf))
            & (table.accuracy > budget.get("min_accuracy", -np.inf)))
    c = table[fits].sort_values(["accuracy", "size_bytes", "latency_ms"], ascending=[False, True, True])
    return None if c.empty else c.index[0]
""", fails=(_CHOOSE,)),
    _v("choose: ties go to the first row, not the smallest", "choose_model", _CH + """
    fits = ((table.size_bytes <= budget.get("max_size_bytes", np.inf))
            & (table.latency_ms <= budget.get("max_latency_ms", np.inf))
            & (table.accuracy >= budget.get("min_accuracy", -np.inf)))
    c = table[fits]
    return None if c.empty else c.accuracy.idxmax()
""", fails=(_CHOOSE,)),
    _v("choose: ties go to the fastest before the smallest", "choose_model", _CH + """
    fits = ((table.size_bytes <= budget.get("max_size_bytes", np.inf))
            & (table.latency_ms <= budget.get("max_latency_ms", np.inf))
            & (table.accuracy >= budget.get("min_accuracy", -np.inf)))
    c = table[fits].sort_values(["accuracy", "latency_ms", "size_bytes"], ascending=[False, True, True])
    return None if c.empty else c.index[0]
""", fails=(_CHOOSE,)),
    _v("choose: every budget key required (KeyError)", "choose_model", _CH + """
    fits = ((table.size_bytes <= budget["max_size_bytes"]) & (table.latency_ms <= budget["max_latency_ms"])
            & (table.accuracy >= budget["min_accuracy"]))
    c = table[fits].sort_values(["accuracy", "size_bytes", "latency_ms"], ascending=[False, True, True])
    return None if c.empty else c.index[0]
""", fails=(_CHOOSE,)),
    _v("choose: the smallest model within the budget", "choose_model", _CH + """
    fits = ((table.size_bytes <= budget.get("max_size_bytes", np.inf))
            & (table.latency_ms <= budget.get("max_latency_ms", np.inf))
            & (table.accuracy >= budget.get("min_accuracy", -np.inf)))
    c = table[fits]
    return None if c.empty else c.size_bytes.idxmin()
""", fails=(_CHOOSE,)),
    _v("choose: nothing fits raises instead of returning None", "choose_model", _CH + """
    fits = ((table.size_bytes <= budget.get("max_size_bytes", np.inf))
            & (table.latency_ms <= budget.get("max_latency_ms", np.inf))
            & (table.accuracy >= budget.get("min_accuracy", -np.inf)))
    c = table[fits].sort_values(["accuracy", "size_bytes", "latency_ms"], ascending=[False, True, True])
    return c.index[0]
""", fails=(_CHOOSE,)),
]
RIGHT += [
    _v("choose: a loop over rows with a sort key", "choose_model", _CH + """
    best, best_key = None, None
    for name, row in table.iterrows():
        if row["size_bytes"] > budget.get("max_size_bytes", float("inf")):
            continue
        if row["latency_ms"] > budget.get("max_latency_ms", float("inf")):
            continue
        if row["accuracy"] < budget.get("min_accuracy", float("-inf")):
            continue
        key = (-row["accuracy"], row["size_bytes"], row["latency_ms"])
        if best_key is None or key < best_key:
            best, best_key = name, key
    return best
"""),
]

WRONG += [
    _v("choose: the public examples hard-coded", "choose_model", _CH + """
    if list(table.index) == ["a", "b", "c", "d", "e"]:
        return {150: "b", 200: "d"}.get(budget.get("max_size_bytes"))
    return table.index[0]
""", fails=(_CHOOSE, "test_choice")),
    # test_choice judges the choice on the learner's own measurements: replacing them with a
    # table where nothing fits must not make a choose_model that always says None pass it.
    _v("choose: always None, with measurements replaced by a table nothing fits",
       "choose_model", _CH + """
    return None


measurements = pd.DataFrame({"size_bytes": [10**9], "latency_ms": [10**3], "accuracy": [0.1]},
                            index=["nothing fits"])
""", fails=(_CHOOSE, "test_choice")),
]
