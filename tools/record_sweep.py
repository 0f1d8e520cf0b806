"""Record a finished vae_sweep as results the experiments notebooks read: per trial, its settings, test MSE and KL,
active units, the latent dimensions measurably not N(0, 1), and a row of prior samples.

    python tools/record_sweep.py SWEEP_DIR NAME [--command "vae_sweep ..."] [--wall_seconds S] [--data_dir DIR]
                                 [--quality N] [--out nbs/experiments/results]

SWEEP_DIR is a `vae_sweep --out` folder (its results.csv and the trials' run folders). For each finished trial the
last checkpoint is encoded on the whole test split of its dataset (posterior means for the active units: Var over
images of mu_d > 0.01; one posterior draw per image for the Kolmogorov-Smirnov test of each dimension against
N(0, 1), family-wise level 1%), and 8 prior samples are decoded with seed 0. With --quality N, each trial's N prior
samples (seed 0) are also scored by the quality chapter's metrics (FID, KID, precision and recall at k = 3, Inception
Score, class histogram) against N test images on the dataset's shipped classifier, and the floor (N training images
against the same test images) is recorded once. Writes OUT/NAME.json (the table, the
machine, the command) and OUT/NAME_samples.npz (uint8 samples `[trials, 8, 28, 28]`, in the JSON's trial order).
"""
import argparse, csv, io, json, os
from datetime import date
from pathlib import Path

import numpy as np
import torch

from vae_nb.core import atomic_write, cpu_flags, cpu_model, dumps
from vae_nb.data import get_dataset
from vae_nb.model import load_model, sample_images
from vae_nb.latent import encode_split, normality_table, active_units
from vae_nb.quality import features_of, load_classifier, model_samples, scores

ROOT = Path(__file__).resolve().parent.parent

def trial_record(row:dict, data_dir=None, cache:dict={}) -> tuple:
    "The record of one finished trial and its 8 samples as uint8 `[8,28,28]`."
    run = Path(row['run'])
    model = load_model(run/'last.pt').eval()
    name = model.spec['dataset']['name']
    if name not in cache: cache[name] = get_dataset(name).splits(data_dir)['test'][0]
    images, ds = cache[name], get_dataset(name)
    with torch.no_grad():
        enc = encode_split(model, images)
        s = sample_images(model, 8, seed=0)
    test = json.loads((run/'test_metrics.json').read_text())
    flags = [r['dim'] for r in normality_table(enc['z']) if r['flag']]
    cfg = json.loads((run/'config.json').read_text())
    rec = dict(trial=int(row['trial']), run=run.name, kl_weight=cfg['kl_weight'], z_dim=cfg['z_dim'], epochs=test['epochs'],
               test_mse=test.get('mse'), test_kl=test['kl'], test_total=test['total'], test_mse_mean=test.get('mse_mean'),
               active_units=int(active_units(enc['mu']).sum()), not_normal=len(flags), not_normal_dims=flags,
               seconds=float(row['seconds']) if row.get('seconds') else None)
    return rec, (ds.to_image(s)*255).round().to(torch.uint8)[:, 0].numpy()

QUALITY = {}  # per dataset: its classifier, the test images' features, the floor

def quality_of(run:Path, n:int, data_dir=None, cache:dict=QUALITY) -> dict:
    "The sample-quality scores of a trial's last checkpoint: `n` prior samples against `n` test images; the floor is computed once per dataset."
    model = load_model(run/'last.pt').eval()
    name = model.spec['dataset']['name']
    if name not in cache:
        clf, s = load_classifier(name), get_dataset(name).splits(data_dir)
        real = features_of(clf, s['test'][0][:n])
        cache[name] = dict(clf=clf, real=real, floor=scores(real, features_of(clf, s['train'][0][:n])))
    c = cache[name]
    return scores(c['real'], features_of(c['clf'], model_samples(model, n, seed=0)))

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('sweep'); p.add_argument('name')
    p.add_argument('--command', default=None, help='the vae_sweep command line that ran the sweep')
    p.add_argument('--wall_seconds', type=float, default=None, help="the sweep's wall time, as vae_sweep printed it")
    p.add_argument('--data_dir', default=None)
    p.add_argument('--quality', type=int, default=0, help='score N prior samples of each trial against N test images (0: no scores)')
    p.add_argument('--out', default=str(ROOT/'nbs'/'experiments'/'results'))
    args = p.parse_args()
    rows = list(csv.DictReader(open(Path(args.sweep)/'results.csv')))
    recs, samples = [], []
    for row in rows:
        if row['state'] != 'COMPLETE': continue
        rec, s = trial_record(row, args.data_dir)
        if args.quality: rec['quality'] = quality_of(Path(row['run']), args.quality, args.data_dir)
        recs.append(rec); samples.append(s)
        print(f"trial {rec['trial']:>2} kl_weight {rec['kl_weight']:<7} z_dim {rec['z_dim']:>3}: test MSE {rec['test_mse']:.5f} KL {rec['test_kl']:8.3f} "
              f"active {rec['active_units']:>3} not N(0,1) {rec['not_normal']:>3}"
              + (f" FID {rec['quality']['fid']:.2f} recall {rec['quality']['recall']:.3f}" if args.quality else ''), flush=True)
    fixed = {'trial', 'state', 'valid_total', 'epochs_done', 'seconds', 'run', 'note'}
    params = lambda r: tuple((k, v) for k, v in r.items() if k not in fixed and not k.startswith('test_'))
    done = {params(r) for r in rows if r['state'] == 'COMPLETE'}  # a trial cut short and then finished by another counts as finished
    failed = [dict(trial=int(r['trial']), state=r['state'], **dict(params(r))) for r in rows if r['state'] != 'COMPLETE' and params(r) not in done]
    cpu = cpu_model()
    out = Path(args.out)
    res = dict(name=args.name, source=f"sweep folder {Path(args.sweep).name}, recorded by tools/record_sweep.py on {date.today()}",
               command=args.command, wall_seconds=args.wall_seconds, trials=sorted(recs, key=lambda r: (r['kl_weight'], r['z_dim'])),
               not_finished=failed, machine=dict(cpu=cpu, cpu_features=sorted(f for f in cpu_flags() if f.startswith(('avx', 'amx', 'fma'))), cores=os.cpu_count(), torch=torch.__version__),
               protocol="test split of the trials' dataset, all images; active: Var over images of mu_d > 0.01; not N(0, 1): "
                        "KS test of one posterior draw per image against N(0, 1), family-wise level 1% (Bonferroni over the dimensions)")
    if args.quality:
        floors = {k: v['floor'] for k, v in QUALITY.items()}
        res.update(quality=dict(n=args.quality, seed=0, protocol=f"{args.quality:,} prior samples (seed 0) against the first {args.quality:,} test images, on the "
                                "dataset's shipped classifier's penultimate features; precision and recall with k = 3; the floor: the first "
                                f"{args.quality:,} training images against the same test images", floor=floors))
    order = [r['trial'] for r in res['trials']]
    npz = io.BytesIO(); np.savez_compressed(npz, samples=np.stack([samples[[r['trial'] for r in recs].index(t)] for t in order]), trials=np.array(order))
    atomic_write(out/f'{args.name}_samples.npz', npz.getvalue())  # the samples first, then the record that lists their order
    atomic_write(out/f'{args.name}.json', dumps(res, indent=1) + '\n')
    print(f"wrote {out/args.name}.json and {args.name}_samples.npz: {len(recs)} trials, {len(failed)} not finished")
