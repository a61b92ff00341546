"""Check once, against real SAELens (optional: needs torch and sae-lens 6.54), that
``percolation_tms.sae.read_saelens`` + ``encode`` give SAELens' own encodings, for SAEs saved by
SAELens (standard, topk, jumprelu; random weights with non-unit decoder rows where exact) and
for project SAEs written with ``write_saelens`` and loaded by SAELens.

    PYTHONPATH=src python benchmarks/check_saelens_encode.py
"""

from __future__ import annotations

import tempfile

import numpy as np
import torch
from sae_lens import (
    SAE,
    JumpReLUSAE,
    JumpReLUSAEConfig,
    StandardSAE,
    StandardSAEConfig,
    TopKSAE,
    TopKSAEConfig,
)

from percolation_tms.sae import encode, read_saelens, write_saelens


def dense(encoding, n, m):
    return encoding.activations.toarray().reshape(n, m)


def main() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    d, m, n = 16, 40, 300
    X = rng.standard_normal((n, d)).astype(np.float32)
    cases = [
        ("standard", StandardSAE(StandardSAEConfig(d_in=d, d_sae=m, dtype="float32"))),
        ("standard, apply_b_dec_to_input false",
         StandardSAE(StandardSAEConfig(d_in=d, d_sae=m, apply_b_dec_to_input=False))),
        ("topk, rescale", TopKSAE(TopKSAEConfig(d_in=d, d_sae=m, k=5,
                                                rescale_acts_by_decoder_norm=True))),
        ("jumprelu", JumpReLUSAE(JumpReLUSAEConfig(d_in=d, d_sae=m))),
    ]
    for name, sae in cases:
        with torch.no_grad():
            for p in sae.parameters():
                p.copy_(torch.randn_like(p) * 0.3)
            if hasattr(sae, "threshold"):
                sae.threshold.copy_(torch.rand_like(sae.threshold) * 0.3)
            if name.startswith("standard") and "false" not in name:
                pass  # non-unit decoder rows: activations differ by the row norms
        with tempfile.TemporaryDirectory() as folder:
            sae.save_model(folder)
            ours = read_saelens(folder)
        theirs = sae.encode(torch.from_numpy(X)).detach().numpy().astype(np.float64)
        got = dense(encode(ours, X.astype(np.float64)), n, m)
        norms = sae.W_dec.norm(dim=1).detach().numpy().astype(np.float64)
        want = theirs if name.startswith("topk") else theirs * norms
        rel = np.abs(got - want).max() / np.abs(want).max()
        recon = got @ ours.params.atoms + ours.params.b_dec
        their_recon = sae.decode(torch.from_numpy(theirs.astype(np.float32))).detach().numpy()
        print(f"SAELens {name:40s}: max rel. diff of codes {rel:.2e} (project code = SAELens "
              f"code x |W_dec_j|{' (= 1 after rescaling)' if name.startswith('topk') else ''}"
              f"); same active sets: {np.array_equal(got > 0, theirs > 0)}; reconstruction "
              f"max diff {np.abs(recon - their_recon).max():.2e}")
    # Project SAEs written in the format and loaded by SAELens.
    from percolation_tms.sae import SAEConfig, train_sae
    Xs = rng.standard_normal((2000, d))
    for config in (SAEConfig(kind="relu", dict_ratio=2, l1=1.0, epochs=1),
                   SAEConfig(kind="topk", dict_ratio=2, k=4, epochs=1),
                   SAEConfig(kind="batchtopk", dict_ratio=2, k=4, epochs=1),
                   SAEConfig(kind="jumprelu", dict_ratio=2, l0_coefficient=0.1, epochs=1)):
        ours = train_sae(Xs, config).sae
        with tempfile.TemporaryDirectory() as folder:
            write_saelens(ours, folder, dtype="float64")
            theirs_sae = SAE.load_from_disk(folder, device="cpu")
        x_std = ours.standardized(Xs)
        theirs = theirs_sae.encode(torch.from_numpy(x_std).to(theirs_sae.dtype))
        theirs = theirs.detach().numpy().astype(np.float64)
        got = dense(encode(ours, Xs), Xs.shape[0], ours.n_latents)
        print(f"project {config.kind:10s} -> SAELens {type(theirs_sae).__name__:12s}: max abs "
              f"diff of codes {np.abs(got - theirs).max():.2e}")


if __name__ == "__main__":
    main()
