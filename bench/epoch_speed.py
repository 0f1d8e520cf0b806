"""Training speed of the reference's data path against vae_nb's loop, in one process, on the reference's model, loss and optimizer (and the wider network in (e)).

(a) the reference: torchvision MNIST + Compose([Resize(28), ToTensor(), Normalize(0.5, 0.5)]) + DataLoader(batch 32, shuffle);
(b) vae_nb's Learner at batch 32 (in-memory uint8 batches), and (b2) the same with channels-last and bf16 autocast;
(c) vae_nb's Learner at its own recipe's batch size, channels-last;
(d) the same with the forward pass under bfloat16 autocast;
(e) the wider network's recipe (encoder 64-128-128-128, decoder 128-128-128-64, batch 128, channels-last, bf16).
Each loop is timed `--reps` times, interleaved, and the median is reported, because a shared machine's speed drifts.
Prints images/s for each, their ratios, and how close each comes to the fp32 matrix-multiply limit of this machine
for its own network's FLOPs.

    python bench/epoch_speed.py [--steps 150] [--bs 256] [--reps 3] [--threads N] [--data_dir DIR] [--save bench/results.json]
"""
import argparse, json, platform, statistics, time
import torch
from torch import nn
from torch.utils.data import ConcatDataset, DataLoader
import torchvision.transforms as T
from torchvision.datasets import MNIST

from vae_nb.data import Batches, data_root, find_mnist, mnist_splits
from vae_nb.model import VAE
from vae_nb.loss import vae_loss
from vae_nb.train import Learner, Callback, CancelFit, ChannelsLast, MixedPrecision

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

def matmul_gflops(n=1024, reps=30) -> float:
    "Sustained fp32 matrix-multiply rate of this machine at the current thread count."
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(5): a @ b
    t = time.perf_counter()
    for _ in range(reps): a @ b
    return 2*n**3*reps/(time.perf_counter() - t)/1e9

def time_reference(root, steps, warmup):
    "Images/s of the reference's data path and training step."
    tf = T.Compose([T.Resize(28), T.ToTensor(), T.Normalize(0.5, 0.5)])
    ds = ConcatDataset([MNIST(root, train=True, transform=tf), MNIST(root, train=False, transform=tf)])
    dl = DataLoader(ds, batch_size=32, shuffle=True, drop_last=True)
    torch.manual_seed(0)
    model = VAE(); opt = torch.optim.Adam(model.parameters(), lr=5e-4)
    it = iter(dl)
    for i in range(warmup + steps):
        if i == warmup: t = time.perf_counter()
        x, _ = next(it)
        recon, mu, log_var = model(x)
        loss = vae_loss(recon, x, mu, log_var).total
        opt.zero_grad(); loss.backward(); opt.step()
    return steps*32/(time.perf_counter() - t)

class _Timer(Callback):
    "Start the clock after `warmup` steps, stop the fit after `warmup + steps`."
    def __init__(self, steps, warmup): self.steps, self.warmup = steps, warmup
    def after_batch(self, learn):
        if learn.step == self.warmup: self.t = time.perf_counter()
        if learn.step == self.warmup + self.steps:
            self.rate = self.steps*len(learn.xb)/(time.perf_counter() - self.t)
            raise CancelFit()

WIDE = dict(enc_channels=(64, 128, 128, 128), dec_channels=(128, 128, 128, 64))

def time_vae_nb(images, labels, bs, steps, warmup, channels_last=False, bf16=False, **model_kw):
    "Images/s of vae_nb's Learner (the loop `vae_train` runs, without writing files)."
    torch.manual_seed(0)
    model = VAE(**model_kw)
    timer = _Timer(steps, warmup)
    cbs = [timer]
    if channels_last:
        model = model.to(memory_format=torch.channels_last); cbs.append(ChannelsLast())
    if bf16: cbs.append(MixedPrecision())
    learn = Learner(model, Batches(images, labels, bs=bs, shuffle=True, drop_last=True), cbs=cbs)
    learn.fit(10**6)
    return timer.rate

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--steps', type=int, default=150, help='timed steps at batch 32 (fewer at the larger batch)')
    p.add_argument('--bs', type=int, default=256, help="batch size of vae_nb's own recipe")
    p.add_argument('--reps', type=int, default=3, help='timings of each loop, interleaved; the median is reported')
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--data_dir', default=None)
    p.add_argument('--save', default=None, help='also write the figures to this JSON file')
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    if find_mnist(a.data_dir) is None: raise SystemExit(f"MNIST not found under {data_root(a.data_dir)}; set VAE_NB_DATA or --data_dir")
    folder = find_mnist(a.data_dir)
    root = folder.parent.parent  # torchvision wants the folder that holds MNIST/raw
    x, y = mnist_splits(a.data_dir)['train']
    flops = train_flops_per_image(VAE())
    print(f"threads {torch.get_num_threads()}, {torch.backends.cpu.get_cpu_capability()}; "
          f"one training step costs {flops/1e6:.2f} MFLOP per image")
    big_steps = max(20, a.steps*64//a.bs)  # twice the images of the batch-32 loops: a big batch's step is longer to settle
    wide_flops = train_flops_per_image(VAE(**WIDE))
    loops = dict(reference_32=lambda: time_reference(root, a.steps, 20),
                 vae_nb_32=lambda: time_vae_nb(x, y, 32, a.steps, 20),
                 vae_nb_32_bf16=lambda: time_vae_nb(x, y, 32, a.steps, 20, channels_last=True, bf16=True),
                 vae_nb_big=lambda: time_vae_nb(x, y, a.bs, big_steps, 5, channels_last=True),
                 vae_nb_big_bf16=lambda: time_vae_nb(x, y, a.bs, big_steps, 5, channels_last=True, bf16=True),
                 wide_128_bf16=lambda: time_vae_nb(x, y, 128, max(1, a.steps//2), 5, channels_last=True, bf16=True, **WIDE),
                 matmul_gflops=matmul_gflops)
    runs, keys = {k: [] for k in loops}, list(loops)
    for rep in range(a.reps):
        for k in keys[rep % len(keys):] + keys[:rep % len(keys)]: runs[k].append(loops[k]())  # each rep starts one loop later
        print(f"rep {rep+1}/{a.reps}: " + ", ".join(f"{k} {v[-1]:.0f}" for k,v in runs.items()), flush=True)
    med = {k: statistics.median(v) for k,v in runs.items()}
    # Ratios and fractions are taken within each rep, whose loops ran minutes apart at most, then their median:
    # that cancels the machine's slower drift better than a ratio of medians.
    lines = [('reference_32', "(a) reference data path, batch 32", flops), ('vae_nb_32', "(b) vae_nb Learner, batch 32", flops),
             ('vae_nb_32_bf16', "(b2) the same, channels-last, bf16", flops),
             ('vae_nb_big', f"(c) vae_nb Learner, batch {a.bs}, channels-last", flops),
             ('vae_nb_big_bf16', "(d) the same, bf16 autocast", flops), ('wide_128_bf16', "(e) wider network, batch 128, CL, bf16", wide_flops)]
    ratio = {k: statistics.median(r/r0 for r, r0 in zip(runs[k], runs['reference_32'])) for k, _, _ in lines}
    fraction = {k: statistics.median(r*f/(g*1e9) for r, g in zip(runs[k], runs['matmul_gflops'])) for k, _, f in lines}
    gflops = med['matmul_gflops']
    limit, wide_limit = gflops*1e9/flops, gflops*1e9/wide_flops
    spread = lambda k: f"[{min(runs[k]):.0f}-{max(runs[k]):.0f}]"
    print(f"medians of {a.reps} runs [range]; ratios and fractions of the fp32 limit are medians of each run's own:")
    for k, name, _ in lines:
        print(f"{name+':':47} {med[k]:6.0f} images/s {spread(k):>12} ({55_000/med[k]:5.1f} s per epoch)  "
              f"{ratio[k]:.2f}x the reference, {fraction[k]:.0%} of the fp32 limit")
    print(f"fp32 matmul: {gflops:.0f} GFLOP/s {spread('matmul_gflops')}: a limit of {limit:.0f} images/s for the reference's network "
          f"({flops/1e6:.2f} MFLOP per image), {wide_limit:.0f} for the wider one ({wide_flops/1e6:.1f} MFLOP)")
    if a.save:
        res = dict(threads=torch.get_num_threads(), cpu=torch.backends.cpu.get_cpu_capability(), machine=platform.machine(),
                   mflop_per_image=flops/1e6, wide_mflop_per_image=wide_flops/1e6, vae_nb_bs=a.bs, reps=a.reps, **med,
                   limit=limit, wide_limit=wide_limit, ratio=ratio, fraction=fraction, runs=runs)
        with open(a.save, 'w') as f: json.dump(res, f, indent=2)
        print(f"wrote {a.save}")
