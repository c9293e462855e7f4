"""Decisions and publication (``decisions``): on an official ranking run, staff overrides of
awards, the award slate's four-eyes approval, publication, and the decision mails."""
