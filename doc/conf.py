"""Sphinx configuration for the sksbi-manifold documentation."""

import socket

import sksbi_manifold

project = "sksbi-manifold"
author = "sksbi-manifold developers"
release = sksbi_manifold.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False


def _online(host: str = "docs.python.org", timeout: float = 2.0) -> bool:
    """Whether the intersphinx inventories can be fetched from this machine."""
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError:
        return False
    return True


# Offline builds (the build machines have no network) skip the inventories,
# which would otherwise warn "failed to reach any of the inventories".
intersphinx_mapping = (
    {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
    }
    if _online()
    else {}
)
intersphinx_disabled_reftypes = ["*"]
intersphinx_timeout = 1

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"plot_",
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
}

html_theme = "pydata_sphinx_theme"
html_title = "sksbi-manifold"
exclude_patterns = ["_build", "auto_examples/*.ipynb"]


# Methods inherited from scikit-learn (``score``, ``set_*_request``) carry
# docstrings that point at labels and glossary terms of scikit-learn's own
# documentation. Without its inventory they cannot resolve; show their text.
_SKLEARN_DOC_TARGETS = {"meta-estimator", "metadata_routing", "r2_score"}


def _sklearn_targets_as_text(app, env, node, contnode):
    if node.get("reftarget") in _SKLEARN_DOC_TARGETS:
        return contnode
    return None


def setup(app):
    app.connect("missing-reference", _sklearn_targets_as_text)
