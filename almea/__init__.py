"""ALMEA: active learning for multi-modal entity alignment (the ML backend).

No Streamlit and no database here: `annotate/` joins this package to storage and UI.
"""
