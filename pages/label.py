"""Label: answer the model's proposed pairs one at a time, mostly from the keyboard.

Every answer is committed by the service before the page reruns, so a reload or a crash
loses nothing. The project object lives in the session (one open store per tab) and the
dataset in annotate's process-wide cache, so the next pair renders without reloading.
Entity text comes from the datasets: it is shown with st.text and in tables, never as
Markdown or HTML.
"""
import time

import pandas as pd
import streamlit as st

from annotate.entity_weights import proposal_weights
from annotate.insights import stopping_text
from annotate.pair_view import AttributeRow, EntitySide
from annotate.service import (
    STANDBY,
    AnnotationProject,
    PairCard,
    Progress,
    RoundClosedError,
    job_text,
    list_projects,
)
from pages.auth import ACCOUNT, may
from pages.project_picker import chosen_project
from pages.routing import ensure_router

ensure_router()

PROJECT, CARD, OWNER, NOTICE = "label_project", "label_card", "label_owner", "label_notice"
OPEN_PROPOSAL = "open_proposal"  # set by the Insights page's selection map: the proposal to show next
PROPOSAL = "proposal"  # the same in the URL, until it is answered, so a reload still shows it
DEFAULT_ANNOTATOR = "annotator-1"
HIGHLIGHT = "background-color: rgba(33, 195, 84, 0.18)"
# A plain Vega-Lite spec: Altair's schema validation would cost more than the rest of the page.
MODALITY_CHART = {
    "mark": {"type": "bar"},
    "encoding": {
        "y": {"field": "modality", "type": "nominal", "sort": None, "title": None},
        "x": {"field": "contribution", "type": "quantitative", "title": "share of the cosine similarity"},
    },
}
ANSWER_KEYS = (("Accept", "accept", "A", "primary"), ("Reject", "reject", "X", "secondary"),
               ("Unsure", "unsure", "U", "secondary"), ("Skip", "skip", "S", "tertiary"))


def open_project(name: str) -> AnnotationProject:
    """The session's open project; reopened only when the sidebar picks another one."""
    project = st.session_state.get(PROJECT)
    if project is None or project.folder.name != name:
        if project is not None:
            project.close()
        project = AnnotationProject.open(name)
        st.session_state[PROJECT] = project
        st.session_state[CARD] = None
    return project


def current_card(project: AnnotationProject, annotator: str, progress: Progress) -> PairCard | None:
    """The pair on screen: kept across reruns until answered, so a rerun never re-leases."""
    card = st.session_state.get(CARD) if st.session_state.get(OWNER) == annotator else None
    opened = st.session_state.pop(OPEN_PROPOSAL, None) or st.query_params.get(PROPOSAL)   # the selection map's
    if opened is not None and (card is None or card.proposal.id != int(opened)):
        card = project.proposal_card(int(opened))
        st.session_state[CARD], st.session_state[OWNER] = card, annotator
        return card
    round_id = None if progress.round is None else progress.round.id
    if card is None or card.proposal.round_id != round_id:
        card = None if round_id is None else project.next_pair(annotator)
        st.session_state[CARD], st.session_state[OWNER] = card, annotator
    return card


def answer(project: AnnotationProject, annotator: str, proposal_id: int, choice: str) -> None:
    try:
        project.decide(annotator, proposal_id, choice)
    except RoundClosedError:
        st.session_state[NOTICE] = (
            "This round closed before your answer arrived (its last pairs were answered or skipped, someone "
            "closed it early, or, for a standby pair, the new model's batch arrived), so this one answer was not "
            "recorded. Nothing else was lost: every "
            "answer you gave before is saved, and the model is retraining on them.", None)
    except ValueError as err:                      # e.g. a different answer to a pair already answered
        st.session_state[NOTICE] = ("That answer was not recorded.", str(err))
    st.session_state[CARD] = None
    if PROPOSAL in st.query_params:
        del st.query_params[PROPOSAL]


def undo(project: AnnotationProject, annotator: str) -> None:
    proposal = project.undo(annotator)
    if proposal is None:
        st.session_state[NOTICE] = ("Nothing to undo in this round.", None)
    else:
        st.session_state[CARD] = project.card(proposal)


def show_skipped(project: AnnotationProject, annotator: str, proposal_id: int) -> None:
    st.session_state[CARD], st.session_state[OWNER] = project.proposal_card(proposal_id), annotator


def signed_in_annotator() -> str:
    """Who answers: the signed-in account in team mode (never a URL parameter or a field);
    locally, the name in the sidebar (``?annotator=`` presets it)."""
    if (account := st.session_state.get(ACCOUNT)) is not None:
        return account.username
    return st.sidebar.text_input("Annotator", value=st.query_params.get("annotator", DEFAULT_ANNOTATOR),
                                 key="annotator").strip()


def close_round(project: AnnotationProject) -> None:
    project.close_round()
    st.session_state[CARD] = None


def show_stopping_signal(project: AnnotationProject, progress: Progress) -> None:
    """How much the last model changed the alignment and how good it is estimated to be:
    when links stop changing and enough clear the threshold, more rounds stop paying."""
    if progress.round is not None and progress.round.strategy == STANDBY:
        st.caption(f"Standby pairs from model v{progress.round.model_version} while the next model trains: "
                   "your answers are saved now and train the model after it.")
    signal = project.stopping_signal()
    if signal is not None:
        st.caption(stopping_text(signal, project.settings.learner.self_training.target_precision))


def show_progress(progress: Progress) -> None:
    counts = progress.counts
    cells = [
        ("Round", "—" if progress.round is None else str(progress.round.id)),
        ("Answered", "—" if counts is None else f"{counts.answered}/{counts.total}"),
        ("Remaining", "—" if counts is None else str(counts.remaining)),
        ("Accepted", "—" if counts is None else str(counts.accepted)),
        ("Rejected", "—" if counts is None else str(counts.rejected)),
        ("Unsure", "—" if counts is None else str(counts.unsure)),
        ("Labels", f"{progress.labels:,}"),
        ("Model", f"v{progress.model_version}"),
    ]
    for column, (label, value) in zip(st.columns(len(cells)), cells):
        column.metric(label, value)


def show_worker(project: AnnotationProject, progress: Progress) -> None:
    """The background training job: progress, or its error with a retry (which starts the
    worker again). A worker that died mid-job shows as a failed job: ``progress`` checks."""
    job = progress.job
    if job is None:
        st.caption("No training job yet.")
    elif job.status == "failed":
        st.error(f"Training job {job.id} failed (attempt {job.attempts}).")
        with st.expander("Error details"):
            st.code(job.error or "no details recorded", language=None)
        st.button("Retry training", on_click=project.retry, args=(job.id,), key="retry")
    elif job.status in ("queued", "running"):
        st.progress(job.progress, text=f"Retraining ({job_text(job, time.time())})")
        if job.status == "queued" and not progress.worker_alive and project.ensure_worker():
            st.caption("Started the worker process.")
    else:
        st.caption(f"Model v{progress.model_version}: {job.message}")


@st.fragment(run_every=2)
def wait_for_round(project: AnnotationProject) -> None:
    """Polls the store while the worker trains; the whole page reruns once a round opens."""
    progress = project.progress()
    if progress.round is not None:
        st.rerun(scope="app")
    st.info("No round is open: the model is retraining, the next batch appears here by itself.")
    show_worker(project, progress)


@st.fragment(run_every=5)
def wait_for_pair(project: AnnotationProject, annotator: str) -> None:
    """Checks again while other annotators hold the pairs left: one whose holder left comes
    back when its lease runs out, and a round left with skipped pairs only closes itself."""
    if project.next_pair(annotator) is not None or project.progress().round is None:
        st.rerun(scope="app")
    st.info("No pair left for you in this round right now: the rest are held by other annotators (a pair "
            "comes back if its holder leaves) or were skipped by you. Close the round to retrain now.")


def show_side(title: str, side: EntitySide) -> None:
    st.markdown(f"**{title}**")
    st.text(side.label)
    if side.uri != side.label:
        st.code(side.uri, language=None, wrap_lines=True)
    if side.image is not None:
        st.image(str(side.image), width=180)
    else:
        st.info("No image for this entity.", icon=":material/hide_image:")
    if not side.neighbours:
        st.caption("No neighbours.")
        return
    frame = pd.DataFrame(
        [("→" if n.outgoing else "←", n.relation, n.label, n.aligned_with or "", n.aligned_here)
         for n in side.neighbours],
        columns=["dir", "relation", "neighbour", "aligned with", "shared"],
    )
    st.caption(f"Neighbours: {len(side.neighbours)} of {side.n_neighbours}, already aligned ones first")
    st.dataframe(frame, hide_index=True, column_config={
        "aligned with": st.column_config.TextColumn("aligned with", help="its counterpart, a seed or accepted pair"),
        "shared": st.column_config.CheckboxColumn("shared", help="its counterpart neighbours the other entity"),
    })


def show_attributes(rows: list[AttributeRow]) -> None:
    if not rows:
        st.caption("Neither entity has attributes.")
        return
    frame = pd.DataFrame(
        [(r.source_key, r.source_value, r.match, r.target_value, r.target_key) for r in rows],
        columns=["KG1 attribute", "KG1 value", "match", "KG2 value", "KG2 attribute"],
    )
    styled = frame.style.apply(lambda row: [HIGHLIGHT if row["match"] else ""] * len(row), axis=1)
    st.dataframe(styled, hide_index=True, column_config={
        "match": st.column_config.CheckboxColumn("=", help="the two values state the same thing"),
    })


def selection_reason(strategy: str, row_weight: float | None) -> str:
    """The strategy in words; DS3's row weight only for DS3, a zero one explained."""
    if strategy == "audit":
        return "a random audit of the model's confident pairs (it measures the pseudo-labels' precision)"
    if not strategy.startswith("ds3"):
        return f"strategy *{strategy}*"
    if not row_weight:
        return (f"strategy *{strategy}*, filled from the pool in confidence order after DS3's representatives "
                "(row weight 0: it represents no other candidate)")
    return f"strategy *{strategy}*, DS3 row weight {row_weight:.2f} (how much it represents other candidates)"


def show_evidence(project: AnnotationProject, card: PairCard) -> None:
    """Why the model proposed the pair: scores, alternatives and per-modality similarity."""
    proposal, evidence = card.proposal, card.view.evidence
    st.markdown(f"**Why selected:** {selection_reason(evidence.get('strategy', 'unknown'), proposal.row_weight)}, "
                f"diversity penalty {proposal.diversity_penalty or 1:.2f} (1 = far from labelled pairs), "
                f"{card.view.shared_aligned_neighbours} shared aligned neighbours.")
    scores, alternatives, modalities = st.columns([1, 2, 2])
    csls = evidence.get("csls", proposal.confidence)
    scores.metric("CSLS", f"{csls or 0:.3f}", help="Against every KG2 entity, as in the alternatives table")
    scores.caption(f"Pool score {proposal.confidence or 0:.3f}: CSLS among the entities still free, which ranked "
                   "the pool.")
    scores.metric("Rank in pool", "—" if proposal.rank is None else str(proposal.rank))
    with alternatives:
        st.caption("Top alternative targets for the source (CSLS)")
        rows = [(project.entity_label(a["target"]), a["csls"], a["target"] == proposal.target_id)
                for a in evidence.get("alternatives", [])]
        st.dataframe(pd.DataFrame(rows, columns=["KG2 entity", "CSLS", "proposed"]), hide_index=True,
                     column_config={"CSLS": st.column_config.NumberColumn(format="%.3f")})
    with modalities:
        exact = card.view.shares_exact
        st.caption("Contribution of each modality to the similarity" if exact else
                   "Approximate contribution of each modality to the similarity")
        shares = evidence.get("modalities", {})
        imputed = evidence.get("imputed", [])
        completion = card.view.completion
        if shares:
            frame = pd.DataFrame({"modality": [f"{m} *" if m in imputed else m for m in shares],
                                  "contribution": list(shares.values())})
            st.vega_lite_chart(frame, MODALITY_CHART, height=180)
        if shares and not exact:
            st.caption("Approximate: this fusion mixes the modalities before joining them (MPSEA's cross-modal "
                       "attention), so each bar also carries what its modality drew from the others. The bars "
                       "still add up to the cosine.")
        if imputed:
            how = "; ".join(f"{m} {completion[m]}" for m in imputed)
            names = " and ".join([", ".join(imputed[:-1]), imputed[-1]] if len(imputed) > 1 else imputed)
            verb, its = ("is", "its share does") if len(imputed) == 1 else ("are", "their shares do")
            st.caption(f"\\* Imputed: {names} {verb} missing on one side of the pair, so {its} not come from data "
                       f"({how}).")
        show_pair_weights(project, card)


def show_pair_weights(project: AnnotationProject, card: PairCard) -> None:
    """The source's and target's fusion weight per modality in the model that proposed the
    pair; nothing once that model's files are pruned or for models trained before they existed."""
    proposal = card.proposal
    weights = proposal_weights(project.store, proposal, project.data.pair.n_entities)
    if weights is None:
        return
    same = "" if weights.per_entity else " (the same for every entity)"
    st.caption(f"Fusion weight of each modality{same}")
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(weights.pair(proposal.source_id, proposal.target_id), hide_index=True,
                 column_config={"KG1 source": percent, "KG2 target": percent})


def show_pair(project: AnnotationProject, annotator: str, card: PairCard) -> None:
    proposal = card.proposal
    buttons = st.columns(len(ANSWER_KEYS) + 2)
    for column, (label, choice, key, kind) in zip(buttons, ANSWER_KEYS):
        column.button(label, key=choice, shortcut=key, type=kind, width="stretch",
                      on_click=answer, args=(project, annotator, proposal.id, choice))
    buttons[-2].button("Undo", key="undo", shortcut="Z", width="stretch", on_click=undo, args=(project, annotator))
    buttons[-1].button("Undo", key="undo_backspace", shortcut="Backspace", width="stretch",
                       on_click=undo, args=(project, annotator))
    source, target = st.columns(2)
    with source.container(border=True):
        show_side("KG1 · source", card.view.source)
    with target.container(border=True):
        show_side("KG2 · proposed target", card.view.target)
    st.subheader("Attributes")
    show_attributes(card.view.attributes)
    st.subheader("Model evidence")
    show_evidence(project, card)


st.title("Label")
projects = list_projects()
if not projects:
    st.info("No project yet: create one on the Projects page.")
    st.page_link("pages/projects.py", label="Projects", icon=":material/folder_open:")
    st.stop()
name = chosen_project(projects)
annotator = signed_in_annotator()
if not annotator:
    st.warning("Enter your annotator name in the sidebar to start labelling.")
    st.stop()
project = open_project(name)
progress = project.progress()
show_progress(progress)
show_stopping_signal(project, progress)
if notice := st.session_state.pop(NOTICE, None):
    message, detail = notice
    st.warning(message)
    if detail:
        st.code(detail, language=None, wrap_lines=True)
if progress.round is None:
    wait_for_round(project)
    st.stop()
with st.sidebar:
    st.subheader("Worker")
    show_worker(project, progress)
    if may("close_round"):
        st.button("Close round early", on_click=close_round, args=(project,), key="close_round",
                  help="Retrain now on the answers so far and propose a new batch")
    if skipped := project.skipped_pairs(annotator):
        st.button(f"Show skipped ({len(skipped)})", on_click=show_skipped, args=(project, annotator, skipped[0].id),
                  key="show_skipped", help="Answer the first pair you skipped in this round after all")
card = current_card(project, annotator, progress)
if card is not None:
    show_pair(project, annotator, card)
elif project.progress().round is None:
    st.session_state[NOTICE] = (f"Round {progress.round.id} closed: every pair left in it was skipped (or someone "
                                "closed it early). The model retrains now on every answer given; skipped pairs "
                                "may be proposed again.", None)
    st.rerun()
else:
    wait_for_pair(project, annotator)
