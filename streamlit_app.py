"""AlexNet Explorer: `streamlit run streamlit_app.py`.

The entry point only routes (st.navigation) and draws the shared sidebar (model choice); each page
lives in pages/. A page whose file is not there yet is left out, so the app always starts.
Everything works on a fresh machine: without a trained model or a data folder the default model is
the freshly initialised paper network and the sample images ship with the package.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from pages.state import model_sidebar

HERE = Path(__file__).resolve().parent

# (file, title, icon, url path); the first page that exists is the default.
PAGES = (
    ("pages/kernels.py", "Kernels", ":material/grid_on:", "kernels"),
    ("pages/activations.py", "Activations", ":material/layers:", "activations"),
    ("pages/units.py", "Units", ":material/apps:", "units"),
    ("pages/why.py", "Why this class?", ":material/psychology_alt:", "why"),
    ("pages/figure4.py", "Figure 4: nearest images", ":material/image_search:", "figure-4"),
    ("pages/validation.py", "Validation", ":material/fact_check:", "validation"),
    ("pages/lrn.py", "Local response normalisation", ":material/tune:", "lrn"),
    ("pages/relu_tanh.py", "ReLU vs tanh", ":material/show_chart:", "relu-tanh"),
    ("pages/training.py", "Training", ":material/monitoring:", "training"),
    ("pages/architecture.py", "Architecture", ":material/account_tree:", "architecture"),
)

st.set_page_config(page_title="AlexNet Explorer", page_icon=":material/visibility:", layout="wide")

pages = [
    st.Page(path, title=title, icon=icon, url_path=url, default=(i == 0))
    for i, (path, title, icon, url) in enumerate(p for p in PAGES if (HERE / p[0]).is_file())
]
page = st.navigation(pages)
st.sidebar.title("AlexNet Explorer")
st.sidebar.caption("Krizhevsky, Sutskever & Hinton (2012), rebuilt in PyTorch.")
model_sidebar()
page.run()
