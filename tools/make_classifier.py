"""Make the classifier that vae_nb's sample-quality metrics read features from, for one dataset, and write it with its
provenance (settings, each epoch, test accuracy, data checksums, wall time, machine) beside it.

    python tools/make_classifier.py --dataset mnist            # writes vae_nb/assets/classifier_mnist.pt and .json
    python tools/make_classifier.py --dataset fashion_mnist    # writes vae_nb/assets/classifier_fashion_mnist.pt and .json
    python tools/make_classifier.py --dataset mnist --dest /tmp/clf.pt --epochs 2

It trains `vae_nb.quality.train_classifier` on the dataset's own split (50,000 training images, the last 10,000 of
the training file held out) and needs the full data (`VAE_NB_DATA` or `--data_dir`). binarized_mnist models use the
MNIST classifier, which trains on half its batches binarized.
"""
import argparse, hashlib, json, os, sys, time
from datetime import date
from pathlib import Path

import torch
import vae_nb
from vae_nb.core import atomic_write, cpu_flags, cpu_model, dumps
from vae_nb.data import MNIST_FILES, find_mnist
from vae_nb.quality import train_classifier, save_classifier

KINDS = dict(mnist='MNIST', fashion_mnist='FashionMNIST')

def checksums(kind:str, data_dir=None) -> dict:
    "MD5 of each file's content (gunzipped where it is gzipped)."
    import gzip
    folder = find_mnist(data_dir, kind)
    if folder is None: sys.exit(f"make_classifier: the full {kind} is needed: set VAE_NB_DATA or pass --data_dir")
    out = {}
    for name in MNIST_FILES.values():
        p = folder/name if (folder/name).exists() else folder/f'{name}.gz'
        data = gzip.decompress(p.read_bytes()) if p.suffix == '.gz' else p.read_bytes()
        out[name] = hashlib.md5(data).hexdigest()
    return out

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--dataset', choices=list(KINDS), required=True)
    p.add_argument('--epochs', type=int, default=12)
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--data_dir', default=None)
    p.add_argument('--dest', default=None, help='default: vae_nb/assets/classifier_DATASET.pt')
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    kind = KINDS[a.dataset]
    sums = checksums(kind, a.data_dir)
    model, rec = train_classifier(kind, epochs=a.epochs, data_dir=a.data_dir, progress=True)
    dest = Path(a.dest or Path(vae_nb.__file__).parent/'assets'/f'classifier_{a.dataset}.pt')
    rec.update(command=' '.join(['python', 'tools/make_classifier.py', *sys.argv[1:]]), dataset=a.dataset, data_md5=sums,
               machine=dict(cpu=cpu_model(), cpu_flags=sorted(f for f in cpu_flags() if f.startswith(('avx', 'amx', 'fma'))), threads=torch.get_num_threads(),
                            torch=str(torch.__version__)), date=str(date.today()), checkpoint=dest.name)
    save_classifier(model, dest, rec)
    atomic_write(dest.with_suffix('.json'), dumps(rec, indent=1) + '\n')
    print(f"test accuracy {rec['test_accuracy']:.4f} (binarized {rec['test_accuracy_binarized']:.4f}) after {rec['seconds']/60:.1f} min; wrote {dest}")
