"""Packaging for vae_nb: everything is read from settings.ini, the one place nbdev keeps project settings."""
from configparser import ConfigParser
from pathlib import Path
import setuptools

cfg = ConfigParser(delimiters=['='])
cfg.read('settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']

def _reqs(key): return cfg.get(key, '').split()

licenses = {'apache2': 'Apache-2.0'}
readme = Path('README.md')

setuptools.setup(
    name=cfg['lib_name'],
    version=cfg['version'],
    description=cfg['description'],
    long_description=readme.read_text(encoding='utf-8') if readme.exists() else cfg['description'],
    long_description_content_type='text/markdown',
    author=cfg['author'],
    author_email=cfg['author_email'],
    url=cfg['git_url'],
    license=licenses[cfg['license']],
    classifiers=['Programming Language :: Python :: 3', 'Development Status :: 3 - Alpha', 'Intended Audience :: Developers'],
    keywords=cfg['keywords'],
    packages=setuptools.find_namespace_packages(include=['vae_nb', 'vae_nb.*']),
    # The package folder sits in the checkout's root, so an editable install puts the root on sys.path (a .pth line)
    # rather than a finder of its own: Python's path search then finds the real package even from the folder that
    # holds a clone named vae_nb, which would otherwise be imported as an empty namespace package.
    package_dir={'': '.'},
    include_package_data=True,
    package_data={'vae_nb': ['assets/*']},
    python_requires='>=' + cfg['min_python'],
    install_requires=_reqs('requirements'),
    extras_require={'dev': _reqs('dev_requirements')},
    entry_points={'console_scripts': _reqs('console_scripts'), 'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    zip_safe=False,
)
