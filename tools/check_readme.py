"""Check README.md like code: its Python blocks run, its shell blocks name things that exist.

    python tools/check_readme.py [README] [--data DIR] [--quick] [--verbose]

README (default: the repository's README.md) is read for its fenced ``` python and ``` sh blocks.

The Python blocks run in order, as one script would, in ONE fresh interpreter (`python -I`, so neither the repository
nor PYTHONPATH is on sys.path: vae_nb must be installed), from a temporary folder outside the repository, with
MPLBACKEND=Agg and HOME a temporary folder (XDG_* and TORCH_HOME removed, so no cache is found). That is done twice:

* without data: VAE_NB_DATA is an empty temporary folder, so the README must fall back on the shipped sample;
* with data: VAE_NB_DATA is --data (default: $VAE_NB_DATA, else ../shared/data beside the repository), skipped
  with a note when that folder has no MNIST/raw.

In both runs the child refuses network access: any DNS look-up or socket connection raises at once (so a download
cannot hang) and is recorded, and the run fails with what was attempted, even if the README's code caught the error.
The run without data also fails if anything was written into its empty data folder.

The shell blocks are not run. Each command in them (continued lines joined, comments dropped, split at && || ; |)
must exist: a shell builtin, a program on PATH (the running interpreter's bin folder first), or `python PATH` with
PATH a file of the repository (or `python -m MODULE` importable). For vae_nb's own commands and nbdev's, `CMD --help`
is run and every option the README passes must be one it lists; for `python tools/...` the options must appear in
the script's text. --quick skips the `--help` runs, the run with data and the next check.

The folders that the shell blocks' commands write into (`-o`, `--out`, and `runs/` by default) must be ignored by
git, so that trying the README in a clone leaves `git status` clean.

The first shell block of the '## Use' section, a newcomer's first commands, is run as pasted (bash -e) from an empty
folder with no data. A Python block that prints must be followed by its output, and the torch/torchvision versions a
pip line pins must be settings.ini's caps.

Prints one line per check; exits 1 with the failing block, its traceback and its output if any check fails.
"""
import argparse, json, os, re, shlex, shutil, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r'^(?P<ticks>`{3,})\s*\{?\s*\.?(?P<lang>[\w+-]*)[^`]*$')
BUILTINS = {'export', 'cd', 'source', '.', 'set', 'unset', 'echo', 'true', 'false', 'test', '[', 'exit'}
HELP_CHECKED = re.compile(r'^(vae_\w+|nbdev_\w+)$')   # commands whose `--help` is safe and quick, and lists their options
SEPARATORS = {'&&', '||', ';', '|', '&', '(', ')'}

def blocks(text:str) -> list[tuple[str, int, str]]:
    "The fenced code blocks of markdown `text`, in order, as (language, first line number of the code, code)."
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m: i += 1; continue
        ticks, lang, start, body = m['ticks'], m['lang'].lower(), i + 2, []
        i += 1
        while i < len(lines) and not (lines[i].startswith(ticks) and not lines[i].strip('`').strip()):
            body.append(lines[i]); i += 1
        out.append((lang, start, '\n'.join(body) + '\n'))
        i += 1
    return out

# The child: runs the blocks in one namespace, with the network refused, and writes what happened to a JSON file.
RUNNER = r'''
import json, linecache, socket, sys, time, traceback
blocks, result_path = json.load(open(sys.argv[1])), sys.argv[2]
attempts = []
def _refuse(what):
    def f(*a, **k):
        attempts.append(f"{what}{a[1:] if what.startswith('socket.connect') else a[:2]}")
        raise OSError(f"check_readme: network access refused ({what})")
    return f
socket.getaddrinfo = _refuse('getaddrinfo')
socket.create_connection = _refuse('create_connection')
socket.socket.connect = _refuse('socket.connect')
socket.socket.connect_ex = _refuse('socket.connect_ex')
ns, res = {'__name__': '__main__', '__builtins__': __builtins__}, dict(ran=0, failed=None, times=[])
try:
    for i, b in enumerate(blocks):
        name = f"<README.md python block {i+1}, line {b['line']}>"
        linecache.cache[name] = (len(b['code']), None, b['code'].splitlines(True), name)
        t = time.time()
        try: exec(compile(b['code'], name, 'exec'), ns)
        except BaseException as e:   # the traceback from the block's own frame on
            res['failed'], res['traceback'] = i, ''.join(traceback.format_exception(type(e), e, e.__traceback__.tb_next))
            break
        finally:
            res['times'].append(round(time.time() - t, 2))
            if 'matplotlib.pyplot' in sys.modules: sys.modules['matplotlib.pyplot'].close('all')
        res['ran'] = i + 1
finally:
    sys.stdout.flush(); sys.stderr.flush()
    res['network'] = attempts
    json.dump(res, open(result_path, 'w'))
'''

def run_python(pys:list, data_dir:Path, label:str, tmp:Path, timeout:float, verbose:bool) -> list[str]:
    "Run the Python blocks `pys` in one fresh interpreter with `VAE_NB_DATA=data_dir`; problems as text."
    work, home = tmp/f'{label}-cwd', tmp/f'{label}-home'
    work.mkdir(); home.mkdir()
    (work/'blocks.json').write_text(json.dumps([dict(line=l, code=c) for l, c in pys]))
    (work/'runner.py').write_text(RUNNER)
    env = {k: v for k, v in os.environ.items() if not k.startswith(('XDG_', 'PYTHON')) and k not in ('TORCH_HOME', 'MPLCONFIGDIR')}
    env.update(HOME=str(home), MPLBACKEND='Agg', VAE_NB_DATA=str(data_dir), PYTHONUNBUFFERED='1')
    before = sorted(p.relative_to(data_dir) for p in data_dir.rglob('*'))
    t = time.time()
    try:
        p = subprocess.run([sys.executable, '-I', '-u', 'runner.py', 'blocks.json', 'result.json'], cwd=work, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
        output, rc = p.stdout, p.returncode
    except subprocess.TimeoutExpired as e:
        output, rc = (e.stdout or b'').decode(errors='replace') if isinstance(e.stdout, bytes) else (e.stdout or ''), None
    secs = time.time() - t
    res = json.loads((work/'result.json').read_text()) if (work/'result.json').exists() else None
    problems = []
    if res is None:
        problems.append(f"{label} run: the interpreter {'ran past ' + str(timeout) + ' s' if rc is None else f'exited {rc}'} "
                        f"without reporting (the last output follows)\n{output[-4000:]}")
        ran = '?'
    else:
        ran = res['ran']
        if res['failed'] is not None:
            line, code = pys[res['failed']]
            problems.append(f"{label} run: python block {res['failed']+1} of {len(pys)} (README line {line}) failed:\n"
                            + ''.join(f"    | {l}\n" for l in code.rstrip('\n').split('\n'))
                            + res['traceback'] + (f"output of the run:\n{output[-4000:]}" if output.strip() else ''))
        if res['network']:
            problems.append(f"{label} run: network access was attempted (and refused): " + '; '.join(res['network'][:5]))
    if label == 'no-data':
        after = sorted(p.relative_to(data_dir) for p in data_dir.rglob('*'))
        if after != before: problems.append(f"{label} run: files appeared in the empty data folder: {[str(p) for p in after[:10]]}")
    times = ', '.join(f"{s:.1f}" for s in (res or {}).get('times', []))
    print(f"README python, {label} (VAE_NB_DATA={data_dir}): {ran} of {len(pys)} blocks ran in {secs:.1f} s "
          f"[per block: {times}]" + ('' if not problems else ': FAILED'), flush=True)
    if verbose and output.strip(): print(''.join(f"    {l}\n" for l in output.rstrip('\n').split('\n')), end='')
    return problems

def commands(code:str) -> list[list[str]]:
    "The simple commands of shell `code`: continued lines joined, comments dropped, split at separators."
    out = []
    for line in code.replace('\\\n', ' ').split('\n'):
        lex = shlex.shlex(line, posix=True, punctuation_chars=True)
        lex.whitespace_split, cmd = True, []
        for tok in lex:
            if tok in SEPARATORS:
                if cmd: out.append(cmd)
                cmd = []
            else: cmd.append(tok)
        if cmd: out.append(cmd)
    return out

def options(args:list[str]) -> list[str]:
    "The options among `args` (`-x`, `--xx`, without any `=value`), not negative numbers."
    return [a.split('=')[0] for a in args if a.startswith('-') and len(a) > 1 and not re.match(r'^-\d', a)]

def lists_option(text:str, opt:str) -> bool: return re.search(rf'(?<![\w-]){re.escape(opt)}(?![\w-])', text) is not None

def check_sh(shs:list, quick:bool) -> list[str]:
    "Check the commands of the shell blocks `shs`; problems as text."
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get('PATH', '')])
    problems, names, helps, wanted = [], [], {}, {}
    for line, code in shs:
        for cmd in commands(code):
            where = f"sh block at README line {line}: `{' '.join(cmd)}`"
            while cmd and re.match(r'^[A-Za-z_]\w*=', cmd[0]): cmd = cmd[1:]   # FOO=bar cmd
            if not cmd: continue
            name, args = cmd[0], cmd[1:]
            names.append(name)
            if name in BUILTINS: continue
            if name in ('python', 'python3'):
                if args[:1] == ['-m'] and len(args) > 1:
                    import importlib.util
                    if importlib.util.find_spec(args[1]) is None: problems.append(f"{where}: no module {args[1]}")
                elif args and not args[0].startswith('-'):
                    script = ROOT/args[0]
                    if not script.is_file(): problems.append(f"{where}: no file {args[0]} in the repository")
                    else:
                        text = script.read_text()
                        problems += [f"{where}: {args[0]} does not mention {o}" for o in options(args[1:]) if not lists_option(text, o)]
                continue
            if shutil.which(name, path=path) is None: problems.append(f"{where}: no command {name} on PATH"); continue
            if HELP_CHECKED.match(name) and not quick: wanted.setdefault(name, []).append((where, options(args)))
    for name, uses in wanted.items():
        try:
            p = subprocess.run([shutil.which(name, path=path), '--help'], capture_output=True, text=True, timeout=120,
                               env={**os.environ, 'PATH': path}, stdin=subprocess.DEVNULL)
            helps[name] = p.stdout if p.returncode == 0 else None
        except subprocess.TimeoutExpired: helps[name] = None
        if helps[name] is None: problems.append(f"`{name} --help` failed"); continue
        for where, opts in uses:
            problems += [f"{where}: `{name} --help` does not list {o}" for o in opts if not lists_option(helps[name], o)]
    n = len(names)
    print(f"README sh: {n} commands in {len(shs)} blocks checked ({', '.join(sorted(set(names)))})"
          + (f"; options checked against --help of {', '.join(wanted)}" if wanted else '')
          + ('' if not problems else ': FAILED'), flush=True)
    return problems

OUT_OPTIONS = {'-o', '--out', '--output'}  # where vae_nb's commands write; vae_train's default is runs/<timestamp>/

def check_ignored(shs:list) -> list[str]:
    "Every folder a README command writes into, relative to a clone (its -o/--out, and runs/ by default), is ignored by git."
    folders = {'runs'}
    for _, code in shs:
        for cmd in commands(code):
            for a, b in zip(cmd, cmd[1:] + ['']):
                opt, eq, val = a.partition('=')
                if opt in OUT_OPTIONS and (val or b) and not Path(val or b).is_absolute(): folders.add(Path(val or b).parts[0])
    probe = lambda d: subprocess.run(['git', 'check-ignore', '-q', f'{d}/x.png'], cwd=ROOT).returncode == 0
    problems = [f"README's commands write into {d}/, which git does not ignore: add it to .gitignore" for d in sorted(folders) if not probe(d)]
    print(f"README sh: the folders its commands write into are ignored by git ({', '.join(sorted(folders))})"
          + ('' if not problems else ': FAILED'), flush=True)
    return problems

def check_outputs(text:str) -> list[str]:
    "Every Python block that prints is followed by its printed output (an indented block), as the notebook ran it."
    problems, lines = [], text.splitlines()
    for lang, line, code in blocks(text):
        if lang not in ('python', 'py', 'python3') or 'print(' not in code: continue
        end = line - 1 + len(code.rstrip('\n').split('\n'))          # the closing fence's index
        nxt = next((l for l in lines[end + 1:] if l.strip()), '')
        if not nxt.startswith('    '): problems.append(f"python block at README line {line} prints, but no output follows it")
    return problems

def check_pins(text:str) -> list[str]:
    "The versions a README pip line pins (the CPU-only wheels) are the ones settings.ini caps the install at."
    req = next((l for l in (ROOT/'settings.ini').read_text().splitlines() if l.startswith('requirements')), '')
    caps = dict(re.findall(r'(torch|torchvision)>=[\d.]+,<=([\d.]+)', req))
    problems = []
    for pkg, ver in re.findall(r'(?<![\w-])(torch|torchvision)==([\d.]+)', text):
        if caps.get(pkg) != ver: problems.append(f"README pins {pkg}=={ver}, but settings.ini caps it at {caps.get(pkg)}")
    return problems

def run_try_block(text:str, tmp:Path, timeout:float) -> list[str]:
    "The first shell block of the '## Use' section, run as pasted in bash, from an empty folder with no data: a newcomer's first commands."
    use = text.find('\n## Use')
    if use < 0: return ["README has no '## Use' section"]
    first = next(((l, c) for lang, l, c in blocks(text[use:]) if lang in ('sh', 'bash', 'shell')), None)
    if first is None: return ["README's Use section has no shell block"]
    work, home, empty = tmp/'try-cwd', tmp/'try-home', tmp/'try-no-data'
    for d in (work, home, empty): d.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith('XDG_') and k not in ('TORCH_HOME', 'MPLCONFIGDIR')}
    env.update(HOME=str(home), MPLBACKEND='Agg', VAE_NB_DATA=str(empty), PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    t = time.time()
    try: p = subprocess.run(['bash', '-e', '-c', first[1]], cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired: return [f"README's first Use block ran past {timeout} s"]
    print(f"README sh, the first Use block run as pasted with no data: exit {p.returncode} in {time.time() - t:.1f} s", flush=True)
    if p.returncode: return [f"README's first Use block failed (exit {p.returncode}) with no data:\n{first[1]}\n{(p.stdout + p.stderr)[-3000:]}"]
    if any(empty.iterdir()): return ["README's first Use block wrote into the empty data folder (a download was tried)"]
    return []

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('readme', nargs='?', default=str(ROOT/'README.md'), help='the markdown file (default: README.md)')
    p.add_argument('--data', default=os.environ.get('VAE_NB_DATA') or str(ROOT.parent/'shared'/'data'),
                   help='the folder holding MNIST/raw for the run with data (default: $VAE_NB_DATA, else ../shared/data)')
    p.add_argument('--quick', action='store_true', help='skip the run with data and the --help runs')
    p.add_argument('--timeout', type=float, default=900, help='seconds each run of the Python blocks may take')
    p.add_argument('--verbose', action='store_true', help="show the Python blocks' output")
    a = p.parse_args()
    bs = blocks(Path(a.readme).read_text())
    pys = [(l, c) for lang, l, c in bs if lang in ('python', 'py', 'python3')]
    shs = [(l, c) for lang, l, c in bs if lang in ('sh', 'bash', 'shell', 'console')]
    problems = []
    with tempfile.TemporaryDirectory(prefix='check_readme-') as tmp:
        tmp = Path(tmp)
        if pys:
            empty = tmp/'no-data'; empty.mkdir()
            problems += run_python(pys, empty, 'no-data', tmp, a.timeout, a.verbose)
            data = Path(a.data).expanduser().resolve()
            if a.quick: print("README python, with data: skipped (--quick)")
            elif not (data/'MNIST'/'raw').is_dir(): print(f"README python, with data: skipped, no {data}/MNIST/raw")
            else: problems += run_python(pys, data, 'with-data', tmp, a.timeout, a.verbose)
        else: problems.append(f"{a.readme} has no ``` python blocks")
    if shs: problems += check_sh(shs, a.quick) + check_ignored(shs)
    text = Path(a.readme).read_text()
    problems += check_outputs(text) + check_pins(text)
    if not a.quick:
        with tempfile.TemporaryDirectory(prefix='check_readme-try-') as tmp: problems += run_try_block(text, Path(tmp), a.timeout)
    for q in problems: print(f"\n{q}", file=sys.stderr)
    if problems: print(f"\ncheck_readme: {len(problems)} problem(s) in {a.readme}", file=sys.stderr); sys.exit(1)

if __name__ == '__main__': main()
