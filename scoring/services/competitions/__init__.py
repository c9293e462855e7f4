"""Competitions: setting one up. ``competitions`` creates and edits a competition, its ranking
policy and priorities; ``rubric_builder`` edits its rubric (sections and criteria);
``templates`` holds the illustrative rubric templates a new competition may start from (the demo
seed reads them from here)."""
