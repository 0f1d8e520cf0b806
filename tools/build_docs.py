"""Build vae_nb's docs without Quarto: nbdev's own notebook processing, then pandoc.

    python tools/build_docs.py            # the site in _docs/ and README.md
    python tools/build_docs.py --readme   # README.md only

nbdev does what it does before Quarto runs (directives, hidden cells, show_doc, front matter) into `_proc/`; pandoc
turns each processed notebook into one HTML page (highlighted code, MathML math, figures as files) with a sidebar in
notebook order, and `index.ipynb` into README.md as well. The notebooks of `nbs/experiments/` become pages
`experiments_NAME.html`, listed under "Experiments" in the sidebar. Quarto users run `nbdev_docs` instead, from the same files.

pandoc's ipynb reader parses markdown cells with fewer extensions than its markdown reader: without `link_attributes`,
the `[source](url){target="_blank" style="..."}` links of show_doc leave their `{...}` as text. `NB_FORMAT` turns on
the pandoc markdown extensions Quarto's markdown has (attributes on links, spans, headings and inline code; `:::` divs).
"""
import argparse, html, json, re, shutil, time
from pathlib import Path

import yaml
import pypandoc
from nbdev.config import get_config
from nbdev.serve import proc_nbs
from nbdev.quarto import refresh_quarto_yml

ROOT = Path(__file__).resolve().parent.parent
CSS = """
body { margin: 0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; }
nav.sidebar { position: fixed; top: 0; bottom: 0; left: 0; width: 15rem; padding: 1.5rem 1rem; background: #f4f6f8; overflow-y: auto; border-right: 1px solid #dde; }
nav.sidebar a { display: block; padding: .3rem .5rem; color: #2a5d9f; text-decoration: none; border-radius: 4px; }
nav.sidebar a.current, nav.sidebar a:hover { background: #dfe8f3; }
nav.sidebar .site { font-weight: 700; font-size: 1.2rem; margin-bottom: 1rem; }
nav.sidebar .section { margin: 1.2rem 0 .3rem; padding: 0 .5rem; font-weight: 600; font-size: .85rem; color: #555; text-transform: uppercase; letter-spacing: .04em; }
main { margin-left: 17rem; max-width: 60rem; padding: 1.5rem 2rem 4rem; }
p.description { font-size: 1.2rem; font-style: italic; color: #555; }
pre { background: #f6f8fa; padding: .7rem; white-space: pre-wrap; overflow-wrap: anywhere; border-radius: 4px; font-size: .88rem; }  /* long lines wrap, none is cut off */
div.output pre, div.cell-output pre { background: #fff; border-left: 3px solid #9ecae1; }
code { font-size: .9em; }
img { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 1rem 0; font-size: .9rem; }
th, td { border: 1px solid #ccd; padding: .25rem .6rem; text-align: left; }
th { background: #eef2f6; }
hr { border: 0; border-top: 1px solid #dde; margin: 2rem 0 1rem; }
"""

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

def quarto_options(cell:dict) -> tuple:
    "The cell's `#| key: value` options, which nbdev leaves for Quarto, and its source without them."
    lines = ''.join(cell['source']).splitlines(True)
    opts = {}
    while lines and re.match(r'#\|\s*[\w-]+\s*:', lines[0]):
        k, v = lines.pop(0)[2:].split(':', 1); opts[k.strip()] = v.strip()
    return opts, ''.join(lines)

def apply_quarto_options(cells:list) -> list:
    "Do what Quarto does with `echo: false` (outputs only; markdown outputs as text), `output: false`, `include: false`."
    res = []
    for cell in cells:
        if cell['cell_type'] != 'code': res.append(cell); continue
        opts, cell['source'] = quarto_options(cell)
        if opts.get('include') == 'false': continue
        if opts.get('output') == 'false': cell['outputs'] = []
        md = [o for o in cell['outputs'] if 'text/markdown' in o.get('data', {})]   # pandoc skips markdown outputs: make them text
        cell['outputs'] = [o for o in cell['outputs'] if o not in md]
        after = [dict(cell_type='markdown', metadata={}, source=''.join(o['data']['text/markdown'])) for o in md]
        if opts.get('echo') == 'false': cell['source'] = ''
        if cell['source'].strip() or cell['outputs']: res.append(cell)
        res += after
    return res

def pandoc_ready(nb:dict, site_url:str='') -> dict:
    "A copy of a processed notebook that pandoc reads: front matter as a title, Quarto's cell options, local links."
    nb = json.loads(json.dumps(nb))
    fm = front_matter(nb)
    if fm: nb['cells'] = nb['cells'][1:]
    head = f"# {fm.get('title', '')}\n\n" + (f"> {fm['description']}\n" if fm.get('description') else '')
    nb['cells'] = [dict(cell_type='markdown', id='title', metadata={}, source=head)] + apply_quarto_options(nb['cells'])
    for i, cell in enumerate(nb['cells']):
        if cell['cell_type'] == 'markdown':   # show_doc links to the published site: make them local
            cell['source'] = method_anchors(''.join(cell['source']).replace(site_url, '') if site_url else ''.join(cell['source']))
        if cell['cell_type'] != 'code': continue
        cell['execution_count'] = cell.get('execution_count') or i
        for out in cell.get('outputs', []):
            if out.get('output_type') == 'execute_result': out['execution_count'] = out.get('execution_count') or i
            md = out.get('data', {}).get('text/markdown')
            if md: out['data']['text/markdown'] = method_anchors(''.join(md))
    return nb

def method_anchors(md:str) -> str:
    "show_doc's `### Class.method` headings with the anchor nbdev's links use (`#class.method`), which pandoc would drop the dot from."
    return re.sub(r'(?m)^(#{2,4}) +([A-Za-z_]\w*)\.([A-Za-z_]\w*) *$', lambda m: f"{m[1]} {m[2]}.{m[3]} {{#{m[2].lower()}.{m[3].lower()}}}", md)

# the ipynb reader's markdown extensions, plus those of Quarto's markdown the notebooks and show_doc use
NB_FORMAT = 'ipynb+' + '+'.join(['link_attributes', 'bracketed_spans', 'header_attributes', 'inline_code_attributes', 'fenced_divs'])

EXPERIMENTS = 'experiments'   # the folder of the experiments notebooks, in nbs/ and in _proc/

def experiment_page(stem:str) -> str: return f"{EXPERIMENTS}_{stem}.html"

def pages(proc:Path) -> list:
    "`(notebook, page file, title, section)` in sidebar order: the front page, the numbered notebooks, then the experiments."
    nbs = sorted(proc.glob('*.ipynb'), key=lambda p: (p.stem != 'index', p.stem)) + sorted((proc/EXPERIMENTS).glob('*.ipynb'))
    res = []
    for p in nbs:
        if p.stem.startswith('_') or p.name.endswith(('.readme.ipynb', '.site.ipynb')): continue
        fm = front_matter(json.loads(p.read_text()))
        if p.parent.name == EXPERIMENTS and p.parent != proc: res.append((p, experiment_page(p.stem), fm.get('title', p.stem), 'Experiments'))
        else: res.append((p, fm.get('output-file', p.stem + '.html'), fm.get('title', p.stem), ''))
    return res

def sidebar(listed:list, current:str) -> str:
    "The sidebar's links, each section under its heading."
    res, section = [], ''
    for _, p, t, sec in listed:
        if sec != section: res.append(f'<div class="section">{html.escape(sec)}</div>'); section = sec
        res.append(f'<a href="{p}"{" class=current" if p == current else ""}>{html.escape(t)}</a>')
    return ''.join(res)

def build_site(proc:Path, out:Path):
    "One HTML page per processed notebook in `out`, with a sidebar in notebook order."
    cfg = get_config()
    site_url = f"{cfg.doc_host}{cfg.doc_baseurl}".rstrip('/') + '/'
    shutil.rmtree(out, ignore_errors=True); out.mkdir(parents=True)
    (out/'styles.css').write_text(CSS)
    listed = pages(proc)
    for nb_path, page, title, _ in listed:
        nav = out/'.nav.html'
        nav.write_text(f'<nav class="sidebar"><div class="site">{html.escape(cfg.title)}</div>{sidebar(listed, page)}</nav>\n<main>\n')
        (out/'.end.html').write_text('</main>\n')
        src = nb_path.parent/(nb_path.stem + '.site.ipynb')
        src.write_text(json.dumps(pandoc_ready(json.loads(nb_path.read_text()), site_url)))
        pypandoc.convert_file(str(src), 'html5', format=NB_FORMAT, outputfile=str(out/page), cworkdir=str(out), extra_args=[
            '--standalone', '--mathml', '--syntax-highlighting=tango', f'--extract-media={Path(page).stem}_files',
            '--css=styles.css', f'--metadata=pagetitle:{title} – {cfg.title}', f'--include-before-body={nav}',
            f'--include-after-body={out/".end.html"}'])
        src.unlink()
    for f in ('.nav.html', '.end.html'): (out/f).unlink()
    return [page for _, page, _, _ in listed]

def build_readme(proc:Path):
    "Write README.md and `index_files/` from the processed index notebook."
    media = ROOT/'index_files'
    shutil.rmtree(media, ignore_errors=True)
    src = proc/'index.readme.ipynb'
    src.write_text(json.dumps(pandoc_ready(json.loads((proc/'index.ipynb').read_text()))))
    md = pypandoc.convert_file(str(src), 'gfm-raw_html', format=NB_FORMAT, extra_args=[f'--extract-media={media.name}', '--wrap=none'], cworkdir=str(ROOT))
    src.unlink()
    (ROOT/'README.md').write_text(md)
    print(f"wrote README.md ({len(md):,} characters) and {len(list(media.rglob('*.*')))} figure(s) in {media.name}/")

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--readme', action='store_true', help='only write README.md')
    p.add_argument('--force', action='store_true', help='reprocess every notebook')
    args = p.parse_args()
    start = time.perf_counter()
    proc = process(args.force)
    build_readme(proc)
    if not args.readme:
        out = ROOT/get_config().doc_path.name
        built = build_site(proc, out)
        print(f"wrote {len(built)} pages in {out.name}/: {', '.join(built)}")
    print(f"docs built in {time.perf_counter() - start:.1f} s")
