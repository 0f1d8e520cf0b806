"""A recipe sweep on one GPU, for the question the CPU cannot answer in a session: how low do small changes to the
network and recipe take the test Total in about the reference's wall-time budget on this project's CPU?

Every run is a `vae_train` process (one-cycle lr, fp32), all started at once on the same GPU; runs still going at
the deadline are stopped, and each run's metrics so far are collected into one JSON file. Run it where vae_nb and
MNIST are (VAE_NB_DATA), from the repository's root:

    python bench/recipe_sweep.py cuda 330 bench/recipe_sweep_h200.json

Arguments: device, deadline in seconds, output file, and optionally a cap on the epochs with --sample data (a dry run).
The epochs of the runs named after an epoch count (base72, w15_42, w2_30, dec2_40, w3_15) were sized to fit the
reference's budget at speeds measured on this project's 2-core CPU; fast14 and wide24 take the settings of CPU runs of
the training notebook (not their bf16, channels-last or fused Adam), to compare outcomes; base100, w2_90 and w3_60 go longer.
The runs are fp32 with cuDNN's defaults (TF32 convolutions on recent GPUs); the record in bench/ was written on a fresh
machine by this script before it cleared /tmp/sweep first and kept each run's return code (runs killed at the deadline
have no test metrics).
"""
import sys, json, shutil, time, subprocess
from pathlib import Path
dev, deadline, out = sys.argv[1], float(sys.argv[2]), Path(sys.argv[3])
B, W15, W2, W3 = ('32,64,64,64', '64,64,64,32'), ('48,96,96,96', '96,96,96,48'), ('64,128,128,128', '128,128,128,64'), ('96,192,192,192', '192,192,192,96')
runs = dict(  # name: (epochs, bs, lr, (enc, dec), beta2)
    fast14=(14, 256, 6e-3, B, 0.95), wide24=(24, 128, 2e-3, W2, 0.999),
    base72=(72, 256, 6e-3, B, 0.95), base100=(100, 256, 6e-3, B, 0.95),
    w15_42=(42, 256, 5e-3, W15, 0.95), w2_30=(30, 256, 4e-3, W2, 0.95), w2_30_bs128=(30, 128, 2e-3, W2, 0.95),
    w2_90=(90, 256, 4e-3, W2, 0.95), dec2_40=(40, 256, 4e-3, (B[0], W2[1]), 0.95),
    w3_15=(15, 256, 3e-3, W3, 0.95), w3_60=(60, 256, 3e-3, W3, 0.95))
dry = len(sys.argv) > 4
if dry: runs = {k: (min(v[0], int(sys.argv[4])),) + v[1:] for k, v in runs.items()}  # a dry run
root = Path('/tmp/sweep'); shutil.rmtree(root, ignore_errors=True); root.mkdir()  # no earlier sweep's files
procs, start = {}, time.time()
for name, (ep, bs, lr, (enc, dec), b2) in runs.items():
    args = ['--device', dev, '--threads', '1', '--no-progress', '--out', str(root/name), '--epochs', str(ep), '--bs', str(bs), '--lr', str(lr),
            '--lr_schedule', 'onecycle', '--beta2', str(b2), '--enc_channels', enc, '--dec_channels', dec]
    if dry: args += ['--sample']
    procs[name] = (subprocess.Popen([sys.executable, '-c', 'from vae_nb.train import vae_train; vae_train()', *args],
                                    stdout=open(root/f'{name}.log', 'w'), stderr=subprocess.STDOUT), time.time())
ended = {}
while len(ended) < len(procs) and time.time() - start < deadline:
    for n, (p, t) in procs.items():
        if n not in ended and p.poll() is not None: ended[n] = round(time.time() - t, 1); print(f'{n} ended rc {p.returncode} after {ended[n]} s', flush=True)
    time.sleep(1)
for n, (p, t) in procs.items():
    if n not in ended: p.kill(); p.wait(); print(f'{n} killed at the deadline', flush=True)
res = {}
for name, cfg in runs.items():
    d = root/name
    hist = [json.loads(l) for l in (d/'metrics.jsonl').read_text().splitlines()] if (d/'metrics.jsonl').exists() else []
    test = json.loads((d/'test_metrics.json').read_text()) if (d/'test_metrics.json').exists() else None
    res[name] = dict(config=cfg, wall=ended.get(name), returncode=procs[name][0].returncode, test=test, valid_total=[round(h['valid_total'], 5) for h in hist],
                     train_total=[round(h['train_total'], 5) for h in hist], seconds=[round(h['seconds'], 2) for h in hist],
                     log_tail=(root/f'{name}.log').read_text()[-600:])
    print(name, cfg, 'wall', ended.get(name), 'epochs', len(hist), 'last valid', res[name]['valid_total'][-1:] , 'test', test and round(test['total'], 5), flush=True)
out.write_text(json.dumps(res, indent=1))
