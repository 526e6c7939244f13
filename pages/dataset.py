# Dataset overview: what the selected project's two KGs hold and which modalities are missing.
import pandas as pd
import streamlit as st

from annotate.datasets import demo_dataset, overview
from annotate.service import AnnotationProject, list_projects
from pages.project_picker import chosen_project
from pages.routing import ensure_router

ensure_router()


@st.cache_data(show_spinner="Loading dataset…")
def load_overview(folder: str, layout: str, images: str | None):
    return overview(folder, layout, images=images)


def dataset_of(name: str) -> dict:
    project = AnnotationProject.open(name)
    try:
        return project.dataset
    finally:
        project.close()


st.title("Dataset")
projects = list_projects()
if projects:
    name = chosen_project(projects)
    dataset = dataset_of(name)
    st.caption(f"Project **{name}**: `{dataset['folder']}` ({dataset['layout']} layout)")
else:
    dataset = {"folder": str(demo_dataset()), "layout": "images"}
    st.caption(f"No project yet: the embedded synthetic demo, `{dataset['folder']}`")
view = load_overview(str(dataset["folder"]), dataset["layout"], dataset.get("images"))
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
if not view.examples:
    st.caption("This dataset has no gold links (no ent_links / ill_ent_ids file): nothing to show here.")
for source, target in view.examples:
    cols = st.columns(2)
    for col, card in zip(cols, (source, target)):
        with col.container(border=True):
            st.text(card.name or card.uri)
            if card.image is not None:
                st.image(str(card.image), width=96)
            else:
                st.caption("no image")
            st.dataframe(card.attributes, hide_index=True)
