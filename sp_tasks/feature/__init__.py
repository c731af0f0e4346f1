"""Feature environments: a short-lived copy of a committed environment for one branch.

``naming`` turns a branch name into the environment and workspace names (pure); ``derive`` writes
the environment under ``.sp/environments/<name>/`` and deploys it; ``teardown`` removes everything
it created. The user guide is docs/feature-environments.md.
"""
