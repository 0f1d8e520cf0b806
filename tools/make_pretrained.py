"""Make vae_nb's pretrained model: train the recipe, evaluate it on the three splits, and write the checkpoint and its
provenance (settings, data checksums, metrics, wall time, machine) beside it.

    python tools/make_pretrained.py                       # writes vae_nb/assets/pretrained.pt and pretrained.json
    python tools/make_pretrained.py --dest /tmp/pre.pt    # somewhere else (the .json goes beside it)
    python tools/make_pretrained.py --describe            # only (re)write the .json of the shipped checkpoint
    python tools/make_pretrained.py --from_run RUN --name NAME [--eval EVAL.json] [--threads N] [--note TEXT]
                                                          # ship a finished run's last.pt as vae_nb/assets/NAME.pt
                                                          # (a name in model.PRETRAINED), with its .json
    python tools/make_pretrained.py --upgrade             # rewrite every shipped checkpoint's model spec as this
                                                          # vae_nb writes it: the same weights, metrics and provenance

The last form makes the other pretrained models (`resnet`, `bernoulli`, `fashion_mnist`, `cvae`) from run folders of `vae_train`:
it keeps the weights alone, evaluates them on the three splits of the run's dataset, and records the run's settings,
training seconds (summed from its metrics.jsonl), the machine, and each `vae_eval --json` output given by `--eval`.

It needs the full MNIST (`VAE_NB_DATA` or `--data_dir`) and takes about 13 minutes with 2 threads on the AMD EPYC
(AVX-512 BF16) it was last run on. The recipe is the one the recipes experiment chose on validation Total among the
runs of the reference's network (`fast256`): batch 256, one-cycle lr peaking at 4e-3, 48 epochs, channels-last, bf16
autocast with every layer in bf16.
"""
import argparse, hashlib, json, tempfile, time
from datetime import date
from pathlib import Path
import torch
import vae_nb
from vae_nb.core import atomic_write, cpu_model
from vae_nb.train import TrainConfig, train
from vae_nb.evaluate import evaluate
from vae_nb.model import save_checkpoint
from vae_nb.data import MNIST_FILES, find_mnist, mnist_splits

RECIPE = dict(bs=256, lr=4e-3, lr_schedule='onecycle', epochs=48, channels_last=True, bf16=True, fp32_layers='none', threads=2, seed=42)

def data_checksums(data_dir=None) -> dict:
    "MD5 of each MNIST file's content (gunzipped where it is gzipped), as shared/data's README lists them."
    import gzip
    folder = find_mnist(data_dir)
    if folder is None: raise SystemExit("make_pretrained: the full MNIST is needed: set VAE_NB_DATA or pass --data_dir")
    out = {}
    for name in MNIST_FILES.values():
        p = folder/name if (folder/name).exists() else folder/f'{name}.gz'
        data = p.read_bytes()
        out[name] = hashlib.md5(gzip.decompress(data) if p.suffix == '.gz' else data).hexdigest()
    return out

def cpu_flags() -> list:
    "The CPU features a speed or bit pattern depends on."
    try: flags = Path('/proc/cpuinfo').read_text().split('flags')[1].split('\n')[0].split()
    except (OSError, IndexError): return []
    return sorted(f for f in flags if f.startswith(('avx512', 'amx', 'avx2', 'fma')))

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--dest', default=str(Path(vae_nb.__file__).parent/'assets'/'pretrained.pt'))
    p.add_argument('--data_dir', default=None)
    p.add_argument('--out', default=None, help='run folder (default: a temporary one)')
    p.add_argument('--describe', action='store_true', help="write the .json of the checkpoint at --dest without training, "
                   "its training time from the run's record in nbs/experiments/results/")
    p.add_argument('--from_run', default=None, help="a finished run folder of vae_train whose last.pt to ship")
    p.add_argument('--name', default=None, help="with --from_run: the pretrained model's name (the file is assets/NAME.pt)")
    p.add_argument('--eval', action='append', default=[], help="with --from_run: a vae_eval --json output to keep in the .json")
    p.add_argument('--threads', type=int, default=None, help="with --from_run: the threads the run had, where its config has none (a run vae_train recorded before it wrote them, started with OMP_NUM_THREADS)")
    p.add_argument('--note', action='append', default=[], help="with --from_run: a note to keep in the .json (repeatable)")
    p.add_argument('--upgrade', action='store_true', help="rewrite every shipped checkpoint's model spec as this vae_nb writes it")
    args = p.parse_args()
    if (args.threads is not None or args.note) and not args.from_run: p.error("--threads and --note go with --from_run")
    if args.upgrade:
        from vae_nb.model import PRETRAINED, load_model
        for name, rel in PRETRAINED.items():
            dest = Path(vae_nb.__file__).parent/rel
            ck, model = torch.load(dest, weights_only=True), load_model(dest)
            save_checkpoint(dest, model, **{k: v for k, v in ck.items() if k not in ('format', 'model', 'config')})
            back = torch.load(dest, weights_only=True)
            assert back['model'].keys() == model.state_dict().keys() and all(torch.equal(back['model'][k], v) for k, v in model.state_dict().items())
            assert all(back[k] == v for k, v in ck.items() if k not in ('model', 'config'))
            prov = dest.with_suffix('.json')
            if prov.exists():
                d = json.loads(prov.read_text()); d['checkpoint_bytes'] = dest.stat().st_size
                atomic_write(prov, json.dumps(d, indent=2) + '\n')
            print(f"{name}: {rel} spec {ck.get('config')} -> {back['config']}")
        raise SystemExit
    if args.from_run:
        from vae_nb.data import get_dataset
        from vae_nb.model import load_model
        run = Path(args.from_run)
        if not args.name: raise SystemExit("make_pretrained: --from_run needs --name")
        if not (run/'test_metrics.json').exists(): raise SystemExit(f"make_pretrained: {run} is not a finished run (no test_metrics.json)")
        if args.threads is not None and args.threads < 1: raise SystemExit(f"make_pretrained: --threads must be positive, got {args.threads}")
        ck = torch.load(run/'last.pt', weights_only=True)
        model = load_model(run/'last.pt')
        config = json.loads((run/'config.json').read_text())
        from record_run import ThreadsMismatch, run_threads  # beside this script
        try: threads, notes = run_threads(run, config, args.threads, 'tools/make_pretrained.py')
        except ThreadsMismatch as e: raise SystemExit(f"make_pretrained: {e}")
        notes = ['machine.' + n for n in notes] + args.note
        history = [json.loads(l) for l in (run/'metrics.jsonl').read_text().splitlines() if l.strip()]
        splits = get_dataset(model.spec['dataset']['name']).splits(args.data_dir)
        t0 = time.perf_counter()
        metrics = {k: evaluate(model, splits[k][0], labels=splits[k][1]) for k in ('train', 'valid', 'test')}  # labels: a conditional model's
        dest = Path(vae_nb.__file__).parent/'assets'/f'{args.name}.pt'
        save_checkpoint(dest, model, source=f'run {run.name}', train_config=ck.get('train_config', config), epoch=ck.get('epoch'), metrics=metrics)
        cpu = cpu_model()
        prov = dict(command=f'vae_train run {run.name}, shipped by python tools/make_pretrained.py --from_run', train_config=config,
                    metrics=metrics, evals=[json.loads(Path(e).read_text()) for e in args.eval],
                    training_seconds=round(sum(r['seconds'] for r in history), 1), epochs=len(history),
                    machine=dict(cpu=cpu, cpu_flags=cpu_flags(), threads=threads, torch=torch.__version__),
                    date=str(date.today()), checkpoint=dest.name, checkpoint_bytes=dest.stat().st_size, **({'notes': notes} if notes else {}))
        atomic_write(dest.with_suffix('.json'), json.dumps(prov, indent=2) + '\n')
        print(f"wrote {dest} ({dest.stat().st_size/1e6:.2f} MB) and {dest.with_suffix('.json').name}; test {metrics['test']}")
        raise SystemExit
    sums = data_checksums(args.data_dir)
    if args.describe:
        dest = Path(args.dest)
        ck = torch.load(dest, weights_only=True)
        rec = json.loads((Path(__file__).parent.parent/'nbs'/'experiments'/'results'/f"{ck['source']}.json").read_text())
        prov = dict(command='python tools/make_pretrained.py', recipe=RECIPE, train_config=ck['train_config'], data_md5=sums,
                    metrics=ck['metrics'], training_seconds=rec['training_seconds'], wall_seconds=None,
                    machine=dict(cpu='AMD EPYC (AVX-512 with BF16)', threads=ck['train_config']['threads'], torch=None),
                    date=None, checkpoint=dest.name, checkpoint_bytes=dest.stat().st_size,
                    note=f"described from the checkpoint and the record of run {ck['source']} ({rec['source']}); "
                         "the run's torch version, date and wall time were not recorded; data_md5 is of the files this description was made with")
        atomic_write(dest.with_suffix('.json'), json.dumps(prov, indent=2))
        print(f"wrote {dest.with_suffix('.json')}"); raise SystemExit

    out = args.out or tempfile.mkdtemp(prefix='pretrained-')
    t0 = time.perf_counter()
    learn = train(TrainConfig(**RECIPE, data_dir=args.data_dir, out=out, progress=True))
    wall = time.perf_counter() - t0
    splits = mnist_splits(args.data_dir)
    metrics = {k: evaluate(learn.model, splits[k][0]) for k in ('train', 'valid', 'test')}
    dest = Path(args.dest)
    save_checkpoint(dest, learn.model.cpu(), source='fast256', train_config=learn.config.to_dict(), epoch=learn.epoch, metrics=metrics)
    cpu = cpu_model()
    prov = dict(command='python tools/make_pretrained.py', recipe=RECIPE, train_config=learn.config.to_dict(), data_md5=sums,
                metrics=metrics, training_seconds=sum(r['seconds'] for r in learn.history), wall_seconds=wall,
                machine=dict(cpu=cpu, cpu_flags=cpu_flags(), threads=torch.get_num_threads(), torch=torch.__version__),
                date=str(date.today()), checkpoint=dest.name, checkpoint_bytes=dest.stat().st_size)
    atomic_write(dest.with_suffix('.json'), json.dumps(prov, indent=2))
    print(f"wrote {dest} ({dest.stat().st_size/1e6:.2f} MB) and {dest.with_suffix('.json').name}; test Total {metrics['test']['total']:.5f}; {wall:.0f} s")
