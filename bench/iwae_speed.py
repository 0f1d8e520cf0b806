"""The IWAE evaluation's pace: decoder passes per second of `iwae_nll` for each network, fp32 and bf16, and what the
published protocol (k = 5000 on the 10,000 test images) would take at that pace. Prints each figure and records them.

    python bench/iwae_speed.py [--threads 2] [--k 500] [--n 40] [--out nbs/experiments/results/iwae_speed.json]

The networks are untrained Bernoulli ones (the pace does not depend on the weights), on the first N images of the
shipped binarized sample; `iwae_nll` decodes N·k draws (a channels-last copy of the model on a CPU). bf16 is timed
only where the CPU computes in it (AVX512_BF16 or AMX); elsewhere it is emulated and slower, and is skipped.
"""
import argparse, json, os, time
from datetime import date
from pathlib import Path

import torch

from vae_nb.core import bf16_native, cpu_flags, cpu_model
from vae_nb.data import get_dataset
from vae_nb.evaluate import iwae_nll
from vae_nb.model import ARCHS, build_model
from vae_nb.train import TrainConfig

ROOT = Path(__file__).resolve().parent.parent

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--threads', type=int, default=os.cpu_count())
    p.add_argument('--k', type=int, default=500)
    p.add_argument('--n', type=int, default=40)
    p.add_argument('--out', default=str(ROOT/'nbs'/'experiments'/'results'/'iwae_speed.json'))
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    images = get_dataset('binarized_mnist').splits(sample=True)['test'][0][:a.n]
    cpu = cpu_model()
    res = dict(machine=dict(cpu=cpu, cpu_features=sorted(f for f in cpu_flags() if f.startswith(('avx512', 'amx', 'avx2', 'fma'))),
                            bf16_native=bf16_native(), threads=a.threads, torch=torch.__version__),
               date=str(date.today()), k=a.k, n_images=a.n, rows=[])
    for arch in ARCHS:
        torch.manual_seed(0)
        model = build_model(TrainConfig(arch=arch, likelihood='bernoulli', dataset='binarized_mnist').model_spec())
        for bf16 in ([False, True] if bf16_native() else [False]):
            iwae_nll(model, images[:4], k=50, bf16=bf16)  # warm-up
            r = iwae_nll(model, images, k=a.k, bf16=bf16)
            rate = a.n*a.k/r['seconds']
            row = dict(arch=arch, bf16=bf16, seconds=round(r['seconds'], 2), decodes_per_s=round(rate), protocol_hours=round(5000*10_000/rate/3600, 2))
            res['rows'].append(row)
            print(f"{arch:10} {'bf16' if bf16 else 'fp32'}: {rate:,.0f} decoder passes/s on {a.threads} threads; k = 5000 on 10,000 images: {row['protocol_hours']:.2f} h", flush=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
    print(f"wrote {a.out}")
