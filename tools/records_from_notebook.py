"""Extract the experiments' records from the stored outputs of the notebooks that ran them, into JSON files.

    python tools/records_from_notebook.py [--commit a86939a] [--out nbs/experiments/results]

Until commit a86939a the training notebook (`nbs/03_train.ipynb`) trained the experiments' runs into `runs/`, which is
not in the repo, and printed what it read back: a summary line per epoch (all 30 for the reference, the last three
for the others), the test metrics, the time to the reference's test loss, and Markdown tables. The latent-space
notebook (`nbs/05_latent.ipynb`) printed a table of its kl_weight / z_dim sweep. This script reads those outputs
with `git show COMMIT:PATH` and writes one record per run (`NAME.json`, the schema of `tools/record_run.py`) and one
per other result, each saying where it came from. Numbers are kept at the precision they were printed with.
"""
import argparse, ast, json, re, subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRAIN_NB, LATENT_NB = 'nbs/03_train.ipynb', 'nbs/05_latent.ipynb'
FIRST, LAST = 60, 92   # the experiment cells of the training notebook, "## The reference experiment, in full" to the pretrained model
TARGET = 0.06395       # the reference's published test Total

def git_show(commit:str, path:str) -> str:
    "The text of `path` at `commit`."
    return subprocess.run(['git', 'show', f'{commit}:{path}'], cwd=ROOT, check=True, capture_output=True, text=True).stdout

def source(cell:dict) -> str: return ''.join(cell['source'])

def stream(cell:dict) -> str:
    "The cell's printed output."
    return ''.join(''.join(o['text']) for o in cell.get('outputs', []) if o['output_type'] == 'stream')

def markdown(cell:dict) -> str:
    "The cell's Markdown output (a table, usually), or ''."
    return ''.join(''.join(o['data']['text/markdown']) for o in cell.get('outputs', []) if 'text/markdown' in o.get('data', {}))

def table_rows(md:str) -> list:
    "The body rows of the first Markdown table in `md`, as lists of stripped cells."
    lines = [l for l in md.splitlines() if l.startswith('|')]
    return [[c.strip() for c in l.strip('|').split('|')] for l in lines[2:]]

SUMMARY = re.compile(r'epoch\s+(\d+)/(\d+)\s+train MSE ([\d.]+) KL\s+([\d.]+) Total ([\d.]+) \| '
                     r'valid MSE ([\d.]+) KL\s+([\d.]+) Total ([\d.]+) \| ([\d.]+)s')
KEYS = 'train_mse train_kl train_total valid_mse valid_kl valid_total seconds'.split()

def summary(line:str) -> dict|None:
    "An epoch's record from its summary line (the fields `summary_line` prints), or None."
    m = SUMMARY.match(line.strip())
    if not m: return None
    return dict(epoch=int(m[1]), **{k: float(v) for k, v in zip(KEYS, m.groups()[2:])})

def test_line(line:str) -> dict|None:
    "The test metrics from a `test  mse ... epochs ...` line, or None."
    if not line.startswith('test  '): return None
    parts = line.split()[1:]
    res = {k: float(v) for k, v in zip(parts[::2], parts[1::2])}
    res['epochs'] = int(res['epochs'])
    return res

def printed_runs(text:str) -> list:
    "`(history, n_epochs, test)` for each run printed by the old notebook's `print_run`, in order."
    runs, hist, n = [], [], None
    for line in text.splitlines():
        if (r := summary(line)): hist.append(r); n = int(SUMMARY.match(line.strip())[2])
        elif (t := test_line(line)): runs.append((hist, n, t)); hist = []
    return runs

def commands(md:str) -> dict:
    "run name -> the `vae_train` command line the prose gives for it."
    res = {}
    for cmd in re.findall(r'vae_train [^`\n]*(?:\\\n[^`\n]*)*', md):
        cmd = re.sub(r'\s*\\\n\s*', ' ', cmd).strip()
        m = re.search(r'--out runs/(\w+)', cmd)
        if m: res[m[1]] = cmd
    return res

def run_calls(src:str, ns:dict) -> list:
    "`(history variable, test variable, name, train's keywords)` for each `run_or_load` call in a cell of the old notebook."
    tree, res = ast.parse(src), []
    for node in tree.body:   # the recipes' keyword dicts (`fast_kw = dict(...)`), used by later calls
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id.endswith('_kw'):
            ns[node.targets[0].id] = eval(compile(ast.Expression(node.value), '<cell>', 'eval'), {'dict': dict}, ns)
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and getattr(node.value.func, 'id', '') == 'run_or_load'): continue
        call = node.value
        kw = {}
        for k in call.keywords:
            v = eval(compile(ast.Expression(k.value), '<cell>', 'eval'), {'dict': dict}, ns)
            if k.arg is None: kw.update(v)
            else: kw[k.arg] = v
        hist_var, test_var = (e.id for e in node.targets[0].elts)
        res.append((hist_var, test_var, ast.literal_eval(call.args[0]), kw))
    return res

def origin(path:str, cells, commit:str) -> str:
    cells = sorted(set(cells))
    where = f"cell {cells[0]}" if len(cells) == 1 else f"cells {', '.join(map(str, cells))}"
    return f"stored output of {path} {where} at commit {commit} (cell indices count from 0)"

def extract_runs(nb:dict, commit:str) -> tuple:
    "The run records, the history variable of each run, and the Markdown tables of the experiment cells."
    cells, ns, runs, var_of = nb['cells'], {}, {}, {}
    cmds, cmd_cell = {}, {}
    for i in range(FIRST, LAST + 1):
        c = cells[i]
        if c['cell_type'] == 'markdown':
            for name, cmd in commands(source(c)).items(): cmds[name], cmd_cell[name] = cmd, i
            continue
        calls = run_calls(source(c), ns)
        if not calls: continue
        printed = printed_runs(stream(c))
        assert len(printed) == len(calls), (i, len(printed), len(calls))
        for (hist_var, test_var, name, kw), (hist, n, test) in zip(calls, printed):
            assert n == test['epochs'] and hist[-1]['epoch'] == n, (name, n, test)
            config = dict(threads=1, save_every=1) | kw   # run_or_load's defaults, then the cell's keywords
            complete = [r['epoch'] for r in hist] == list(range(1, n + 1))
            runs[name] = dict(name=name, source=origin(TRAIN_NB, [cmd_cell[name], i], commit),
                              recorded_by=f'python tools/records_from_notebook.py --commit {commit}', command=cmds.get(name),
                              config=config, history=hist, history_complete=complete, test=test,
                              training_seconds=round(sum(r['seconds'] for r in hist), 1) if complete else None,
                              test_total_per_epoch=None, reached=None,
                              notes=["command: the command line the notebook's prose gives for the run",
                                     "config: the keywords the notebook passed to train() (the rest were train()'s defaults at the time of the run, not recorded)",
                                     "history: the summary lines printed, MSE and Total to 5 decimals, KL to 3, seconds to 0.1"
                                     + ("" if complete else f"; only epochs {hist[0]['epoch']}-{n} of {n} were printed"),
                                     "test: the printed test line, to 5 decimals"])
            var_of[hist_var] = var_of[test_var] = name
    return runs, var_of

def add_time_to(runs:dict, nb:dict, commit:str):
    "The reference's and the bs 128 recipe's time to the reference's test Total (a dict printed per run), and their training time."
    i = next(i for i in range(FIRST, LAST + 1) if source(nb['cells'][i]).startswith('#| slow\ntest_images') and 'def time_to' in source(nb['cells'][i]))
    for line in stream(nb['cells'][i]).splitlines():
        if not line.startswith('{'): continue
        d = ast.literal_eval(line)
        r = runs[d['run']]
        r['reached'] = dict(target=TARGET, epoch=d['epoch'], seconds=d['seconds'], test_total=d['test_total'],
                            source=origin(TRAIN_NB, [i], commit))
    # the training time of runs whose summary lines were not all printed: the table of the next cell, in minutes
    c = nb['cells'][i + 1]
    for row in table_rows(markdown(c)):
        name = {'vae_nb, reference configuration': 'reference', 'vae_nb, bs 128 + one-cycle': 'recipe_bs128_oc'}.get(row[0])
        if not name: continue
        minutes = float(row[4].removesuffix(' min'))
        r = runs[name]
        if r['training_seconds'] is None:
            r['training_seconds'] = minutes*60
            r['notes'].append(f"training_seconds: from '{row[4]}' in the table of {TRAIN_NB} cell {i + 1} at commit {commit}, so to 3 s")
        else: assert abs(r['training_seconds']/60 - minutes) < 0.05 + 1e-9, (name, r['training_seconds'], minutes)

def add_test_curves(runs:dict, nb:dict, commit:str) -> int:
    "From the table under the test-Total curves: each run's training time and its first epoch at or below 0.06395 on the test set."
    i = next(i for i in range(FIRST, LAST + 1) if 'def test_curve' in source(nb['cells'][i]))
    src = source(nb['cells'][i])
    shown = next(n.value for n in ast.parse(src).body if isinstance(n, ast.Assign) and getattr(n.targets[0], 'id', '') == 'shown')
    name_of = {ast.literal_eval(t.elts[0]): ast.literal_eval(t.elts[1]) for t in shown.elts}
    for row in table_rows(markdown(nb['cells'][i])):
        if row[0] not in name_of: continue
        r = runs[name_of[row[0]]]
        mse, kl_w, total = map(float, row[1:4])
        assert (round(r['test']['mse'], 5), round(r['test']['total'], 5)) == (mse, total), (row, r['test'])
        secs = float(re.match(r'(\d+) s', row[4])[1])
        if r['training_seconds'] is None:
            r['training_seconds'] = secs
            r['notes'].append(f"training_seconds: from '{row[4]}' in the table of {TRAIN_NB} cell {i} at commit {commit}, so to 1 s")
        m = re.match(r'epoch (\d+), (\d+) s', row[5])
        r['reached'] = dict(target=TARGET, epoch=int(m[1]) if m else None, seconds=float(m[2]) if m else None, test_total=None,
                            source=origin(TRAIN_NB, [i], commit))
        r['notes'].append("reached: the first epoch whose checkpoint's test Total was at or below the target, and the training seconds "
                          "until then (to 1 s), as printed; the per-epoch test Totals it came from were not printed")
    return i

def extract_pretrained(nb:dict, runs:dict, var_of:dict, commit:str) -> dict:
    "Which runs were candidates for the shipped model, their last valid Total, the one chosen, and its metrics."
    i = next(i for i in range(FIRST, LAST + 1) if 'save_checkpoint(dest' in source(nb['cells'][i]))
    tree = ast.parse(source(nb['cells'][i]))
    vt = next(n.value for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], 'id', '') == 'valid_total')
    candidates = {}
    for k, v in zip(vt.keys, vt.values):   # 'fast256': fast_hist[-1]['valid_total']
        name, hist_var = ast.literal_eval(k), v.value.value.id
        assert var_of[hist_var] == name, (name, hist_var)
        candidates[name] = runs[name]['history'][-1]['valid_total']
    out = stream(nb['cells'][i])
    chosen = re.search(r'from runs/(\w+)', out)[1]
    assert chosen == min(candidates, key=candidates.get), (chosen, candidates)
    metrics = {row[0]: dict(mse=float(row[1]), kl=float(row[2]), total=float(row[4]), mse_mean=float(row[5]))
               for row in table_rows(markdown(nb['cells'][i]))}
    return dict(source=origin(TRAIN_NB, [i - 1, i], commit), rule="the candidate with the lowest valid Total at its last epoch; the test split only reports",
                candidates=candidates, chosen=chosen, size_mb=float(re.search(r'([\d.]+) MB', out)[1]), metrics=metrics,
                not_candidates={'wide': 'the wider network: not the package default architecture, about three times the size',
                                'wide256': 'the wider network: not the package default architecture, about three times the size'},
                notes=["candidates: each run's valid Total at its last epoch, as printed in its summary line (5 decimals)",
                       "metrics: the table the cell printed (MSE and Total to 5 decimals, KL to 2); the shipped checkpoint holds them to full precision"])

def extract_collapse(nb:dict, commit:str) -> dict:
    "The kl_weight / z_dim sweep of the latent-space notebook: its settings and its table."
    i = next(i for i, c in enumerate(nb['cells']) if 'def short_run' in source(c))
    call = next(n for n in ast.walk(ast.parse(source(nb['cells'][i]))) if isinstance(n, ast.Call) and getattr(n.func, 'id', '') == 'train')
    settings = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg and isinstance(k.value, ast.Constant)}
    data = next(stream(c).strip() for c in nb['cells'] if 'full = find_mnist()' in source(c))
    assert data.endswith('(full MNIST)'), data
    settings['sample'] = False
    rows = table_rows(markdown(nb['cells'][i]))
    recs = [dict(kl_weight=float(r[0]), z_dim=int(r[1]), active_units=int(r[2]), kl=float(r[3]), test_mse_mean=float(r[4])) for r in rows]
    return dict(source=origin(LATENT_NB, [i - 1, i], commit), settings=settings, data=f"full MNIST (the notebook printed: {data!r})",
                evaluated_on="the 10,000 test images", runs=recs,
                notes=["each row is one training run; the kl_weight 0.001 / z_dim 64 setting was trained twice, once in each sweep",
                       "active_units: dimensions whose Var over the test images of mu exceeds 0.01; kl: KL summed over dimensions, "
                       "averaged over the test images, in nats (3 decimals as printed, 3 significant digits below 0.001)",
                       "test_mse_mean: the test MSE with z = mu (the column the notebook printed as test_mse), 3 decimals as printed",
                       "the reconstructions figure of the next cell needed the trained models, which were not kept"])

def main(commit:str, out:Path):
    out.mkdir(parents=True, exist_ok=True)
    nb = json.loads(git_show(commit, TRAIN_NB))
    runs, var_of = extract_runs(nb, commit)
    add_time_to(runs, nb, commit)
    add_test_curves(runs, nb, commit)
    files = {f'{name}.json': r for name, r in runs.items()}
    pub = next(c for c in nb['cells'][FIRST:LAST + 1] if 'published = dict(' in source(c))
    call = next(n.value for n in ast.parse(source(pub)).body if isinstance(n, ast.Assign) and n.targets[0].id == 'published')
    files['published.json'] = dict(source=f"the reference's published test numbers, as {TRAIN_NB} cell {nb['cells'].index(pub)} at commit {commit} quotes them",
                                   **{k.arg: ast.literal_eval(k.value) for k in call.keywords},
                                   notes=["kl_weighted is the weighted term 0.001·KL, the reference's 'KL' column"])
    files['pretrained_selection.json'] = extract_pretrained(nb, runs, var_of, commit)
    tables = {}
    for i in range(FIRST, LAST + 1):
        md = markdown(nb['cells'][i])
        if md: tables[str(i)] = md
    speed = next(i for i in range(FIRST, LAST + 1) if 'epoch_speed.py' in source(nb['cells'][i]) and nb['cells'][i]['cell_type'] == 'code')
    files['stored_outputs.json'] = dict(source=f"Markdown and printed outputs of {TRAIN_NB} cells {FIRST}-{LAST} at commit {commit}, kept to check the tables recomputed from the records",
                                        markdown=tables, printed={str(speed): stream(nb['cells'][speed]).strip()})
    bench = json.loads(git_show(commit, 'bench/results.json'))
    files['epoch_speed.json'] = dict(source=f"bench/results.json at commit {commit}, written by bench/epoch_speed.py when {TRAIN_NB} cell {speed} ran it", **bench)
    sweep = json.loads(git_show(commit, 'bench/recipe_sweep_h200.json'))
    files['recipe_sweep_h200.json'] = dict(source=f"bench/recipe_sweep_h200.json at commit {commit}, written by bench/recipe_sweep.py on an H200",
                                           config_fields=['epochs', 'bs', 'peak lr', ['enc_channels', 'dec_channels'], 'beta2'], runs=sweep)
    files['collapse_sweep.json'] = extract_collapse(json.loads(git_show(commit, LATENT_NB)), commit)
    for fname, rec in files.items():
        (out/fname).write_text(json.dumps(rec, indent=1, ensure_ascii=False) + '\n')
    print(f"wrote {len(files)} records in {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}: {', '.join(files)}")

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--commit', default='a86939a', help='the commit whose stored outputs hold the records')
    p.add_argument('--out', default=str(ROOT/'nbs'/'experiments'/'results'), help='folder of the records')
    a = p.parse_args()
    main(a.commit, Path(a.out).resolve())
