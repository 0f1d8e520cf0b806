"""Check the built docs like code: run after `python tools/build_docs.py`.

    python tools/check_docs.py [--browser]

Every notebook has a page (those of nbs/experiments/ as experiments_NAME.html, listed under "Experiments" in the
sidebar); no page shows raw `#|` directives, YAML front matter or Python tracebacks; every image and
internal link (with its #anchor) resolves; README.md's figures exist. With --browser, headless Chromium screenshots
the front page and the latent-space page, and each must show a real page (enough distinct colours and ink), not a
blank one. Exits 1 with a line per problem.
"""
import argparse, re, shutil, subprocess, sys, tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse, unquote

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT/'_docs'
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                  '--disable-sync', '--no-first-run', '--hide-scrollbars']

class Page(HTMLParser):
    "The text, image sources, link targets and element ids of an HTML page."
    def __init__(self, text):
        super().__init__(); self.text, self.code, self.imgs, self.links, self.ids, self._skip, self._pre = [], [], [], [], set(), 0, 0
        self.feed(text)
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if 'id' in a: self.ids.add(a['id'])
        if tag == 'img': self.imgs.append(a.get('src', ''))
        if tag == 'a' and a.get('href'): self.links.append(a['href'])
        if tag in ('script', 'style'): self._skip += 1
        if tag == 'pre': self._pre += 1
    def handle_endtag(self, tag):
        if tag in ('script', 'style'): self._skip -= 1
        if tag == 'pre': self._pre -= 1
    def handle_data(self, data):
        if not self._skip: self.text.append(data)
        if self._pre: self.code.append(data)

def local(url:str) -> bool: return not urlparse(url).scheme and not url.startswith('//')

def check_site(docs:Path) -> list:
    problems, parsed = [], {}
    nbs = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.stem.startswith('_'))
    for nb in nbs:   # every notebook has a page (its default_exp's name, or its own stem)
        m = re.search(r'#\|\s*default_exp\s+([\w.]+)', nb.read_text())
        page = docs/f"{m.group(1) if m else nb.stem}.html"
        if not page.exists(): problems.append(f"{nb.name}: no page {page.name}")
    experiments = sorted(p for p in (ROOT/'nbs'/'experiments').glob('*.ipynb') if not p.stem.startswith('_'))
    for nb in experiments:   # every experiments notebook has a page, listed under "Experiments" in the sidebar
        page = docs/f"experiments_{nb.stem}.html"
        if not page.exists(): problems.append(f"experiments/{nb.name}: no page {page.name}"); continue
        nav = re.search(r'<nav class="sidebar">(.*?)</nav>', page.read_text(), re.S)
        after = nav.group(1).split('<div class="section">Experiments</div>', 1) if nav else []
        if len(after) < 2 or f'href="{page.name}"' not in after[1]: problems.append(f"{page.name}: not listed under Experiments in its sidebar")
    for page in sorted(docs.glob('*.html')):
        parsed[page.name] = Page(page.read_text())
    for name, p in parsed.items():
        text, code = ''.join(p.text), ''.join(p.code)
        if re.search(r'(?m)^\s*#\|', code): problems.append(f"{name}: shows a raw #| directive in its code")
        for pat, what in [(r'(?m)^\s*(output-file|title|description):\s', 'YAML front matter'),
                          (r'Traceback \(most recent call last\)', 'a Python traceback'), (r'\x1b\[', 'raw ANSI escapes')]:
            if re.search(pat, text): problems.append(f"{name}: shows {what}")
        for src in p.imgs:
            if local(src) and not (docs/unquote(src)).exists(): problems.append(f"{name}: image {src} missing")
        for href in p.links:
            if not local(href): continue
            path, _, anchor = href.partition('#')
            target = path or name
            if not (docs/unquote(target)).exists(): problems.append(f"{name}: link {href} to a missing page")
            elif anchor and target in parsed and anchor not in parsed[target].ids: problems.append(f"{name}: link {href} to a missing anchor")
    readme = (ROOT/'README.md').read_text()
    for src in re.findall(r'!\[[^\]]*\]\(([^)\s]+)', readme):
        if local(src) and not (ROOT/unquote(src)).exists(): problems.append(f"README.md: figure {src} missing")
    if not re.search(r'!\[[^\]]*\]\(', readme): problems.append("README.md: no figures")
    return problems

def screenshot(page:Path, out:Path, chromium:str):
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, *CHROMIUM_FLAGS, f'--user-data-dir={profile}', f'--screenshot={out}', '--window-size=1280,1600',
                        page.as_uri()], check=True, capture_output=True, timeout=120)

def check_browser(docs:Path, shots:Path) -> list:
    import numpy as np
    from PIL import Image
    chromium = shutil.which('chromium') or shutil.which('chromium-browser') or shutil.which('google-chrome')
    if not chromium: return ["--browser: no Chromium found (Debian: apt-get install chromium)"]
    problems = []
    shots.mkdir(parents=True, exist_ok=True)
    for name in ('index.html', 'latent.html'):
        png = shots/name.replace('.html', '.png')
        try: screenshot(docs/name, png, chromium)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e: problems.append(f"{name}: Chromium failed ({e})"); continue
        img = Image.open(png).convert('RGB')
        colours = len(img.getcolors(maxcolors=1 << 20) or [])
        ink = (np.asarray(img, dtype=np.int32).sum(-1) < 600).mean()  # share of pixels darker than light grey
        print(f"{name}: screenshot {img.size[0]}x{img.size[1]}, {colours} distinct colours, {ink:.1%} ink -> {png}")
        if colours < 64 or ink < 0.02: problems.append(f"{name}: the screenshot looks blank ({colours} colours, {ink:.1%} ink)")
    return problems

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--browser', action='store_true', help='also screenshot pages in headless Chromium')
    p.add_argument('--shots', default=str(ROOT/'_docs_shots'), help='where screenshots go (not committed)')
    a = p.parse_args()
    if not (DOCS/'index.html').exists(): sys.exit("no _docs/index.html: run python tools/build_docs.py first")
    problems = check_site(DOCS)
    if a.browser: problems += check_browser(DOCS, Path(a.shots))
    n_pages = len(list(DOCS.glob('*.html')))
    for pr in problems: print('PROBLEM', pr)
    print(f"docs check: {n_pages} pages, {len(problems)} problem(s)")
    sys.exit(1 if problems else 0)
