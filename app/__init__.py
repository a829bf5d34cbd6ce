"""The two user interfaces — the Streamlit app and the ``sradit`` command — and the services behind them."""
