"""Data layer: the KG pair container, loaders for each layout, and the synthetic demo."""
from almea.data.errors import DataFormatError
from almea.data.kg_pair import MODALITIES, KGPair
from almea.data.registry import LAYOUTS, load_dataset

__all__ = ["DataFormatError", "KGPair", "LAYOUTS", "MODALITIES", "load_dataset"]
