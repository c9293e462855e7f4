"""Reviews and assignment: who reviews what, and the scores they give. ``assignment`` plans and
saves reviewer assignments (the pure algorithm is :mod:`scoring.assignment`); ``reviews`` is the
reviewer's side (conflict declaration, scoring, submitting); ``reviewers`` the staff roster
(invite, deactivate, district conflicts); ``progress`` the staff view of how reviewing stands;
``reconciliation`` flags disagreeing scores and records staff notes; ``reviewer_stats`` leniency
and reliability over the counted reviews."""
