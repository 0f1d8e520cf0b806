"""Which layers the two-layer model uses, with and without a VampPrior on top, on the shipped sample: the hierarchical
chapter's recipe (8 epochs on the sample's 2,000 training images, batch 64, one-cycle at 2e-3, a 4-epoch KL warm-up,
z1 of 16 and z2 of 8 dimensions, 50 pseudo-inputs) on both networks, with the one-layer VAE beside each. Prints and
records each run's NLL (k = 100 on the sample's first 300 test images), its -ELBO, the KL per epoch as training
saw it, and the KL of each layer on those test images at the end.

    python bench/ladder_sample.py [--threads 1] [--out nbs/experiments/results/ladder_sample.json]
"""
import argparse, json, os, tempfile, time
from datetime import date
from pathlib import Path

import torch

from vae_nb.core import atomic_write, cpu_flags, cpu_model, dumps
from vae_nb.data import DATASETS
from vae_nb.evaluate import iwae_nll
from vae_nb.train import train

ROOT = Path(__file__).resolve().parent.parent
RECIPE = dict(sample=True, likelihood='bernoulli', dataset='binarized_mnist', epochs=8, kl_warmup=4, bs=64, lr=2e-3, lr_schedule='onecycle', z_dim=16, quiet=True)
RUNS = {f'{arch} {name}': dict(arch=arch, **kw) for arch in ('resnet', 'reference') for name, kw in
        (('one layer', {}), ('one layer, VampPrior', dict(prior='vamp', n_pseudo=50)),
         ('ladder', dict(z2_dim=8)), ('ladder, VampPrior on top', dict(z2_dim=8, prior='vamp', n_pseudo=50)))}

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--out', default=str(ROOT/'nbs'/'experiments'/'results'/'ladder_sample.json'))
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    ds = DATASETS['binarized_mnist']
    tx = ds().splits(sample=True)['test'][0][:300]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, kw in RUNS.items():
            t = time.perf_counter()
            learn = train(out=f"{tmp}/{len(rows)}", threads=a.threads, **RECIPE, **kw)
            secs = time.perf_counter() - t
            r = iwae_nll(learn.model, tx, k=100)
            hist = [json.loads(l) for l in open(f"{tmp}/{len(rows)}/metrics.jsonl")]
            row = dict(run=name, settings=kw, nll=r['nll'], nll_sem=r['nll_sem'], neg_elbo=-r['elbo'], train_seconds=round(secs, 1),
                       train_kl_per_epoch=[h['train_kl'] for h in hist], valid_kl_per_epoch=[h['valid_kl'] for h in hist])
            if 'z2_dim' in kw:
                with torch.no_grad(): k1, k2 = learn.model.layers(ds.to_model(tx))[3:]
                row.update(kl_z1=k1.mean().item(), kl_z2=k2.mean().item())
            rows.append(row)
            print(f"{name:36} NLL {row['nll']:6.1f} ± {row['nll_sem']:.1f}  -ELBO {row['neg_elbo']:6.1f}  valid KL by epoch "
                  + ' '.join(f'{k:.1f}' for k in row['valid_kl_per_epoch'])
                  + (f"  KL z1 {row['kl_z1']:.1f} z2 {row['kl_z2']:.1f}" if 'kl_z1' in row else '') + f"  {secs:.0f} s", flush=True)
    res = dict(recipe=RECIPE, protocol="NLL: iwae_nll, k = 100, the sample's first 300 test images, binarized as the dataset gives them; KL per layer: one draw per image, nats",
               machine=dict(cpu=cpu_model(), cpu_features=sorted(f for f in cpu_flags() if f.startswith(('avx512', 'amx', 'avx2', 'fma'))),
                            threads=a.threads, load_before=os.getloadavg()[0], torch=str(torch.__version__)),
               date=str(date.today()), command=f'python bench/ladder_sample.py --threads {a.threads}', rows=rows)
    atomic_write(a.out, dumps(res, indent=1) + '\n')
    print(f"wrote {a.out}")
