"""The case lifecycle (接 转 见 办 结 访) as a pure state machine.

``handle(state, command, actor, at)`` either refuses the command (``IllegalTransition``, naming
the current status and what is allowed) or returns the new state, the history step and the
facts to publish. No I/O, no clock: everything it needs comes in the command.

The vocabulary (statuses, state, commands, outcomes) is in ``states``, what each command does
in ``transitions``; both are used through this module.
"""

from __future__ import annotations

from services.dispatch.fairness import handle
from services.dispatch.states import (
    ACTION_OF,
    ACTIONS,
    BEFORE_DISPATCH,
    OPEN,
    Accept,
    Acknowledge,
    Actor,
    Answer,
    AppealRating,
    AwaitDispatch,
    CaseState,
    CaseStatus,
    Command,
    Conclude,
    ConcludeAtDesk,
    DecideAppeal,
    DecideExtension,
    Dispatch,
    Escalate,
    Feedback,
    Helper,
    IllegalTransition,
    LifecycleError,
    Merge,
    NotYourCase,
    Outcome,
    PendingExtension,
    Regrade,
    RequestExtension,
    RequestReview,
    ResolveOnSite,
    Return,
    ReviewReturn,
    Revisit,
    Step,
    Verify,
    allowed_actions,
)

__all__ = [
    "ACTIONS",
    "ACTION_OF",
    "BEFORE_DISPATCH",
    "OPEN",
    "Accept",
    "Acknowledge",
    "Actor",
    "Answer",
    "AppealRating",
    "AwaitDispatch",
    "CaseState",
    "CaseStatus",
    "Command",
    "Conclude",
    "ConcludeAtDesk",
    "DecideAppeal",
    "DecideExtension",
    "Dispatch",
    "Escalate",
    "Feedback",
    "Helper",
    "IllegalTransition",
    "LifecycleError",
    "Merge",
    "NotYourCase",
    "Outcome",
    "PendingExtension",
    "Regrade",
    "RequestExtension",
    "RequestReview",
    "ResolveOnSite",
    "Return",
    "ReviewReturn",
    "Revisit",
    "Step",
    "Verify",
    "allowed_actions",
    "handle",
]
