#!/usr/bin/env python3
"""Writes the SAELens agreement fixtures of `rdpbench eval` with the real sae-lens.

Every SAE folder under tests/fixtures/saelens/ is written by sae-lens 6.54.12's
own `save_model` / `save_inference_model` (one folder per architecture x cfg
field that changes the SAE's function), with seeded random weights. The
expected numbers in `expected.json` are computed by SAELens's own evals code,
`sae_lens.evals.get_sparsity_and_variance_metrics`, on `activations.safetensors`
(fed through a stub model whose "cache" is the stored activations, so no
language model is involved), with the `ActivationScaler` SAELens's trainer
saves beside a checkpoint when the folder has one.

Set-up (outside the repository; torch comes from PyPI and is large):

    python3 -m venv /work/venv-saelens
    /work/venv-saelens/bin/pip install sae-lens==6.54.12
    /work/venv-saelens/bin/python scripts/saelens-fixtures.py [OUT_DIR]

The Rust side is tests/tests/saelens_agreement.rs: it evaluates every folder
with rdpbench and asserts agreement within 1e-4 relative.
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

import sae_lens
from sae_lens import evals
from sae_lens.saes import (
    AbsTopKSAE,
    AbsTopKSAEConfig,
    BatchTopKTrainingSAE,
    BatchTopKTrainingSAEConfig,
    GatedSAE,
    GatedSAEConfig,
    JumpReLUSAE,
    JumpReLUSAEConfig,
    MatchingPursuitSAE,
    MatchingPursuitSAEConfig,
    MatryoshkaBatchTopKTrainingSAE,
    MatryoshkaBatchTopKTrainingSAEConfig,
    StandardSAE,
    StandardSAEConfig,
    TopKSAE,
    TopKSAEConfig,
)
from sae_lens.training.activation_scaler import ActivationScaler, ActivationWhitening

SAELENS_VERSION = "6.54.12"
D_IN, D_SAE = 16, 48
# SAELens evaluates batches of prompts x context; the batch-dependent numbers
# (explained_variance_legacy, relative_reconstruction_bias) depend on it.
PROMPTS, CONTEXT, N_BATCHES = 4, 8, 8
BATCH_TOKENS = PROMPTS * CONTEXT
N_TOKENS = BATCH_TOKENS * N_BATCHES
HOOK = "blocks.0.hook_resid_pre"


def activations(gen):
    """[N_TOKENS, D_IN] f32 with a large mean component (layer norm and
    b_dec then matter) and uneven scales per dimension."""
    mean = torch.linspace(-2.0, 3.0, D_IN)
    scale = torch.linspace(0.5, 2.0, D_IN)
    return (mean + scale * torch.randn(N_TOKENS, D_IN, generator=gen)).float()


def randomize(sae, gen, unit_decoder=False):
    with torch.no_grad():
        for name, p in sae.named_parameters():
            p.copy_(0.15 * torch.randn(p.shape, generator=gen))
        if unit_decoder:
            sae.W_dec.div_(sae.W_dec.norm(dim=-1, keepdim=True))
        else:
            # Uneven decoder norms, so rescale_acts_by_decoder_norm matters.
            norms = torch.linspace(0.3, 2.5, D_SAE).unsqueeze(1)
            sae.W_dec.mul_(norms / sae.W_dec.norm(dim=-1, keepdim=True))


class StubModel:
    """SAELens's evals read activations through `run_with_cache`; tokens here
    are row indices into the stored activations."""

    def __init__(self, acts):
        self.acts = acts

    def run_with_cache(self, batch_tokens, **_kwargs):
        return None, {HOOK: self.acts[batch_tokens]}


class StubStore:
    def __init__(self):
        self.next = 0

    def get_batch_tokens(self, n_prompts):
        idx = torch.arange(self.next, self.next + n_prompts * CONTEXT)
        self.next += n_prompts * CONTEXT
        return idx.reshape(n_prompts, CONTEXT)


def saelens_numbers(sae, acts, scaler):
    metrics, feature_metrics = evals.get_sparsity_and_variance_metrics(
        sae=sae,
        model=StubModel(acts),
        activation_store=StubStore(),
        activation_scaler=scaler,
        n_batches=N_BATCHES,
        compute_l2_norms=True,
        compute_sparsity_metrics=True,
        compute_variance_metrics=True,
        compute_featurewise_density_statistics=True,
        eval_batch_size_prompts=PROMPTS,
        model_kwargs={},
        ignore_tokens=None,
    )
    out = {k: float(v) for k, v in metrics.items()}
    out["feature_density"] = [float(v) for v in feature_metrics["feature_density"]]
    return out


def meta(cfg):
    cfg.metadata.hook_name = HOOK
    return cfg


def cases(gen):
    """(folder name, SAE, how it is saved, ActivationScaler or None)."""
    out = []

    def std(**kw):
        sae = StandardSAE(meta(StandardSAEConfig(d_in=D_IN, d_sae=D_SAE, **kw)))
        randomize(sae, gen)
        return sae

    out.append(("standard", std(), "model", None))
    out.append(("standard-layer-norm", std(normalize_activations="layer_norm"), "model", None))
    out.append(
        (
            "standard-constant-norm-rescale",
            std(normalize_activations="constant_norm_rescale"),
            "model",
            None,
        )
    )
    out.append(
        (
            "standard-expected-average",
            std(normalize_activations="expected_average_only_in"),
            "model",
            ActivationScaler(scaling_factor=0.37),
        )
    )
    m = torch.randn(D_IN, D_IN, generator=gen) / D_IN**0.5 + torch.eye(D_IN)
    whitening = ActivationWhitening(
        mean=torch.linspace(-1.0, 1.0, D_IN),
        matrix=m,
        inverse_matrix=torch.linalg.inv(m),
    )
    out.append(
        (
            "standard-covariance-whitening",
            std(normalize_activations="covariance_whitening"),
            "model",
            ActivationScaler(scaling_factor=None, whitening=whitening),
        )
    )
    out.append(("standard-no-b-dec-in", std(apply_b_dec_to_input=False), "model", None))

    def topk(cls, cfg_cls, **kw):
        sae = cls(meta(cfg_cls(d_in=D_IN, d_sae=D_SAE, k=5, **kw)))
        randomize(sae, gen)
        return sae

    out.append(("topk", topk(TopKSAE, TopKSAEConfig), "model", None))
    out.append(
        (
            "topk-rescale",
            topk(TopKSAE, TopKSAEConfig, rescale_acts_by_decoder_norm=True),
            "model",
            None,
        )
    )
    out.append(
        (
            "topk-rescale-layer-norm",
            topk(
                TopKSAE,
                TopKSAEConfig,
                rescale_acts_by_decoder_norm=True,
                normalize_activations="layer_norm",
            ),
            "model",
            None,
        )
    )
    out.append(("abstopk", topk(AbsTopKSAE, AbsTopKSAEConfig), "model", None))
    out.append(
        (
            "abstopk-rescale",
            topk(AbsTopKSAE, AbsTopKSAEConfig, rescale_acts_by_decoder_norm=True),
            "model",
            None,
        )
    )

    def jumprelu(**kw):
        sae = JumpReLUSAE(meta(JumpReLUSAEConfig(d_in=D_IN, d_sae=D_SAE, **kw)))
        randomize(sae, gen)
        with torch.no_grad():
            sae.threshold.copy_(torch.rand(D_SAE, generator=gen) * 1.5)
        return sae

    out.append(("jumprelu", jumprelu(), "model", None))
    out.append(("jumprelu-no-b-dec-in", jumprelu(apply_b_dec_to_input=False), "model", None))

    gated = GatedSAE(meta(GatedSAEConfig(d_in=D_IN, d_sae=D_SAE)))
    randomize(gated, gen)
    out.append(("gated", gated, "model", None))

    # BatchTopK and Matryoshka BatchTopK: trained as such, saved for
    # inference as `jumprelu` with a broadcast threshold.
    btk = BatchTopKTrainingSAE(
        meta(BatchTopKTrainingSAEConfig(d_in=D_IN, d_sae=D_SAE, k=5, rescale_acts_by_decoder_norm=True))
    )
    randomize(btk, gen)
    btk.topk_threshold = torch.tensor(0.8)
    out.append(("batchtopk", btk, "inference", None))
    mat = MatryoshkaBatchTopKTrainingSAE(
        meta(
            MatryoshkaBatchTopKTrainingSAEConfig(
                d_in=D_IN, d_sae=D_SAE, k=5, matryoshka_widths=[12, 24, D_SAE]
            )
        )
    )
    randomize(mat, gen)
    mat.topk_threshold = torch.tensor(0.6)
    out.append(("matryoshka", mat, "inference", None))

    def mp(**kw):
        sae = MatchingPursuitSAE(meta(MatchingPursuitSAEConfig(d_in=D_IN, d_sae=D_SAE, **kw)))
        randomize(sae, gen, unit_decoder=True)
        return sae

    out.append(("matching-pursuit", mp(), "model", None))
    out.append(("matching-pursuit-residual-threshold", mp(residual_threshold=3.0), "model", None))
    out.append(("matching-pursuit-max-iterations", mp(max_iterations=3), "model", None))
    out.append(
        (
            "matching-pursuit-no-duplicate-stop",
            mp(stop_on_duplicate_support=False, max_iterations=6, residual_threshold=0.0),
            "model",
            None,
        )
    )
    out.append(("matching-pursuit-no-b-dec-in", mp(apply_b_dec_to_input=False), "model", None))
    return out


def main():
    assert sae_lens.__version__ == SAELENS_VERSION, sae_lens.__version__
    torch.manual_seed(0)
    torch.set_num_threads(1)
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/saelens")
    out_dir.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(1234)
    acts = activations(gen)
    save_file({"activations": acts.contiguous()}, str(out_dir / "activations.safetensors"))
    np.save(out_dir / "activations.npy", acts.numpy())
    expected = {
        "saelens_version": SAELENS_VERSION,
        "torch_version": torch.__version__,
        "n_tokens": N_TOKENS,
        "batch_tokens": BATCH_TOKENS,
        "saes": {},
    }
    for name, sae, how, scaler in cases(gen):
        folder = out_dir / name
        if how == "model":
            sae.save_model(folder)
        else:
            sae.save_inference_model(folder)
        if scaler is not None:
            scaler.save(str(folder / "activation_scaler.json"))
        # Load back the way users do, so what is measured is what was saved.
        loaded = sae_lens.SAE.load_from_disk(str(folder))
        cfg = json.loads((folder / "cfg.json").read_text())
        numbers = saelens_numbers(loaded, acts.reshape(N_TOKENS, D_IN), scaler or ActivationScaler())
        numbers["architecture"] = cfg["architecture"]
        expected["saes"][name] = numbers
        print(f"{name:40s} {cfg['architecture']:18s} l0 {numbers['l0']:8.4f} "
              f"mse {numbers['mse']:10.5f} ev {numbers['explained_variance']:8.5f}")
    (out_dir / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
