"""The staff area: one blueprint (``scoring.staff.views.bp``); each module below adds its pages."""

from scoring.staff import views  # noqa: F401  (defines the blueprint first)
from scoring.staff import audit_trail, board, competitions, decide, exports, whatif  # noqa: F401
