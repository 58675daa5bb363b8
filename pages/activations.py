import streamlit as st

from pages.common import current_model, show_notice

st.title("activations")
show_notice(current_model())
