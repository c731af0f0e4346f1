"""Planning: pure comparison of desired state (Git) with live state (Atlas) into a Plan.

``normalize`` cleans both sides the same way, ``diff`` finds field changes, ``planner``
classifies them, ``plan`` holds the types and the JSON format, ``render`` shows them, and
``snapshot_desired`` turns a snapshot back into desired state for rollback. No I/O anywhere.
"""
