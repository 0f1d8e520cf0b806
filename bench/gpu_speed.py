"""GPU speed (issue 16): the reference experiment end to end, the fast recipe end to end, and the training step's
images per second against a CUDA-graph probe of the same step; prints each figure and records them in JSON.

    python bench/gpu_speed.py                      # on a CUDA machine: bench/gpu_results.json
    python bench/gpu_speed.py --quick --device cpu --out /tmp/gpu_quick.json   # a check of the script itself

End to end is a fresh `python -m vae_nb.train` process, from its start to its `test_metrics.json`, so it counts
Python's and PyTorch's start, the data's loading, training, validation and the test evaluation:
  - the reference configuration: batch 32, Adam 5e-4, 30 epochs, fp32;
  - the fast recipe: --bs 256 --lr 6e-3 --beta2 0.95 --lr_schedule onecycle --epochs 14 --bf16 --channels_last --fused.
The step is timed in this process on random images, for the model as vae_nb trains it (forward, loss, backward,
Adam) and, on CUDA, for the same step captured once in a CUDA graph and replayed (Adam with capturable=True), the
probe the issue measured. --quick runs every part at toy size (the sample, 1 epoch, a few steps), to test the script
on a CPU before a GPU's time is spent on it. Needs the full MNIST (VAE_NB_DATA) unless --quick.
"""
import argparse, json, os, subprocess, sys, tempfile, time
from datetime import date
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = []
FAST = ['--bs', '256', '--lr', '6e-3', '--beta2', '0.95', '--lr_schedule', 'onecycle', '--epochs', '14', '--bf16', '--channels_last', '--fused']

def end_to_end(flags:list, device:str, quick:bool) -> dict:
    "Seconds from a fresh process's start to its test_metrics.json, and the test metrics."
    out = Path(tempfile.mkdtemp(prefix='gpu_speed-'))/'run'
    if quick:  # the recipe at toy size: the sample, 1 epoch
        if '--epochs' in flags: i = flags.index('--epochs'); flags = flags[:i] + flags[i+2:]
        flags = flags + ['--sample', '--train_subset', '512', '--epochs', '1']
    cmd = [sys.executable, '-m', 'vae_nb.train', *flags, '--device', device, '--out', str(out), '--no_progress']
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0: raise SystemExit(f"gpu_speed: {' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    test = json.loads((out/'test_metrics.json').read_text())
    history = [json.loads(l) for l in (out/'metrics.jsonl').read_text().splitlines()]
    return dict(seconds=round(wall, 2), test_total=test['total'], epochs=test['epochs'], epoch_seconds=[round(h['seconds'], 3) for h in history],
                command=' '.join(['python -m vae_nb.train', *flags, '--device', device]))

def step_speed(bs:int, device:str, steps:int, graph:bool) -> float:
    "Images per second of the training step at batch `bs`: vae_nb's model eagerly, or (graph=True) captured in a CUDA graph."
    from vae_nb.model import build_model
    from vae_nb.train import TrainConfig
    from vae_nb.loss import VAEObjective
    torch.manual_seed(0)
    model = build_model(TrainConfig().model_spec()).to(device)
    obj = VAEObjective('gaussian', 0.001)
    opt = torch.optim.Adam(model.parameters(), 5e-4, capturable=graph)
    x = torch.rand(bs, 1, 28, 28, device=device)*2 - 1
    def step():
        opt.zero_grad(set_to_none=False)
        loss = obj(model(x), x); loss.backward(); opt.step()
        return loss
    if graph:
        s = torch.cuda.Stream(); s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3): step()  # warm-up on a side stream, as torch.cuda.graph asks
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g): step()
        run = g.replay
    else:
        for _ in range(3): step()
        run = step
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    sync(); t0 = time.perf_counter()
    for _ in range(steps): run()
    sync()
    return bs*steps/(time.perf_counter() - t0)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--device', default='cuda')
    p.add_argument('--quick', action='store_true', help='toy sizes, to test the script')
    p.add_argument('--out', default=str(ROOT/'bench'/'gpu_results.json'))
    args = p.parse_args()
    cuda = args.device.startswith('cuda')
    if cuda and not torch.cuda.is_available(): raise SystemExit("gpu_speed: no CUDA device here (use --device cpu --quick to test the script)")
    res = dict(machine=torch.cuda.get_device_name() if cuda else 'cpu', torch=torch.__version__, date=str(date.today()), quick=args.quick)
    ref = end_to_end(REFERENCE, args.device, args.quick); print(f"reference configuration, end to end: {ref['seconds']:.1f} s, test Total {ref['test_total']:.5f}", flush=True)
    fast = end_to_end(FAST, args.device, args.quick); print(f"fast recipe, end to end: {fast['seconds']:.1f} s, test Total {fast['test_total']:.5f}", flush=True)
    res.update(reference_config_seconds=ref['seconds'], reference_config_test_total=ref['test_total'], fast_recipe_seconds=fast['seconds'],
               fast_recipe_test_total=fast['test_total'], runs=dict(reference=ref, fast=fast))
    steps = 5 if args.quick else 300
    for bs in (32, 256):
        eager = step_speed(bs, args.device, steps, graph=False)
        probe = step_speed(bs, args.device, steps, graph=True) if cuda else None
        res[f'step_img_per_s_bs{bs}'] = round(eager); res[f'graph_probe_img_per_s_bs{bs}'] = round(probe) if probe else None
        print(f"training step, batch {bs}: {eager:,.0f} img/s" + (f"; CUDA-graph probe {probe:,.0f} img/s ({eager/probe:.0%} of it)" if probe else ''), flush=True)
    Path(args.out).write_text(json.dumps(res, indent=1) + '\n')
    print(f"wrote {args.out}")
