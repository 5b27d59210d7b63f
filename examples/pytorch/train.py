#!/usr/bin/env python3
"""Train mimverify's one-layer masked-attention model (SPEC §1) in plain PyTorch
and write the run in mimverify's run format, so that mimverify judges it:

    mimverify run --preset grid4 --engine exact --steps 0 --samples 256 \\
        --dump-samples samples.json                   # the setting and the training set
    python3 examples/pytorch/train.py samples.json --steps 2000 --out run.json
    mimverify check --trajectory run.json --samples-file samples.json

The model: positions e_p and features v_{k,j} are orthonormal (here the
coordinate axes of R^d, d = P + sum_k N_k + extra_dim: A and B do not depend
on the basis); an image of cluster k has x_p = z_{k,a(p)} v_{k,a(p)}; masked
patches are zeroed; token h_q = x~_q + e_q; a masked query p scores key q by
s_pq = e_p^T Q h_q, attends by softmax over the keys (the unmasked positions,
or all of them with keys: all) and predicts y^_p = sum_q pi_pq x~_q; the loss is
1/2 sum_{p masked} |y^_p - x_p|^2 averaged over the samples (divided by P with
loss: mean). Gradient descent on the merged key-query matrix Q from Q = 0.

The run file records, at every recorded step t (before that step's update),
the loss and the correlations A_{k,p,j} = e_p^T Q v_{k,j} and
B_{p,q} = e_p^T Q e_q (docs/FORMATS.md, "Run output"). With --full it records
Q itself (d x d) and the embedding instead, and mimverify projects Q to (A, B)
and reports the part of Q outside their span (docs/FORMATS.md, "Full-model
run"); --basis-seed N then trains in a random orthonormal basis (the QR factor
of a seeded Gaussian matrix) rather than the coordinate axes. --eta-scale
trains at a multiple of the setting's step size (a run that learns too slowly:
its envelopes may still hold; the reduced ODE's sharp bands catch it).

Not run in CI (torch is not a dependency of the Go project).
"""
import argparse
import json
import math
import os
import tempfile

import torch


def load(path):
    with open(path) as f:
        dump = json.load(f)
    if dump.get("format") != "mimverify.samples/v1":
        raise SystemExit(f"{path}: not a mimverify.samples/v1 file (mimverify run --dump-samples writes one)")
    s = dump["setting"]
    if s["init"]["kind"] != "zero":
        raise SystemExit("only init: zero is supported (Q(0) = 0)")
    return dump, s


def dimensions(s):
    """d, and the row of each cluster's first feature in the basis."""
    offsets, off = [], s["P"]
    for c in s["clusters"]:
        offsets.append(off)
        off += max(c["areas"]) + 1
    return off + s.get("extra_dim", 0), offsets


def basis(d, seed):
    """An orthonormal basis of R^d as rows: rows 0..P-1 are the positions e_p,
    row offsets[k] + j the feature v_{k,j}. The coordinate axes without a seed."""
    if seed is None:
        return torch.eye(d, dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    return q.T.contiguous()


def tensors(s, samples, W):
    """The inputs and masks of the samples: x_p = z_{k,a(p)} v_{k,a(p)}."""
    P = s["P"]
    d, offsets = dimensions(s)
    areas = [c["areas"] for c in s["clusters"]]
    n = len(samples)
    x = torch.zeros(n, P, d, dtype=torch.float64)
    mask = torch.zeros(n, P, dtype=torch.bool)
    for i, smp in enumerate(samples):
        k = smp["cluster"]
        for p in range(P):
            j = areas[k][p]
            x[i, p] = smp["z"][j] * W[offsets[k] + j]
        mask[i] = torch.tensor(smp["mask"])
    return x, mask


def loss_of(Q, x, mask, s, W):
    """The empirical loss of SPEC §1 at Q."""
    P = s["P"]
    E = W[:P]                                                 # positions e_p
    xt = x * (~mask).unsqueeze(-1)                            # masked patches carry 0
    h = xt + E                                                # h_q = x~_q + e_q
    scores = torch.einsum("pd,nqd->npq", E @ Q, h)            # s_pq = e_p^T Q h_q
    if s["keys"] == "unmasked":
        keys = (~mask).unsqueeze(1).expand(-1, P, -1)
    else:
        keys = torch.ones_like(scores, dtype=torch.bool)
    scores = scores.masked_fill(~keys, -math.inf)
    has_keys = keys.any(-1, keepdim=True)
    pi = torch.softmax(torch.where(has_keys, scores, torch.zeros_like(scores)), dim=-1)
    pi = torch.where(keys, pi, torch.zeros_like(pi))          # no keys: y^ = 0
    y = torch.einsum("npq,nqd->npd", pi, xt)
    err = ((y - x) ** 2).sum(-1) * mask                       # masked queries only
    loss = 0.5 * err.sum(-1).mean()
    return loss / P if s["loss"] == "mean" else loss


def record(step, eta, loss, Q, s, W, full):
    """One record: Q itself (--full), or its correlations A and B."""
    if full:
        return {"step": step, "time": eta * step, "loss": loss, "Q": Q.tolist()}
    P = s["P"]
    _, offsets = dimensions(s)
    C = W @ Q @ W.T                                           # C[a, b] = w_a^T Q w_b
    A = [[[C[p, offsets[k] + j].item() for j in range(max(c["areas"]) + 1)] for p in range(P)]
         for k, c in enumerate(s["clusters"])]
    B = [[C[p, q].item() for q in range(P)] for p in range(P)]
    return {"step": step, "time": eta * step, "loss": loss, "A": A, "B": B}


def embedding(s, W):
    """The embedding of the full-model format: positions and features as vectors of R^d."""
    _, offsets = dimensions(s)
    return {"positions": W[:s["P"]].tolist(),
            "features": [W[offsets[k]:offsets[k] + max(c["areas"]) + 1].tolist() for k, c in enumerate(s["clusters"])]}


def save_npz(f, out):
    """The full-model run as NumPy arrays (docs/FORMATS.md): step, loss, Q (R, d, d),
    positions (P, d), features0, features1, ... (N_k, d), and the header in meta."""
    import numpy as np
    recs, emb = out["records"], out["embedding"]
    meta = {k: v for k, v in out.items() if k not in ("records", "embedding")}
    arrays = {"meta": np.array(json.dumps(meta)),
              "step": np.array([r["step"] for r in recs], dtype=np.int64),
              "loss": np.array([r["loss"] for r in recs], dtype=np.float64),
              "Q": np.array([r["Q"] for r in recs], dtype=np.float64),
              "positions": np.array(emb["positions"], dtype=np.float64)}
    for k, v in enumerate(emb["features"]):
        arrays[f"features{k}"] = np.array(v, dtype=np.float64)
    np.savez(f, **arrays)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("samples", help="a mimverify.samples/v1 file (mimverify run --dump-samples)")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--record-every", type=int, default=10)
    ap.add_argument("--eta-scale", type=float, default=1.0, help="train at this multiple of the setting's eta")
    ap.add_argument("--full", action="store_true", help="record Q and the embedding (mimverify.run-full/v1), not A and B")
    ap.add_argument("--basis-seed", type=int, default=None, help="train in a random orthonormal basis from this seed (default: the coordinate axes)")
    ap.add_argument("--out", required=True, help="the run file: JSON, or with --full also .npz (NumPy arrays)")
    args = ap.parse_args()
    if args.out.endswith(".npz") and not args.full:
        raise SystemExit("--out *.npz: only with --full (the (A, B) run format is written as JSON here)")
    dump, s = load(args.samples)
    d, _ = dimensions(s)
    W = basis(d, args.basis_seed)
    x, mask = tensors(s, dump["samples"], W)
    eta = s["eta"] * args.eta_scale
    Q = torch.zeros(d, d, dtype=torch.float64, requires_grad=True)
    records = []
    for t in range(args.steps + 1):
        loss = loss_of(Q, x, mask, s, W)
        if not math.isfinite(loss.item()):
            raise SystemExit(f"stopped: the loss is {loss.item()} at step {t}")
        if t % args.record_every == 0 or t == args.steps:
            records.append(record(t, s["eta"], loss.item(), Q.detach(), s, W, args.full))
        if t == args.steps:
            break
        (g,) = torch.autograd.grad(loss, Q)
        with torch.no_grad():
            Q -= eta * g
    out = {"format": "mimverify.run-full/v1" if args.full else "mimverify.run/v1", "engine": "pytorch",
           "expectation": "samples", "seed": dump["seed"], "samples": len(dump["samples"]), "steps": args.steps,
           "record_every": args.record_every, "setting": s, "records": records}
    if args.full:
        out["embedding"] = embedding(s, W)
    # Written to a temporary file and renamed: never a half-written run.
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(args.out)), suffix=".tmp")
    with os.fdopen(fd, "wb" if args.out.endswith(".npz") else "w") as f:
        if args.out.endswith(".npz"):
            save_npz(f, out)
        else:
            json.dump(out, f)
    os.replace(tmp, args.out)
    print(f"{len(records)} records, loss {records[0]['loss']:.6g} -> {records[-1]['loss']:.6g}, written to {args.out}")


if __name__ == "__main__":
    main()
