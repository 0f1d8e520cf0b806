"""Fingerprints of vae_nb's results, compared with the ones recorded before a redesign, for this kind of CPU.

    python tools/fingerprint.py            # compute and compare; exit 1 on any difference
    python tools/fingerprint.py --write F  # also write what was computed to F

Computed on the CPU with 2 threads: the weights (SHA-256 and per-tensor sums), history and test metrics after 2 epochs
on the shipped sample of the reference's settings (`train2`) and of the fast CPU settings with KL warm-up and free
bits (`fast2`); the pretrained model's metrics on the full test and valid splits and on the sample; and a checkpoint
in the reference implementation's format (the pretrained weights under its module names) on the full test split.
Bit patterns differ between CPU kinds, so there is a record per kind (`record_for`), and equality is expected on a
machine of the kind it was made on: `fingerprints.json`, an AMD EPYC with AVX-512 BF16, recorded before the first
redesign; `fingerprints_avx2.json`, an AMD EPYC with AVX2 and no AVX-512, recorded from commit af3b068, before the
training chapter was split into its story and its machinery. The fast run asks for bf16, which runs (emulated where
it is not native) as `VAE_NB_BF16=1` makes it, as in the tests. `nbs/08_train.ipynb` keeps the training part as a
test within 1e-5 of the record for its CPU's kind.
"""
import argparse, hashlib, json, os, sys, tempfile
from pathlib import Path
import torch
from vae_nb.train import train
from vae_nb.evaluate import evaluate
from vae_nb.model import load_model, load_pretrained
from vae_nb.data import mnist_splits
from vae_nb.core import cpu_flags

RECORDS = {'avx512_bf16': 'fingerprints.json', 'avx2': 'fingerprints_avx2.json'}  # a CPU's kind -> its record

def record_for(flags=None) -> Path|None:
    "The record for this CPU's kind: AVX-512 BF16, or AVX2 without AVX-512; None for another kind."
    flags = cpu_flags() if flags is None else flags
    kind = 'avx512_bf16' if 'avx512_bf16' in flags else 'avx2' if 'avx2' in flags and 'avx512f' not in flags else None
    return Path(__file__).parent/RECORDS[kind] if kind else None

FAST = dict(bs=64, lr=4e-3, lr_schedule='onecycle', channels_last=True, bf16=True, fused=True, kl_warmup=1, free_bits=0.01)

def weights(model) -> tuple:
    sd = model.state_dict(); h = hashlib.sha256()
    for k in sorted(sd): h.update(k.encode()); h.update(sd[k].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest(), {k: float(v.double().sum()) for k, v in sd.items()}

def fingerprints() -> dict:
    torch.set_num_threads(2)
    os.environ['VAE_NB_BF16'] = '1'  # the fast run in bf16, native or not, as the tests run it
    out = {}
    with tempfile.TemporaryDirectory() as d:
        for name, kw in (('train2', {}), ('fast2', FAST)):
            learn = train(epochs=2, sample=True, out=f'{d}/{name}', quiet=True, device='cpu', **kw)
            out[f'{name}_sha256'], out[f'{name}_weight_sums'] = weights(learn.model)
            out[f'{name}_history'], out[f'{name}_test'] = learn.history, learn.test_metrics
        pre, splits = load_pretrained(), mnist_splits()
        for split in ('test', 'valid'): out[f'pretrained_{split}'] = evaluate(pre, splits[split][0])
        out['pretrained_sample_test'] = evaluate(pre, mnist_splits(sample=True)['test'][0])
        ref = {k.replace('encoder.', 'Encoder.', 1).replace('decoder.', 'Decoder.', 1): v for k, v in pre.state_dict().items()}
        torch.save({'epoch': 30, 'model': ref, 'optimizer': {}}, f'{d}/reference.pt')
        out['reference_ckpt_test'] = evaluate(load_model(f'{d}/reference.pt'), splits['test'][0])
    return out

def differences(got:dict, want:dict) -> list:
    "Every recorded value that differs (epoch times aside)."
    strip = lambda v: [{k: x for k, x in r.items() if k != 'seconds'} for r in v] if isinstance(v, list) else v
    return [k for k in want if strip(got.get(k)) != strip(want[k])]

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--write', help='also write the computed fingerprints to this file')
    args = p.parse_args()
    record = record_for()
    got = fingerprints()
    if args.write: Path(args.write).write_text(json.dumps(got, indent=1))
    if record is None: sys.exit("no record for this kind of CPU (neither AVX-512 BF16 nor AVX2 without AVX-512): make one with --write from the commit before a change")
    print(f"record: {record.name}")
    diff = differences(got, json.loads(record.read_text()))
    for k in ('train2_sha256', 'fast2_sha256'): print(f"{k}: {got[k]}")
    for k in ('pretrained_test', 'reference_ckpt_test'): print(f"{k}: " + ', '.join(f"{m} {v:.8f}" for m, v in got[k].items()))
    print('identical to the record' if not diff else f"DIFFERENT from the record: {', '.join(diff)}")
    sys.exit(1 if diff else 0)
