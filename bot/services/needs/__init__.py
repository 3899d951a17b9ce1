"""The needs loop (信息收集、共享、调处、反馈): residents file needs, workers triage and assign,
assignees resolve, residents confirm. Every change is checked against the principal's scope,
recorded as a need event and in the audit log, and pushed to the people it concerns.

One module per step: filing, triage, handling (the assignee's), offers, feedback, deadlines
and views; what they share is in common. Callers use the package (`needs.file_need(...)`)."""

from bot.services.needs.common import (
    MAX_DESCRIPTION,
    MAX_TEXT,
    PER_PAGE,
    EventView,
    NeedBrief,
    NeedContact,
    NeedDetail,
)
from bot.services.needs.deadlines import DeadlineRun, run_deadlines
from bot.services.needs.feedback import give_feedback
from bot.services.needs.filing import Filed, file_need, similar_open_needs, support_need
from bot.services.needs.handling import hand_back, resolve, take
from bot.services.needs.offers import take_offer
from bot.services.needs.triage import (
    Candidate,
    accept,
    add_note,
    assign,
    assignee_candidates,
    classify,
    note_consultation_outcome,
    refer,
    reject,
    set_due,
)
from bot.services.needs.views import (
    NeedsListRow,
    QueueFilter,
    area_needs,
    assigned_to_me,
    id_of_reference,
    my_needs,
    need_detail,
    needs_list,
    queue,
)

__all__ = [
    "MAX_DESCRIPTION",
    "MAX_TEXT",
    "PER_PAGE",
    "Candidate",
    "DeadlineRun",
    "EventView",
    "Filed",
    "NeedBrief",
    "NeedContact",
    "NeedDetail",
    "NeedsListRow",
    "QueueFilter",
    "accept",
    "add_note",
    "area_needs",
    "assign",
    "assigned_to_me",
    "assignee_candidates",
    "classify",
    "file_need",
    "give_feedback",
    "hand_back",
    "id_of_reference",
    "my_needs",
    "need_detail",
    "needs_list",
    "note_consultation_outcome",
    "queue",
    "refer",
    "reject",
    "resolve",
    "run_deadlines",
    "set_due",
    "similar_open_needs",
    "support_need",
    "take",
    "take_offer",
]
