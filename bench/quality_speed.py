"""The sample-quality suite's pace and its figures: `sample_quality` (N prior samples and N test images on the
dataset's shipped classifier, FID, KID, precision and recall, Inception Score, the class histogram, and the floor
of N training images) for every shipped model, timed on the given threads. Prints each row and records them all,
with the CPU, so that the quality experiment can read them.

    python bench/quality_speed.py [--threads 2] [--n 10000] [--models NAME ...] [--update] [--out nbs/experiments/results/quality_shipped.json]

Each row records the threads, the machine's load, the date and the command it was measured with. With --update, the rows
of the models named replace theirs in --out and the other rows stay (a model refused now keeps its earlier scores).

It needs the full MNIST and Fashion-MNIST (`VAE_NB_DATA`) and the shipped classifiers (tools/make_classifier.py).
"""
import argparse, json, os, time
from datetime import date
from pathlib import Path

import torch

from vae_nb.core import atomic_write, bf16_native, cpu_flags, cpu_model, dumps
from vae_nb.model import PRETRAINED, load_pretrained
from vae_nb.quality import load_classifier, sample_quality

ROOT = Path(__file__).resolve().parent.parent

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--threads', type=int, default=os.cpu_count())
    p.add_argument('--n', type=int, default=10_000)
    p.add_argument('--models', nargs='*', default=list(PRETRAINED))
    p.add_argument('--update', action='store_true', help="replace the named models' rows in --out, keep the others")
    p.add_argument('--out', default=str(ROOT/'nbs'/'experiments'/'results'/'quality_shipped.json'))
    a = p.parse_args()
    a.models = list(dict.fromkeys(a.models))  # each once
    old = json.loads(Path(a.out).read_text()) if a.update and Path(a.out).exists() else None
    if old and old['n'] != a.n: raise SystemExit(f"quality_speed.py: {a.out} was measured with --n {old['n']}: give the same --n to update it")
    torch.set_num_threads(a.threads)
    run = dict(threads=a.threads, load_before=os.getloadavg()[0], date=str(date.today()),
               command='python bench/quality_speed.py ' + ' '.join(f'--{k} {v}' for k, v in (('threads', a.threads), ('n', a.n))))
    res = dict(machine=dict(cpu=cpu_model(), cpu_features=sorted(f for f in cpu_flags() if f.startswith(('avx512', 'amx', 'avx2', 'fma'))),
                            bf16_native=bf16_native(), torch=str(torch.__version__)), n=a.n, rows=[])
    for name in a.models:
        model = load_pretrained(name)
        clf = load_classifier(model.spec['dataset']['name'])
        t = time.perf_counter()
        try: q = sample_quality(model, a.n, classifier=clf)
        except ValueError as e:  # a model trained on another split of its data than today's is not scored on its test images
            res['rows'].append(dict(model=name, dataset=model.spec['dataset']['name'], refused=str(e), **run)); print(f"{name:14} refused: {e}", flush=True); continue
        q.update(model=name, wall_seconds=round(time.perf_counter() - t, 1), classifier_test_accuracy=clf.record.get('test_accuracy'), **run)
        res['rows'].append(q)
        s, f = q['samples'], q['floor']
        print(f"{name:14} {q['dataset']:16} FID {s['fid']:7.3f} (floor {f['fid']:.3f})  KID {s['kid']:.4f}  precision {s['precision']:.3f}  "
              f"recall {s['recall']:.3f} (floor {f['recall']:.3f})  IS {s['inception_score']:.2f}  {q['wall_seconds']:.0f} s", flush=True)
    if old:  # the other models' rows as they were measured, each with the conditions it was timed under
        new = {q['model']: q for q in res['rows']}
        def kept(r):
            q = new.get(r['model'])
            if q is not None and 'refused' in q and 'refused' not in r: print(f"{r['model']}: refused now, its earlier scores kept", flush=True); return r
            return q or r
        rows = [kept(dict({k: old[k] for k in ('date', 'command') if k in old}, **{k: old['machine'][k] for k in ('threads', 'load_before') if k in old['machine']}, **r)) for r in old['rows']]
        res['rows'] = rows + [q for m, q in new.items() if m not in {r['model'] for r in rows}]
    atomic_write(a.out, dumps(res, indent=1) + '\n')
    print(f"wrote {a.out}")
