"""Training speed of the reference's data path against vae_nb's loop, in one process, on the reference's model and loss (and the wider network in (e)).

(a) the reference: torchvision MNIST + Compose([Resize(28), ToTensor(), Normalize(0.5, 0.5)]) + DataLoader(batch 32, shuffle), plain Adam;
(b) vae_nb's Learner at batch 32 (in-memory uint8 batches), the reference's settings;
(b2) the same with channels-last, bf16 autocast and Adam's fused kernel;
(c) vae_nb's Learner at its own recipe's batch size, channels-last;
(d0) the same with bf16 autocast in every layer and Adam's fused kernel;
(d) the same with the decoder's `fp32_layers` in fp32 (the default under bf16: the step of the fast36, fast20, fast16 and fast14 runs);
(e) the wider network (encoder 64-128-128-128, decoder 128-128-128-64) at batch 128 with (d)'s settings.
A shared machine's speed drifts from second to second, so the loops take turns: every round runs each loop for 1,024
images (at batch sizes that divide it) and an fp32 matrix-multiply probe for about as long, each round starting one loop later, and each loop's
speed is its images over its time summed over all rounds. Loops compared with each other thus ran through the same
slow and fast spells. Prints images/s for each, their ratio to the reference, and how close each comes to the fp32
matrix-multiply limit of this machine for its own network's FLOPs.

    python bench/epoch_speed.py [--rounds 32] [--bs 256] [--threads N] [--data_dir DIR] [--save bench/results.json]

The saved JSON records the CPU's model, the feature flags that decide its speed (AVX-512, AVX512_BF16, AMX) and whether
it has native bf16, beside the figures: on a CPU without native bf16 the bf16 lines measure PyTorch's emulation,
which `vae_train --bf16` does not use there (it runs fp32).
"""
import argparse, json, platform, time
from itertools import islice
from functools import partial
import torch
from torch import nn
from torch.utils.data import ConcatDataset, DataLoader
import torchvision.transforms as T
from torchvision.datasets import MNIST

from vae_nb.core import bf16_native, cpu_flags, cpu_model
from vae_nb.data import Batches, data_root, find_mnist, mnist_splits
from vae_nb.model import VAE
from vae_nb.loss import VAEObjective, vae_loss
from vae_nb.learner import DataLoaders, Learner, adam
from vae_nb.speed import ChannelsLast, MixedPrecision

FEATURES = {'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'avx512_fp16', 'amx_tile', 'amx_bf16', 'amx_int8', 'bf16', 'asimd', 'sve'}

def train_flops_per_image(model: VAE) -> float:
    "Multiply-adds of one forward pass, x2 for FLOPs, x3 for forward + backward."
    macs, hooks = [], []
    def hook(m, inp, out):
        k = m.weight[0, 0].numel()
        if isinstance(m, nn.ConvTranspose2d): macs.append(inp[0][0].numel()*m.out_channels*k)
        else: macs.append(out[0].numel()*m.in_channels*k)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)): hooks.append(m.register_forward_hook(hook))
    with torch.no_grad(): model.decoder.forward_layers(model.encoder.forward_layers(torch.zeros(1, 1, 28, 28))[0])  # every layer as a module
    for h in hooks: h.remove()
    return 2*3*sum(macs)

def forever(batches):
    "Batches without end: a new pass (and shuffle) each time one runs out."
    while True: yield from batches

def matmul_probe(n=1024):
    "A stepper of fp32 1024x1024 matrix products; its rate in GFLOP/s is its 'images' (FLOPs/1e9) over its time."
    a, b = torch.randn(n, n), torch.randn(n, n)
    def run(steps):
        for _ in range(steps): a @ b
        return steps*2*n**3/1e9
    return run

def reference_loop(root):
    "A stepper of the reference's data path and training step: `run(steps)` trains `steps` batches of 32, returns the images."
    tf = T.Compose([T.Resize(28), T.ToTensor(), T.Normalize(0.5, 0.5)])
    ds = ConcatDataset([MNIST(root, train=True, transform=tf), MNIST(root, train=False, transform=tf)])
    dl = DataLoader(ds, batch_size=32, shuffle=True, drop_last=True)
    torch.manual_seed(0)
    model = VAE(); opt = torch.optim.Adam(model.parameters(), lr=5e-4)
    it = forever(dl)
    def run(steps):
        for _ in range(steps):
            x, _ = next(it)
            recon, mu, log_var = model(x)
            loss = vae_loss(recon, x, mu, log_var).total
            opt.zero_grad(); loss.backward(); opt.step()
        return steps*32
    return run

WIDE = dict(enc_channels=(64, 128, 128, 128), dec_channels=(128, 128, 128, 64))

def vae_nb_loop(images, labels, bs, channels_last=False, bf16=False, fused=False, fp32_layers=None, **model_kw):
    "A stepper of vae_nb's Learner (the step `vae_train` runs, without writing files or evaluating)."
    torch.manual_seed(0)
    model = VAE(**model_kw)
    if fp32_layers is not None: model.decoder.fp32_layers = tuple(fp32_layers)  # a kernel choice, set on the model
    cbs = []
    if channels_last: model = model.to(memory_format=torch.channels_last); cbs.append(ChannelsLast())
    if bf16: cbs.append(MixedPrecision())
    learn = Learner(model, DataLoaders(Batches(images, labels, bs=bs, shuffle=True, drop_last=True)), VAEObjective(), cbs=cbs,
                    opt_func=partial(adam, fused=fused or None))
    batches = forever(learn.dls.train)
    def run(steps):
        learn.one_pass(islice(batches, steps), training=True)  # a training pass over `steps` batches, as fit runs them
        return steps*bs
    return run

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--rounds', type=int, default=32, help='turns each loop takes, of 1,024 images each')
    p.add_argument('--bs', type=int, default=256, help="batch size of vae_nb's own recipe")
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--data_dir', default=None)
    p.add_argument('--save', default=None, help='also write the figures to this JSON file')
    a = p.parse_args()
    if a.rounds < 3: p.error('--rounds must be 3 or more')
    if a.threads: torch.set_num_threads(a.threads)
    folder = find_mnist(a.data_dir)
    if folder is None: raise SystemExit(f"MNIST not found under {data_root(a.data_dir)}; set VAE_NB_DATA or --data_dir")
    root = folder.parent.parent  # torchvision wants the folder that holds MNIST/raw
    x, y = mnist_splits(a.data_dir)['train']
    flops, wide_flops = train_flops_per_image(VAE()), train_flops_per_image(VAE(**WIDE))
    features = sorted(cpu_flags() & FEATURES)
    print(f"{cpu_model()}: {', '.join(features) or 'no AVX flags read'}; native bf16: {bf16_native('cpu')}", flush=True)
    print(f"threads {torch.get_num_threads()}, {torch.backends.cpu.get_cpu_capability()}; "
          f"one training step costs {flops/1e6:.2f} MFLOP per image", flush=True)
    fast = dict(channels_last=True, bf16=True, fused=True)
    # (stepper, steps per turn, description, FLOPs per image)
    big = max(1, 1024//a.bs)
    loops = dict(reference_32=(reference_loop(root), 32, "(a) reference data path, batch 32", flops),
                 vae_nb_32=(vae_nb_loop(x, y, 32), 32, "(b) vae_nb Learner, batch 32", flops),
                 vae_nb_32_bf16=(vae_nb_loop(x, y, 32, **fast), 32, "(b2) the same, channels-last, bf16, fused Adam", flops),
                 vae_nb_big=(vae_nb_loop(x, y, a.bs, channels_last=True), big, f"(c) vae_nb Learner, batch {a.bs}, channels-last", flops),
                 vae_nb_big_bf16_all=(vae_nb_loop(x, y, a.bs, **fast, fp32_layers=()), big, "(d0) the same, bf16 in every layer, fused Adam", flops),
                 vae_nb_big_bf16=(vae_nb_loop(x, y, a.bs, **fast), big, "(d) the same, bf16 but fp32_layers, fused Adam", flops),
                 wide_128_bf16=(vae_nb_loop(x, y, 128, **fast, **WIDE), 8, "(e) wider network, batch 128, CL, bf16, fused", wide_flops),
                 matmul_gflops=(matmul_probe(), 40, None, None))
    for run, steps, *_ in loops.values(): run(steps); run(steps)  # warm-up: oneDNN primitives, allocator, DataLoader start
    keys = list(loops)
    done, secs = {k: [] for k in keys}, {k: [] for k in keys}
    for r in range(a.rounds):
        for k in keys[r % len(keys):] + keys[:r % len(keys)]:  # each round starts one loop later
            run, steps, *_ = loops[k]
            t = time.perf_counter(); done[k].append(run(steps)); secs[k].append(time.perf_counter() - t)
        if (r + 1) % 10 == 0 or r + 1 == a.rounds: print(f"round {r+1}/{a.rounds}", flush=True)
    rate = {k: sum(done[k])/sum(secs[k]) for k in keys}
    # The spread: the same figure over each third of the rounds.
    thirds = [range(i*a.rounds//3, (i+1)*a.rounds//3) for i in range(3)]
    part = {k: [sum(done[k][i] for i in t)/sum(secs[k][i] for i in t) for t in thirds] for k in keys}
    gflops = rate['matmul_gflops']
    lines = [(k, name, f) for k, (_, _, name, f) in loops.items() if name]
    ratio = {k: rate[k]/rate['reference_32'] for k, _, _ in lines}
    fraction = {k: rate[k]*f/(gflops*1e9) for k, _, f in lines}
    limit, wide_limit = gflops*1e9/flops, gflops*1e9/wide_flops
    spread = lambda k: f"[{min(part[k]):.0f}-{max(part[k]):.0f}]"
    print(f"{a.rounds} interleaved rounds; images/s over all of them [lowest-highest of each third of the rounds]:")
    for k, name, _ in lines:
        print(f"{name+':':48} {rate[k]:6.0f} images/s {spread(k):>12} ({55_000/rate[k]:5.1f} s per epoch)  "
              f"{ratio[k]:.2f}x the reference, {fraction[k]:.0%} of the fp32 limit")
    print(f"fp32 matmul: {gflops:.0f} GFLOP/s {spread('matmul_gflops')}: a limit of {limit:.0f} images/s for the reference's network "
          f"({flops/1e6:.2f} MFLOP per image), {wide_limit:.0f} for the wider one ({wide_flops/1e6:.1f} MFLOP)")
    if a.save:
        res = dict(threads=torch.get_num_threads(), cpu=torch.backends.cpu.get_cpu_capability(), machine=platform.machine(),
                   cpu_model=cpu_model(), cpu_features=features, bf16_native=bf16_native('cpu'), torch=torch.__version__,
                   date=time.strftime('%Y-%m-%d'),
                   mflop_per_image=flops/1e6, wide_mflop_per_image=wide_flops/1e6, vae_nb_bs=a.bs, rounds=a.rounds, **rate,
                   limit=limit, wide_limit=wide_limit, ratio=ratio, fraction=fraction, thirds=part)
        with open(a.save, 'w') as f: json.dump(res, f, indent=2); f.write('\n')
        print(f"wrote {a.save}")
