"""What running vae_nb costs a person, measured as they would run it, with the CPU it ran on.

    python bench/notebooks.py [--notebooks 11_latent ...] [--skip_notebooks] [--skip_commands] [--save bench/notebooks.json]

Notebooks: each library notebook (nbs/NN_*.ipynb) runs top to bottom in a real Jupyter kernel, as Run All does
(`jupyter nbconvert --execute`, so no cell is skipped: `#| slow` means nothing there), with VAE_NB_DATA pointing at
the full MNIST where it is found. Each runs in a fresh process whose peak resident memory, counting the kernel, is
read from `getrusage(RUSAGE_CHILDREN)`; the executed copy goes to a temporary folder, so the repository is not
written. A peak of 4 GB or more, or a failed notebook, exits 1.

Commands: the README's first commands (the Use section's first block), each run as pasted from an empty folder with
no data, and timed.

The JSON records the seconds and peak memory of each, the threads, the CPU's model and the features that decide
its speed (AVX-512, AVX512_BF16, AMX): on a CPU without native bf16 the training notebook's bf16 tests run
PyTorch's emulation, which is slow.
"""
import argparse, json, os, platform, re, resource, shlex, subprocess, sys, tempfile, time
from pathlib import Path
import torch
from vae_nb.core import bf16_native, cpu_flags, cpu_model, dumps, atomic_write
from vae_nb.data import find_mnist

ROOT = Path(__file__).resolve().parent.parent
LIMIT_GB = 4.0
FEATURES = ('avx2', 'fma', 'avx512f', 'avx512_bf16', 'amx_bf16')

def run_child(cmd:list, cwd:Path, env:dict, timeout:float) -> dict:
    "Run `cmd` in a fresh Python process that reports its children's peak memory: returncode, seconds, peak GB, output tail."
    probe = ("import resource, subprocess, sys, time, json; t = time.time(); "
             "r = subprocess.run(sys.argv[2:], cwd=sys.argv[1], capture_output=True, text=True); "
             "print(json.dumps(dict(rc=r.returncode, seconds=time.time() - t, peak_gb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1e6, "
             "tail=(r.stdout + r.stderr)[-2000:])))")
    p = subprocess.run([sys.executable, '-c', probe, str(cwd), *cmd], env=env, capture_output=True, text=True, timeout=timeout)
    return json.loads(p.stdout.strip().splitlines()[-1])

def notebooks(names:list|None, tmp:Path, env:dict) -> dict:
    out = {}
    for nb in sorted((ROOT/'nbs').glob('[0-9][0-9]_*.ipynb')):
        if names and nb.stem not in names: continue
        r = run_child([sys.executable, '-m', 'jupyter', 'nbconvert', '--to', 'notebook', '--execute', '--ExecutePreprocessor.timeout=-1',
                       '--output-dir', str(tmp), '--output', nb.name, str(nb)], nb.parent, env, 3600)
        out[nb.stem] = dict(seconds=round(r['seconds'], 1), peak_gb=round(r['peak_gb'], 2), ok=r['rc'] == 0, **({} if r['rc'] == 0 else dict(tail=r['tail'])))
        print(f"{nb.stem:14s} {r['seconds']:7.1f} s  peak {r['peak_gb']:5.2f} GB  {'ok' if r['rc'] == 0 else 'FAILED'}", flush=True)
    return out

def commands(tmp:Path, env:dict) -> list:
    "The Use section's first shell block, each command run as pasted from an empty folder with no data."
    readme = (ROOT/'README.md').read_text()
    block = re.search(r"\n## Use\n.*?``` ?sh\n(.*?)```", readme, re.S).group(1)
    work, empty = tmp/'use', tmp/'no-data'; work.mkdir(); empty.mkdir()
    env = {**env, 'VAE_NB_DATA': str(empty), 'PATH': f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"}
    out = []
    for line in block.strip().splitlines():
        cmd = line.split('#')[0].strip()
        r = run_child(['bash', '-e', '-c', cmd], work, env, 1800)
        out.append(dict(command=cmd, seconds=round(r['seconds'], 1), peak_gb=round(r['peak_gb'], 2), ok=r['rc'] == 0))
        print(f"{r['seconds']:7.1f} s  peak {r['peak_gb']:5.2f} GB  {cmd}", flush=True)
    return out

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--notebooks', nargs='*', help='only these (e.g. 11_latent)')
    p.add_argument('--skip_notebooks', action='store_true'); p.add_argument('--skip_commands', action='store_true')
    p.add_argument('--save', default=str(ROOT/'bench'/'notebooks.json'))
    a = p.parse_args()
    env = dict(os.environ, MPLBACKEND='Agg')
    if find_mnist() is None: print("note: the full MNIST was not found (set VAE_NB_DATA): notebooks run on the shipped sample")
    rec = json.loads(Path(a.save).read_text()) if Path(a.save).exists() else {}
    load = os.getloadavg()[0]  # other work on the machine makes every figure slower: recorded beside them
    with tempfile.TemporaryDirectory(prefix='vae_nb-bench-') as tmp:
        tmp = Path(tmp)
        if not a.skip_notebooks: rec.setdefault('notebooks', {}).update(notebooks(a.notebooks, tmp, env))
        if not a.skip_commands: rec['commands'] = commands(tmp, env)
    flags = cpu_flags()
    rec.update(load_before=round(load, 2), cpu_model=cpu_model(), cpu_features=[f for f in FEATURES if f in flags], bf16_native=bf16_native('cpu'),
               threads=torch.get_num_threads(), full_mnist=find_mnist() is not None, torch=torch.__version__, date=time.strftime('%Y-%m-%d'),
               python=platform.python_version())
    atomic_write(a.save, dumps(rec, indent=1) + '\n')
    bad = [n for n, r in rec.get('notebooks', {}).items() if not r['ok'] or r['peak_gb'] >= LIMIT_GB] + [c['command'] for c in rec.get('commands', []) if not c['ok']]
    if bad: sys.exit(f"failed or over {LIMIT_GB} GB: {', '.join(bad)}")

if __name__ == '__main__': main()
