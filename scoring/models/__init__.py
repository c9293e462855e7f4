"""Every model, re-exported so Alembic autogenerate and callers see them all."""

from scoring.models.application import (
    OBJECT_CODES,
    Application,
    ApplicationNarrative,
    ApplicationPriority,
    ApplicationStatus,
    Attachment,
    BudgetLine,
)
from scoring.models.audit import AuditEvent, MailStatus, OutboxMessage, WorkerBeat
from scoring.models.competition import (
    Aggregation,
    Competition,
    Criterion,
    FundDown,
    Normalization,
    Priority,
    Program,
    RubricSection,
)
from scoring.models.export import ExportJob, ExportStatus
from scoring.models.geo import District, School
from scoring.models.ranking import (
    AwardOverride,
    AwardSlate,
    RankingResult,
    RankingRun,
    RunStatus,
    SlateStatus,
)
from scoring.models.review import (
    AssignmentStatus,
    CriterionScore,
    ReconciliationNote,
    Review,
    ReviewerAssignment,
    ReviewStatus,
)
from scoring.models.review_points import ReviewPoints
from scoring.models.stability import StabilityResult, StabilityRun
from scoring.models.user import (
    DistrictRole,
    LoginThrottle,
    RecoveryCode,
    ReviewerConflict,
    Role,
    TokenPurpose,
    User,
    UserSession,
    UserToken,
)

__all__ = [
    "OBJECT_CODES",
    "Aggregation",
    "Application",
    "ApplicationNarrative",
    "ApplicationPriority",
    "ApplicationStatus",
    "AssignmentStatus",
    "Attachment",
    "AuditEvent",
    "AwardOverride",
    "AwardSlate",
    "BudgetLine",
    "Competition",
    "Criterion",
    "CriterionScore",
    "District",
    "ExportJob",
    "ExportStatus",
    "FundDown",
    "LoginThrottle",
    "MailStatus",
    "Normalization",
    "OutboxMessage",
    "WorkerBeat",
    "Priority",
    "Program",
    "RankingResult",
    "RankingRun",
    "ReconciliationNote",
    "RecoveryCode",
    "Review",
    "ReviewPoints",
    "ReviewStatus",
    "ReviewerAssignment",
    "ReviewerConflict",
    "Role",
    "DistrictRole",
    "RubricSection",
    "RunStatus",
    "School",
    "SlateStatus",
    "StabilityResult",
    "StabilityRun",
    "TokenPurpose",
    "User",
    "UserSession",
    "UserToken",
]
