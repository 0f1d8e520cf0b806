"""The IWAE evaluation's pace, and the floor the CPU's arithmetic sets: decoder passes per second of `iwae_nll` for
each network (fp32, and bf16 where the CPU computes in it), the decoder's floating-point operations per pass, the
machine's own matrix-multiply rate, and what the published protocol (k = 5000 on the 10,000 test images, 50 million
decoder passes) takes at each. Prints each figure and records them.

    python bench/iwae_speed.py [--threads 2] [--k 500] [--n 40] [--out nbs/experiments/results/iwae_speed.json]

The networks are untrained Bernoulli ones (the pace does not depend on the weights), on the first N images of the
shipped binarized sample; `iwae_nll` decodes N·k draws (a channels-last copy of the model on a CPU). The floor is the
protocol's operations divided by the rate of a large square matrix multiply on the same threads, which no network
of small convolutions exceeds: a pace below it is the code's, a protocol time near it is the machine's.
`iwae_nll(compile=True)` is timed too, on --compile, with its NLL's difference from eager decoding.
"""
import argparse, inspect, json, os, time
from datetime import date
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from vae_nb.core import bf16_native, cpu_flags, cpu_model
from vae_nb.data import get_dataset
from vae_nb.evaluate import iwae_nll
from vae_nb.model import ARCHS, build_model
from vae_nb.train import TrainConfig

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = 5000*10_000  # decoder passes of k = 5000 on 10,000 images

def decoder_flops(model) -> float:
    "Floating-point operations of one decoder pass (a multiply-add counts 2)."
    with FlopCounterMode(display=False) as fc, torch.no_grad(): model.decode(torch.randn(100, model.z_dim))
    return fc.get_total_flops()/100

def matmul_gflops(dtype=torch.float32, n:int=2048, reps:int=10) -> float:
    "The rate of an n x n matrix multiply on the current threads, in GFLOP/s."
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    for _ in range(2): a @ b
    t = time.perf_counter()
    for _ in range(reps): a @ b
    return 2*n**3*reps/(time.perf_counter() - t)/1e9

def compiled_rate(model, images, k:int, eager:dict) -> dict:
    "iwae_nll with compile=True on the images `eager` was measured on: its pace, and how far its NLL is from eager's."
    iwae_nll(model, images, k=k, compile=True)  # compiles (the full and the last, smaller step), timed apart
    r = iwae_nll(model, images, k=k, compile=True)
    return dict(decodes_per_s=round(len(images)*k/r['seconds']), nll_difference=abs(r['nll'] - eager['nll']))

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--threads', type=int, default=os.cpu_count())
    p.add_argument('--k', type=int, default=500)
    p.add_argument('--n', type=int, default=40)
    p.add_argument('--compile', action='store_true', help='also time the decoder under torch.compile')
    p.add_argument('--out', default=str(ROOT/'nbs'/'experiments'/'results'/'iwae_speed.json'))
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    images = get_dataset('binarized_mnist').splits(sample=True)['test'][0][:a.n]
    peak = {'fp32': matmul_gflops()}
    if bf16_native(): peak['bf16'] = matmul_gflops(torch.bfloat16)
    print(', '.join(f"{k} matrix multiply: {v:.0f} GFLOP/s" for k, v in peak.items()) + f" on {a.threads} threads", flush=True)
    res = dict(machine=dict(cpu=cpu_model(), cpu_features=sorted(f for f in cpu_flags() if f.startswith(('avx512', 'amx', 'avx2', 'fma'))),
                            bf16_native=bf16_native(), threads=a.threads, torch=torch.__version__),
               date=str(date.today()), k=a.k, n_images=a.n, protocol_decodes=PROTOCOL,
               matmul_gflops={k: round(v, 1) for k, v in peak.items()}, rows=[])
    for arch in [a for a, c in ARCHS.items() if 'base' not in inspect.signature(c).parameters]:  # the networks; cvae and ladder decode with one of them
        torch.manual_seed(0)
        model = build_model(TrainConfig(arch=arch, likelihood='bernoulli', dataset='binarized_mnist').model_spec())
        flops = decoder_flops(model)
        for bf16 in ([False, True] if bf16_native() else [False]):
            iwae_nll(model, images[:4], k=50, bf16=bf16)  # warm-up
            r = iwae_nll(model, images, k=a.k, bf16=bf16)
            rate, prec = a.n*a.k/r['seconds'], 'bf16' if bf16 else 'fp32'
            floor_h = PROTOCOL*flops/(peak[prec]*1e9)/3600
            row = dict(arch=arch, bf16=bf16, seconds=round(r['seconds'], 2), decodes_per_s=round(rate), mflops_per_decode=round(flops/1e6, 2),
                       gflops=round(rate*flops/1e9, 1), protocol_hours=round(PROTOCOL/rate/3600, 2), floor_hours=round(floor_h, 2))
            res['rows'].append(row)
            if a.compile and not bf16:
                c = compiled_rate(model, images, a.k, r)
                row.update(compiled_decodes_per_s=c['decodes_per_s'], compiled_protocol_hours=round(PROTOCOL/c['decodes_per_s']/3600, 2), compiled_nll_difference=c['nll_difference'])
                print(f"{arch:10} {prec} under torch.compile: {c['decodes_per_s']:,} passes/s, NLL within {c['nll_difference']:.1e} of eager", flush=True)
            print(f"{arch:10} {prec}: {rate:,.0f} decoder passes/s on {a.threads} threads ({flops/1e6:.1f} MFLOP each, {row['gflops']:.0f} GFLOP/s); "
                  f"k = 5000 on 10,000 images: {row['protocol_hours']:.2f} h (at the matrix-multiply rate: {floor_h:.2f} h)", flush=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
    print(f"wrote {a.out}")
