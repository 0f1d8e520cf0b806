"""Build vae_nb's docs without Quarto: nbdev's own notebook processing, then pandoc.

`python tools/build_docs.py --readme` writes README.md (and its figures in `index_files/`) from `nbs/index.ipynb`.
"""
import argparse, json, shutil, sys
from pathlib import Path

import yaml
import pypandoc
from nbdev.config import get_config
from nbdev.serve import proc_nbs
from nbdev.quarto import refresh_quarto_yml

ROOT = Path(__file__).resolve().parent.parent

def process(force=False) -> Path:
    "Run the step `nbdev_docs` runs before Quarto (directives, show_doc, hidden cells, front matter) into `_proc/`."
    refresh_quarto_yml()
    return proc_nbs(get_config().nbs_path, force=force)

def front_matter(nb:dict) -> dict:
    "The YAML front matter nbdev put in the first raw cell, or {}."
    cell = nb['cells'][0] if nb['cells'] else {}
    src = ''.join(cell.get('source', []))
    if cell.get('cell_type') == 'raw' and src.startswith('---'): return yaml.safe_load(src.split('---')[1]) or {}
    return {}

def pandoc_ready(nb:dict) -> dict:
    "A copy of a processed notebook that pandoc reads: front matter as a title, execution counts filled in."
    nb = json.loads(json.dumps(nb))
    fm = front_matter(nb)
    if fm: nb['cells'] = nb['cells'][1:]
    head = f"# {fm.get('title', '')}\n\n" + (f"> {fm['description']}\n" if fm.get('description') else '')
    nb['cells'].insert(0, dict(cell_type='markdown', id='title', metadata={}, source=head))
    for i, cell in enumerate(nb['cells']):
        if cell['cell_type'] != 'code': continue
        cell['execution_count'] = cell.get('execution_count') or i
        for out in cell.get('outputs', []):
            if out.get('output_type') == 'execute_result': out['execution_count'] = out.get('execution_count') or i
    return nb

def build_readme(proc:Path):
    "Write README.md and `index_files/` from the processed index notebook."
    media = ROOT/'index_files'
    shutil.rmtree(media, ignore_errors=True)
    src = ROOT/'_proc'/'index.readme.ipynb'
    src.write_text(json.dumps(pandoc_ready(json.loads((proc/'index.ipynb').read_text()))))
    md = pypandoc.convert_file(str(src), 'gfm-raw_html', extra_args=[f'--extract-media={media.name}', '--wrap=none'], cworkdir=str(ROOT))
    (ROOT/'README.md').write_text(md)
    print(f"wrote README.md ({len(md):,} characters) and {len(list(media.rglob('*.*')))} figure(s) in {media.name}/")

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--readme', action='store_true', help='only write README.md')
    p.add_argument('--force', action='store_true', help='reprocess every notebook')
    args = p.parse_args()
    proc = process(args.force)
    build_readme(proc)
