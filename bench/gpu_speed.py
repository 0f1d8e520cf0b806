"""GPU speed and correctness (issue 16, part 1), every check in one process so that one device call runs them all; prints
each figure as it comes and records them in JSON.

    python bench/gpu_speed.py                      # on a CUDA machine: bench/gpu_results.json
    python bench/gpu_speed.py --quick --device cpu --out /tmp/gpu_quick.json   # a check of the script itself

Parts, in order (each records its error and the script goes on, so that one failure still leaves the other figures):
  1. checks, on 4,096 training images for 2 epochs at batch 32: a seeded run repeats exactly; a run resumed after
     epoch 1 equals an uninterrupted one; the CUDA-graph step against the eager one; no host sync inside a replayed
     epoch (torch.cuda.set_sync_debug_mode('error') from the first replay to the end of the training pass); the
     graph against the same step never captured (exact) and against the eager path (whose Adam computes its bias
     corrections on the host, so not bit-equal); PyTorch's TF32 defaults are recorded, as "fp32" convolutions use them;
  2. end to end, a fresh `python -m vae_nb.train` process from its start to its test_metrics.json (Python's and PyTorch's
     start, the data's loading, training, validation, the test evaluation):
       - the reference configuration: batch 32, Adam 5e-4, 30 epochs, fp32;
       - the fast recipe: --bs 256 --lr 6e-3 --beta2 0.95 --lr_schedule onecycle --epochs 14 --bf16 --channels_last --fused;
     a run that fails with the CUDA graph is run again with --no_cuda_graph, and both are recorded;
  3. the training step's images per second at batch 32 and 256: vae_nb's whole loop (Batches on the GPU, the metrics,
     the schedule; the step captured by CUDAGraphStep, with cuDNN's deterministic algorithms as train uses them, and
     without them), and a probe of the same step captured by hand (Adam with capturable=True), the probe the issue
     measured at 42,000 and 211,000 img/s.
--quick runs every part at toy size (the sample, 1 epoch, a few steps), to test the script on a CPU before a GPU's time
is spent on it; on a CPU the CUDA-only parts say so. Needs the full MNIST (VAE_NB_DATA) unless --quick.
"""
import argparse, json, os, platform, subprocess, sys, tempfile, time, traceback
from datetime import date
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REFERENCE = []
FAST = ['--bs', '256', '--lr', '6e-3', '--beta2', '0.95', '--lr_schedule', 'onecycle', '--epochs', '14', '--bf16', '--channels_last', '--fused']
PROBE_ISSUE = {32: 42_000, 256: 211_000}  # the issue's hand-captured step on an H200, img/s

def guarded(name:str, res:dict, fn, *args, **kw):
    "Run `fn`, keeping its result in `res[name]`, or its error there if it fails."
    t0 = time.perf_counter()
    try: res[name] = fn(*args, **kw)
    except Exception as e:
        res[name] = dict(error=f"{type(e).__name__}: {e}"[:2000], traceback=traceback.format_exc()[-4000:])
        print(f"{name}: FAILED: {type(e).__name__}: {str(e)[:300]}", flush=True)
    print(f"  ({name}: {time.perf_counter() - t0:.1f} s)", flush=True)
    return res[name]

def max_diff(a, b) -> float:
    "Largest absolute difference between two models' weights."
    sa, sb = a.state_dict(), b.state_dict()
    return max((sa[k].float().cpu() - sb[k].float().cpu()).abs().max().item() for k in sa)

def one_config(name:str, extra:dict, kw:dict, tmp:Path, device:str) -> dict:
    "Repeat, resume and graph against eager for one configuration of the step."
    from unittest import mock
    from vae_nb.train import train
    from vae_nb.speed import CUDAGraphStep
    o = {}
    a = train(epochs=2, out=tmp/f'{name}_a', save_every=1, **kw, **extra); b = train(epochs=2, out=tmp/f'{name}_b', **kw, **extra)
    o['repeat_max_diff'] = max_diff(a.model, b.model)  # an interrupted run, as a one-cycle schedule sees it: epoch 1 of 2, resumed
    c = train(epochs=2, resume=str(tmp/f'{name}_a'/'epoch_001.pt'), out=tmp/f'{name}_c', device=device, quiet=True)
    o['resume_max_diff'] = max_diff(a.model, c.model)
    e = train(epochs=2, out=tmp/f'{name}_e', cuda_graph=False, **kw, **extra)  # the eager step: Adam's arithmetic differs (host bias corrections)
    o['graph_vs_eager_max_diff'] = max_diff(a.model, e.model)
    def never(self, warmup=10**9): self.warmup = warmup
    with mock.patch.object(CUDAGraphStep, '__init__', never): n = train(epochs=2, out=tmp/f'{name}_n', **kw, **extra)
    o['graph_vs_uncaptured_max_diff'] = max_diff(a.model, n.model)  # the same step and optimizer, never captured: should be 0
    o['graph_test_total'], o['eager_test_total'] = a.test_metrics['total'], e.test_metrics['total']
    o['graph_train_totals'], o['eager_train_totals'] = [[r['train_total'] for r in l.history] for l in (a, e)]  # the metrics read from replayed steps
    print(f"{name} step: seeded run repeated, largest weight difference {o['repeat_max_diff']:.3g}; resumed after epoch 1 against "
          f"uninterrupted {o['resume_max_diff']:.3g}; CUDA graph against the same step uncaptured {o['graph_vs_uncaptured_max_diff']:.3g}, "
          f"against the eager path {o['graph_vs_eager_max_diff']:.3g}; train Total per epoch, graph {[round(v, 5) for v in o['graph_train_totals']]}, "
          f"eager {[round(v, 5) for v in o['eager_train_totals']]}", flush=True)
    return o

def no_sync(kw:dict, tmp:Path) -> bool:
    "A run in which any sync with the host from the first replay to the end of each training pass raises."
    from vae_nb.train import train
    from vae_nb.speed import CUDAGraphStep
    step, after = CUDAGraphStep.batch_step, CUDAGraphStep.after_train
    def watched_step(self, learn, inner):
        step(self, learn, inner)
        if learn.training and self.replay is not None: torch.cuda.set_sync_debug_mode('error')
    def watched_after(self, learn): torch.cuda.set_sync_debug_mode(0); after(self, learn)
    CUDAGraphStep.batch_step, CUDAGraphStep.after_train = watched_step, watched_after
    try: train(epochs=2, out=tmp/'sync', **dict(kw, progress=True), bf16=True, channels_last=True, fused=True, lr_schedule='onecycle', kl_warmup=1)
    finally: CUDAGraphStep.batch_step, CUDAGraphStep.after_train = step, after; torch.cuda.set_sync_debug_mode(0)
    print("no host sync inside a replayed epoch (one-cycle, KL warm-up, bf16, channels-last, fused Adam, progress bar)", flush=True)
    return True

def checks(device:str, quick:bool) -> dict:
    "Each configuration's checks, and the no-sync run, each kept (or its error) whatever the others do."
    tmp = Path(tempfile.mkdtemp(prefix='gpu_checks-'))
    kw = dict(train_subset=512 if quick else 4096, sample=quick, device=device, quiet=True)
    out = {}
    for name, extra in (('reference', {}), ('fast', dict(bf16=True, channels_last=True, fused=True, lr_schedule='onecycle', kl_warmup=1))):
        guarded(name, out, one_config, name, extra, kw, tmp, device)
    if device.startswith('cuda'): guarded('no_sync_in_epoch', out, no_sync, kw, tmp)
    return out

def end_to_end(flags:list, device:str, quick:bool) -> dict:
    "Seconds from a fresh process's start to its test_metrics.json, and the test metrics."
    out = Path(tempfile.mkdtemp(prefix='gpu_speed-'))/'run'
    if quick:  # the recipe at toy size: the sample, 1 epoch
        if '--epochs' in flags: i = flags.index('--epochs'); flags = flags[:i] + flags[i+2:]
        flags = flags + ['--sample', '--train_subset', '512', '--epochs', '1']
    cmd = [sys.executable, '-m', 'vae_nb.train', *flags, '--device', device, '--out', str(out), '--no_progress']
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if r.returncode != 0: raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}")
    test = json.loads((out/'test_metrics.json').read_text())
    history = [json.loads(l) for l in (out/'metrics.jsonl').read_text().splitlines()]
    return dict(seconds=round(wall, 2), test_total=test['total'], epochs=test['epochs'], epoch_seconds=[round(h['seconds'], 3) for h in history],
                command=' '.join(['python -m vae_nb.train', *flags, '--device', device]))

def run_both(name:str, flags:list, device:str, quick:bool, res:dict):
    "The run with the CUDA graph, and again without it if that fails."
    r = guarded(name, res, end_to_end, flags, device, quick)
    if 'error' in r and device.startswith('cuda'): r = guarded(name + '_eager', res, end_to_end, flags + ['--no_cuda_graph'], device, quick)
    if 'error' not in r: print(f"{name}, end to end: {r['seconds']:.1f} s, test Total {r['test_total']:.5f}", flush=True)
    return r

def loop_speed(bs:int, device:str, steps:int, deterministic:bool=True) -> float:
    "Images per second of vae_nb's own training loop at batch `bs` (the reference network, fp32), after its warm-up and capture."
    from vae_nb.data import Batches
    from vae_nb.learner import Callback, DataLoaders, DeviceCB, Learner, adam
    from vae_nb.speed import CUDAGraphStep
    from vae_nb.loss import VAEObjective
    from vae_nb.model import build_model
    from vae_nb.train import TrainConfig
    from vae_nb.metrics import VAEMetrics
    cuda = device.startswith('cuda')
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    skip = 10
    class Clock(Callback):
        def before_batch(self, learn):
            if learn.iter == skip: sync(); self.t0 = time.perf_counter()
        def after_train(self, learn): sync(); self.t1 = time.perf_counter()
    torch.manual_seed(0)
    images = torch.randint(0, 256, (bs*(steps + skip), 1, 28, 28), dtype=torch.uint8)
    model = build_model(TrainConfig().model_spec()).to(device)
    clock = Clock()
    cbs = [DeviceCB(device), VAEMetrics(), clock] + ([CUDAGraphStep()] if cuda else [])
    learn = Learner(model, DataLoaders(Batches(images, bs=bs, shuffle=True, drop_last=True, device=device)), VAEObjective('gaussian', 0.001), cbs=cbs, opt_func=adam)
    cudnn = torch.backends.cudnn; flags = cudnn.benchmark, cudnn.deterministic
    cudnn.benchmark, cudnn.deterministic = False, deterministic
    try: learn.fit(1)
    finally: cudnn.benchmark, cudnn.deterministic = flags
    return bs*steps/(clock.t1 - clock.t0)

def probe_speed(bs:int, device:str, steps:int) -> float:
    "Images per second of the step captured by hand in a CUDA graph: stock layers, data on the GPU, Adam with capturable=True."
    from vae_nb.model import build_model
    from vae_nb.train import TrainConfig
    from vae_nb.loss import VAEObjective
    torch.manual_seed(0)
    model = build_model(TrainConfig().model_spec()).to(device)
    obj = VAEObjective('gaussian', 0.001)
    opt = torch.optim.Adam(model.parameters(), 5e-4, capturable=True)
    x = torch.rand(bs, 1, 28, 28, device=device)*2 - 1
    def step():
        opt.zero_grad(set_to_none=False)
        loss = obj(model(x), x); loss.backward(); opt.step()
    s = torch.cuda.Stream(); s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3): step()  # warm-up on a side stream, as torch.cuda.graph asks
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g): step()
    torch.cuda.synchronize(); t0 = time.perf_counter()
    for _ in range(steps): g.replay()
    torch.cuda.synchronize()
    return bs*steps/(time.perf_counter() - t0)

def speeds(device:str, quick:bool) -> dict:
    cuda, steps, out = device.startswith('cuda'), (5 if quick else 1000), {}
    for bs in (32, 256):
        out[f'loop_img_per_s_bs{bs}'] = round(loop_speed(bs, device, steps))
        line = f"training step, batch {bs}: vae_nb's loop {out[f'loop_img_per_s_bs{bs}']:,} img/s"
        if cuda:
            out[f'loop_nondeterministic_img_per_s_bs{bs}'] = round(loop_speed(bs, device, steps, deterministic=False))
            out[f'graph_probe_img_per_s_bs{bs}'] = probe = round(probe_speed(bs, device, steps))
            out[f'loop_vs_probe_bs{bs}'] = round(out[f'loop_img_per_s_bs{bs}']/probe, 3)
            out[f'loop_vs_issue_probe_bs{bs}'] = round(out[f'loop_img_per_s_bs{bs}']/PROBE_ISSUE[bs], 3)
            line += (f" ({out[f'loop_nondeterministic_img_per_s_bs{bs}']:,} without cuDNN's deterministic algorithms); probe {probe:,} img/s here, "
                     f"{PROBE_ISSUE[bs]:,} in the issue: the loop is {out[f'loop_vs_probe_bs{bs}']:.0%} and {out[f'loop_vs_issue_probe_bs{bs}']:.0%} of them")
        print(line, flush=True)
    return out

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--device', default='cuda')
    p.add_argument('--quick', action='store_true', help='toy sizes, to test the script')
    p.add_argument('--out', default=str(ROOT/'bench'/'gpu_results.json'))
    p.add_argument('--skip', default='', help='comma-separated parts to leave out: checks, reference, fast, speeds')
    args = p.parse_args()
    skip = set(filter(None, args.skip.split(',')))
    cuda = args.device.startswith('cuda')
    if cuda and not torch.cuda.is_available(): raise SystemExit("gpu_speed: no CUDA device here (use --device cpu --quick to test the script)")
    t_start = time.perf_counter()
    res = dict(machine=torch.cuda.get_device_name() if cuda else platform.processor() or 'cpu', torch=torch.__version__,
               cuda=torch.version.cuda if cuda else None, date=str(date.today()), quick=args.quick,
               cudnn_allow_tf32=torch.backends.cudnn.allow_tf32, matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32)  # "fp32" convolutions are TF32 by default
    def save(): Path(args.out).write_text(json.dumps(res, indent=1) + '\n')  # after every part: a run cut short keeps what it measured
    if 'checks' not in skip: guarded('checks', res, checks, args.device, args.quick); save()
    if 'reference' not in skip:
        ref = run_both('reference', REFERENCE, args.device, args.quick, res)
        if 'seconds' in ref: res.update(reference_config_seconds=ref['seconds'], reference_config_test_total=ref['test_total'])
        save()
    if 'fast' not in skip:
        fast = run_both('fast', FAST, args.device, args.quick, res)
        if 'seconds' in fast: res.update(fast_recipe_seconds=fast['seconds'], fast_recipe_test_total=fast['test_total'])
        save()
    if 'speeds' not in skip: guarded('speeds', res, speeds, args.device, args.quick)
    res['script_seconds'] = round(time.perf_counter() - t_start, 1)
    save(); print(f"wrote {args.out} ({res['script_seconds']} s)")
