"""Dataset overview: what the two KGs hold and which modalities are missing."""
import pandas as pd
import streamlit as st

from annotate.datasets import demo_dataset, overview


@st.cache_data(show_spinner="Loading dataset…")
def load_overview(folder: str, layout: str):
    return overview(folder, layout)


st.title("Dataset")
folder = demo_dataset()
st.caption(f"Embedded synthetic demo: `{folder}`")
view = load_overview(str(folder), "images")
kg1, kg2 = view.summary["kg1"], view.summary["kg2"]
st.metric("Gold links", f"{view.summary['gold_links']:,}")
counts = pd.DataFrame(
    {"KG1": [kg1[k] for k in ("entities", "relations", "relation_triples", "attribute_triples")],
     "KG2": [kg2[k] for k in ("entities", "relations", "relation_triples", "attribute_triples")]},
    index=["entities", "relations", "relation triples", "attribute triples"],
)
shares = pd.DataFrame(
    {"KG1": [kg1["modality_share"][m] for m in view.modalities],
     "KG2": [kg2["modality_share"][m] for m in view.modalities]},
    index=list(view.modalities),
)
left, right = st.columns(2)
left.subheader("Counts")
left.dataframe(counts)
right.subheader("Share of entities having each modality")
right.dataframe(shares.style.format("{:.1%}"))

st.subheader("Gold pairs")
for source, target in view.examples:
    cols = st.columns(2)
    for col, card in zip(cols, (source, target)):
        with col.container(border=True):
            st.text(card.name or card.uri)
            if card.image is not None:
                st.image(str(card.image), width=96)
            else:
                st.caption("no image")
            st.dataframe(pd.DataFrame(card.attributes, columns=["attribute", "value"]), hide_index=True)
