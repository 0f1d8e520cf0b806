"""How fast a folder of images is decoded into vae_nb's uint8 cache, and how much memory it takes. Writes N 32x32
RGB PNGs (the data chapter's coloured `shapes`, in a subfolder per class) into a temporary folder, then times
`FolderImages(...).splits()` from a cold cache (listing, keying, decoding on every core, writing the cache) and from
the warm cache, and measures the main process's peak memory above what it held before, against the size of the
uint8 array. Prints the figures and records them, with the CPU and the load on the machine.

    python bench/folder_decode.py [--n 50000] [--size 32] [--workers 2] [--out bench/folder_decode.json]
"""
import argparse, os, resource, shutil, tempfile, time
from datetime import date
from pathlib import Path

import numpy as np
from PIL import Image

from vae_nb.core import atomic_write, cpu_flags, cpu_model, dumps
import vae_nb.data
from vae_nb.data import SHAPES, FolderImages, shapes

ROOT = Path(__file__).resolve().parent.parent

def rss_kib(field:str) -> int:
    "A memory figure of this process from /proc (VmRSS now, VmHWM its peak), in KiB."
    return int(next(l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith(field + ':')).split()[1])

def write_folder(folder:Path, n:int, size:int) -> float:
    "Write `n` shape PNGs into `folder`, a subfolder per shape; the seconds it took."
    t = time.perf_counter()
    for start in range(0, n, 5_000):  # drawn in blocks, so that drawing them never holds all n at once
        x, y = shapes(min(5_000, n - start), size, seed=start)
        for i, (im, c) in enumerate(zip(x, y)):
            (folder/SHAPES[c]).mkdir(parents=True, exist_ok=True)
            Image.fromarray(im.transpose(1, 2, 0)).save(folder/SHAPES[c]/f'{start + i:06d}.png')
    return time.perf_counter() - t

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n', type=int, default=50_000)
    p.add_argument('--size', type=int, default=32)
    p.add_argument('--workers', type=int, default=vae_nb.data.usable_cores())
    p.add_argument('--out', default=str(ROOT/'bench'/'folder_decode.json'))
    a = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix='vae_nb_folder_bench_'))
    os.environ['XDG_CACHE_HOME'] = str(tmp/'cache')  # a cold cache of the bench's own
    vae_nb.data.usable_cores = lambda: a.workers  # decode_files uses one process per usable core
    try:
        folder = tmp/'images'; write_s = write_folder(folder, a.n, a.size)
        size_mb = sum(f.stat().st_size for f in folder.rglob('*.png'))/1e6
        ds = FolderImages(folder, image_size=a.size, image_channels=3)
        before = rss_kib('VmRSS'); Path('/proc/self/clear_refs').write_text('5')  # reset the peak to what is held now
        t = time.perf_counter(); s = ds.splits(progress=False); cold = time.perf_counter() - t
        peak = rss_kib('VmHWM')
        n = sum(len(v[0]) for v in s.values()); array_mb = n*3*a.size*a.size/1e6
        del s
        t = time.perf_counter(); s = ds.splits(progress=False); warm = time.perf_counter() - t
        assert sum(len(v[0]) for v in s.values()) == n
        extra_mb = (peak - before)*1024/1e6
        res = dict(machine=dict(cpu=cpu_model(), cpu_features=sorted(f for f in cpu_flags() if f.startswith(('avx512', 'amx', 'avx2', 'fma'))),
                                cores=len(os.sched_getaffinity(0)), load_before=round(os.getloadavg()[0], 2)),
                   date=str(date.today()), command=f'python bench/folder_decode.py --n {a.n} --size {a.size} --workers {a.workers}',
                   images=n, size=a.size, channels=3, format='PNG, one file per image, a subfolder per class', files_mb=round(size_mb, 1),
                   workers=a.workers, write_seconds=round(write_s, 1),
                   cold_seconds=round(cold, 2), cold_images_per_second=round(n/cold), warm_seconds=round(warm, 2),
                   array_mb=round(array_mb, 1), peak_extra_mb=round(extra_mb, 1), peak_extra_share=round(extra_mb/array_mb, 3),
                   worker_peak_rss_mb=round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss*1024/1e6, 1))
        print(f"{n:,} {a.size}x{a.size} PNGs ({size_mb:.0f} MB) decoded in {cold:.2f} s on {a.workers} processes: {n/cold:,.0f} images/s; "
              f"from the cache in {warm:.2f} s. Peak memory {extra_mb:.0f} MB above the start, for a {array_mb:.0f} MB array "
              f"({extra_mb/array_mb:.0%}); a worker's peak resident memory {res['worker_peak_rss_mb']:.0f} MB (shared pages included).")
        atomic_write(a.out, dumps(res, indent=1) + '\n')
        print(f"wrote {a.out}")
    finally: shutil.rmtree(tmp, ignore_errors=True)
