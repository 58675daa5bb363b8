import streamlit as st

from pages.common import current_model, show_notice

st.title("kernels")
show_notice(current_model())
