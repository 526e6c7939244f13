"""Persistence of annotation projects: one SQLite file per project, or one PostgreSQL schema
per project when ``ALMEA_DATABASE_URL`` names a server (``storage.backends``); no Streamlit,
no torch.

``ProjectStore`` is the entry point; the records it returns are plain frozen dataclasses.
"""
from storage.backends import DATABASE_URL, is_project
from storage.backends.sqlite import DB_NAME
from storage.decisions import combine_answers
from storage.errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    ProjectFileError,
    RoundClosedError,
    StorageError,
    StoreBusyError,
)
from storage.project_store import ProjectStore
from storage.queue import DEFAULT_LEASE_SECONDS
from storage.records import (
    ANSWERS,
    VERDICTS,
    AnsweredProposal,
    Checkpoint,
    Decision,
    Job,
    LabelledPair,
    Project,
    Proposal,
    Round,
    RoundCounts,
    Verdict,
)

__all__ = [
    "ANSWERS",
    "DATABASE_URL",
    "DB_NAME",
    "DEFAULT_LEASE_SECONDS",
    "VERDICTS",
    "AnsweredProposal",
    "Checkpoint",
    "ConflictError",
    "Decision",
    "InvalidRequestError",
    "Job",
    "LabelledPair",
    "NotFoundError",
    "Project",
    "ProjectFileError",
    "ProjectStore",
    "Proposal",
    "Round",
    "RoundClosedError",
    "RoundCounts",
    "StorageError",
    "StoreBusyError",
    "Verdict",
    "combine_answers",
    "is_project",
]
