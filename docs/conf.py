"""Sphinx configuration for the sb3-maxent documentation (MyST markdown pages)."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import sb3_maxent

project = "sb3-maxent"
author = "sb3-maxent developers"
copyright = "2026, sb3-maxent developers"
release = sb3_maxent.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    # Ships MathJax 3.2.2 (scripts and fonts), copies it to _static/mathjax/ and points mathjax_path there
    # instead of the CDN: the built pages typeset their math without network access
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "sphinx.ext.intersphinx",
]
# MathJax's textmacros: `\_` and other text-mode macros inside `\text{...}` (e.g. `\text{ent\_coef}`)
mathjax3_config = {"loader": {"load": ["[tex]/textmacros"]}, "tex": {"packages": {"[+]": ["textmacros"]}}}
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
# Inherited SB3 docstrings carry RST that Sphinx cannot resolve offline; intersphinx stays off the network.
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}
nitpicky = False
suppress_warnings = ["myst.header"]

html_theme = "furo"
html_title = f"sb3-maxent {release}"
