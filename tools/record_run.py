"""Record a finished training run as a small JSON file that the experiments notebooks read.

    python tools/record_run.py RUN_DIR NAME [--test_curve] [--target 0.06395] [--eval EVAL.json ...] [--threads N] [--note TEXT ...]
                               [--data_dir DIR] [--out nbs/experiments/results]

RUN_DIR is a run folder of `vae_train` (`config.json`, `metrics.jsonl`, `test_metrics.json`, and `epoch_NNN.pt` when it
ran with `--save_every`). The record, `OUT/NAME.json`, has the schema of the ones `tools/records_from_notebook.py`
extracted: the run's config, its history (one dict per epoch), its test metrics and training seconds; with
`--test_curve`, every kept epoch checkpoint is also evaluated on the test split the run used, which gives the test
Total per epoch and the first epoch at or below `--target` (the reference's published test Total). Each `--eval` is
the output of `vae_eval --json` on one of the run's checkpoints (an NLL by the importance-weighted bound, say), kept in
the record's `evals` as it was printed. vae_train writes the threads a run had into its config; a run it recorded
before it did so, started without `--threads`, has none there (torch's default, set by `OMP_NUM_THREADS`): `--threads N`
records the number it ran on as the record's `threads` (refused where the config says another number), and each
`--note` is kept in the record's notes.
"""
import argparse, json, shlex, sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def read_run(run:Path) -> tuple:
    "The config, history and test metrics of a finished run folder."
    missing = [f for f in ('config.json', 'metrics.jsonl', 'test_metrics.json') if not (run/f).exists()]
    if missing: raise FileNotFoundError(f"{run} is not a finished run folder: no {', '.join(missing)}")
    config = json.loads((run/'config.json').read_text())
    history = [json.loads(l) for l in (run/'metrics.jsonl').read_text().splitlines() if l.strip()]
    test = json.loads((run/'test_metrics.json').read_text())
    return config, history, test

def test_curve(run:Path, config:dict, history:list, data_dir:str|None=None) -> list:
    "`{epoch, test_total}` for every epoch whose checkpoint `epoch_NNN.pt` the run kept, on the test split the run used."
    try: from vae_nb.evaluate import evaluate
    except ImportError: from vae_nb.train import evaluate
    from vae_nb.model import load_model
    from vae_nb.data import get_dataset
    ds = get_dataset(config.get('dataset', 'mnist'))
    test_images = ds.splits(data_dir or config.get('data_dir'), sample=config.get('sample', False))['test'][0]
    res = []
    for r in history:
        ckpt = run/f"epoch_{r['epoch']:03d}.pt"
        if ckpt.exists(): res.append(dict(epoch=r['epoch'], test_total=evaluate(load_model(ckpt), test_images)['total']))
    return res

def first_reach(curve:list, history:list, target:float) -> dict:
    "The first epoch whose test Total is at or below `target`, and the training seconds summed until then."
    secs = {r['epoch']: r['seconds'] for r in history}
    for c in curve:
        if c['test_total'] <= target:
            return dict(target=target, epoch=c['epoch'], seconds=sum(s for e, s in secs.items() if e <= c['epoch']), test_total=c['test_total'])
    return dict(target=target, epoch=None, seconds=None, test_total=None)

class ThreadsMismatch(ValueError): "A --threads that the run's own config contradicts."

def run_threads(run:Path, config:dict, threads:int|None, tool:str='tools/record_run.py') -> tuple:
    "The threads the run had (its config's, else `threads`) and a note where they come from `threads`; refused where the two differ."
    if threads is not None and config.get('threads') not in (None, threads):
        raise ThreadsMismatch(f"{run} ran on {config['threads']} thread{'s' if config['threads'] != 1 else ''} (its config.json), not {threads}")
    given = threads is not None and config.get('threads') is None
    return config.get('threads') or threads, ([f"threads: {threads}, as given to {tool} (the run's config has none: torch's default)"] if given else [])

def record(run:Path, name:str, with_curve:bool=False, target:float=0.06395, data_dir:str|None=None, evals:list=(),
           threads:int|None=None, extra_notes:list=()) -> dict:
    "The record of the run folder `run`."
    config, history, test = read_run(run)
    _, threads_note = run_threads(run, config, threads)
    epochs = [r['epoch'] for r in history]
    complete = epochs == list(range(1, len(history) + 1)) and len(history) == config.get('epochs', len(history))
    curve = test_curve(run, config, history, data_dir) if with_curve else None
    if with_curve and not curve: raise FileNotFoundError(f"{run} kept no epoch_NNN.pt checkpoints (train with --save_every 1 for a test curve)")
    notes = ["command: not kept by a run folder; the run's settings are its config.json", "history: metrics.jsonl as the run wrote it", "test: test_metrics.json as the run wrote it"]
    notes += threads_note + list(extra_notes)
    if curve: notes.append("test_total_per_epoch: each kept epoch checkpoint evaluated by tools/record_run.py on the test split the run used" + (" (the shipped sample)" if config.get("sample") else ""))
    return dict(name=name, source=f"run folder {run} recorded by tools/record_run.py on {datetime.now(timezone.utc):%Y-%m-%d}",
                recorded_by=None, command=None, config=config, history=history, history_complete=complete, test=test,
                training_seconds=round(sum(r['seconds'] for r in history), 1), test_total_per_epoch=curve,
                reached=first_reach(curve, history, target) if curve else None, notes=notes,
                evals=[json.loads(Path(e).read_text()) for e in evals], **({'threads': threads} if threads is not None else {}))

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('run_dir', help="a finished run folder of vae_train")
    p.add_argument('name', help="the record's name: it is written to OUT/NAME.json")
    p.add_argument('--test_curve', action='store_true', help="evaluate every kept epoch checkpoint on the test split")
    p.add_argument('--target', type=float, default=0.06395, help="test Total whose first epoch is recorded (with --test_curve)")
    p.add_argument('--eval', action='append', default=[], help="a file vae_eval --json wrote for this run's checkpoint (repeatable)")
    p.add_argument('--threads', type=int, default=None, help="the threads the run had, where its config has none (a run vae_train recorded before it wrote them, started with OMP_NUM_THREADS)")
    p.add_argument('--note', action='append', default=[], help="a note kept in the record (repeatable)")
    p.add_argument('--data_dir', default=None, help="folder holding MNIST/raw (default: $VAE_NB_DATA or the cache)")
    p.add_argument('--out', default=str(ROOT/'nbs'/'experiments'/'results'), help="folder of the records")
    a = p.parse_args(argv)
    if not a.name.replace('_', '').replace('-', '').isalnum(): p.error(f"NAME must be letters, digits, _ or -, got {a.name!r}")
    if a.threads is not None and a.threads < 1: p.error(f"--threads must be positive, got {a.threads}")
    try: rec = record(Path(a.run_dir), a.name, a.test_curve, a.target, a.data_dir, a.eval, a.threads, a.note)
    except (FileNotFoundError, json.JSONDecodeError, ThreadsMismatch) as e: p.exit(1, f"record_run.py: error: {e}\n")
    rec['recorded_by'] = 'python tools/record_run.py ' + ' '.join(shlex.quote(s) for s in (argv if argv is not None else sys.argv[1:]))
    from vae_nb.core import atomic_write  # here: --help needs no torch
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    atomic_write(out/f'{a.name}.json', json.dumps(rec, indent=1) + '\n')  # a stopped write leaves the old record whole
    print(f"wrote {out/(a.name + '.json')}: {len(rec['history'])} epochs, test Total {rec['test']['total']:.5f}"
          + (f", test Total of {len(rec['test_total_per_epoch'])} epoch checkpoints" if rec['test_total_per_epoch'] else ''))

if __name__ == '__main__': main()
