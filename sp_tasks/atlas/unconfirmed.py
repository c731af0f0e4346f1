"""Every Atlas API behaviour we rely on but could not confirm in a primary source, in one place.

Each constant carries the reason it is a guess (reference/atlas-sp-api.md marks these
[UNCONFIRMED]). The client and the emulator import from here, so correcting a guess after
checking against real Atlas is a one-line change.
"""

# 404 errorCode for a missing processor: not observed in real logs; MCP/Terraform only check 404.
PROCESSOR_NOT_FOUND_CODE = "STREAM_PROCESSOR_NOT_FOUND"

# 409 errorCode for a duplicate workspace/connection/processor name: the spec declares 409 only.
DUPLICATE_NAME_CODE = "DUPLICATE_STREAM_RESOURCE_NAME"

# Modifying a STARTED processor: docs say "stop first"; the server's exact answer is unknown.
# We answer 400 STREAM_PROCESSOR_GENERIC_ERROR with this message (and the client never tries).
MODIFY_WHILE_STARTED_MESSAGE = "stream processor must be stopped before it can be modified (INVALID_STATE)"

# Deleting a workspace that still has processors: errorCode seen, HTTP status unknown.
TENANT_HAS_PROCESSORS_STATUS = 409

# Default workspace tier when the create body has no streamConfig (CLI sends SP30, MCP SP10).
DEFAULT_WORKSPACE_TIER = "SP30"
DEFAULT_MAX_TIER_SIZE = "SP50"

# Parallelism error wording (third-party note, not seen in our own traffic).
PARALLELISM_MESSAGE = (
    "Operator parallelism requested exceeds limit for this tier. (Requested: {requested}, "
    "Limit: {limit}). Minimum tier for this workload: {minimum} or larger."
)

# Workspace hostname shape.
HOSTNAME_TEMPLATE = "atlas-stream-{id}-{suffix}.{region}.a.query.mongodb.net"

# Request-body problems outside ASP's own checks. Atlas's general API answers unknown attributes
# with INVALID_ATTRIBUTE ("Invalid attribute {name} specified.") and bad JSON with a 400; the
# exact codes for the streams resources were not observed.
INVALID_ATTRIBUTE_CODE = "INVALID_ATTRIBUTE"
MALFORMED_JSON_CODE = "MALFORMED_JSON"
INVALID_VALUE_CODE = "INVALID_JSON_ATTRIBUTE"
MAX_BODY_BYTES = 16 * 1024 * 1024  # a processor definition may be up to 16 MB (§8.1)

# Starting a processor that is already STARTED: MCP maps an error message containing INVALID_STATE.
ALREADY_STARTED_MESSAGE = "stream processor is already started (INVALID_STATE)"
# Stopping a processor that is not running errors in mongosh; the API answer is unknown.
NOT_RUNNING_MESSAGE = "stream processor is not running (INVALID_STATE)"

# A malformed project id in the path (Atlas's general API answers 400 INVALID_GROUP_ID).
INVALID_GROUP_ID_CODE = "INVALID_GROUP_ID"

# A pipeline ending in $https: MCP accepts it as terminal, the $https docs say it must precede
# $emit/$merge (reference §8.1). We follow the docs: False = $https is not a sink.
HTTPS_TERMINAL_SINK = False

# Behaviours the planner and executor rely on (reference §4–§5 leave them open). Each is the
# reading we found most likely; when real Atlas disagrees, the named module is what changes.
PLANNER_ASSUMPTIONS = (
    "renaming a processor (PATCH name) keeps its _id, checkpoint and stats counters (deploy/strategies.py "
    "blue-green; planning/repairs.py renames an original back on rollback instead of recreating it)",
    "a transitional STARTING state counts as running (planning/processors.py RUNNING)",
    "write-only connection fields are exactly those in secrets.py WRITE_ONLY",
    "Atlas fills region and networking PUBLIC when a connection body omits them (planning/normalize.py)",
    "a connection PATCH without its secret fields keeps the stored secrets (rollback of connections)",
    "PATCH of a processor accepts tier (deploy/strategies.py _modify_body)",
    "startWith without a tier starts on the processor's or workspace's tier",
)

# Execution details the emulator had to choose (reference §6, §8 leave them open). The engine
# keeps each as a named constant in the module given; this list is the index.
EMULATOR_ASSUMPTIONS = (
    "sample_stream_solar: 20 devices, group_id 0-9, max_watts 450 (even groups) / 250 (odd), "
    "event_type 1 for about 5% of documents (emulator/engine/sources.py)",
    "a session window ends at its last event + gap (emulator/engine/windows.py)",
    "dlqMessageCount also counts failed documents dropped when no DLQ is configured (engine/stats.py)",
    "$source.documents reports _stream_meta.source.type 'generated' (engine/sources.py)",
    "change events carry wallTime only, no clusterTime; the resume token is the sequence number as "
    "16 hex digits (engine/sources.py)",
    "$merge defaults to whenMatched: merge, whenNotMatched: insert (engine/sinks.py)",
    "DLQ documents carry no instanceName (engine/sinks.py)",
    "operatorStats names (SampleDataSourceOperator, MatchOperator, …) are modelled, not observed (engine/stats.py)",
)

# Tier bandwidth (reference §3.3) is checked against the busier direction (input or output Mbps);
# whether Atlas meters the two directions separately or combined is not documented.
BANDWIDTH_PER_DIRECTION = True
# stats sizes are bytes × scaleFactor (scaleFactor 1 = bytes, the API default); seen only in the
# reference table, never in our own traffic.
STATS_SIZE_UNIT = "bytes"

# stats.status of a STOPPED processor. Reference §5.3/§6 list only the engine statuses created/
# starting, running, error, stopping; a stopped processor's stats are the ones checkpointed while
# it stopped, so the emulator reports the status the engine had then (emulator/processors.py).
STOPPED_STATS_STATUS = "stopping"
# startWith {resumeFromCheckpoint: false} keeps the cumulative counters as a modify with
# resumeFromCheckpoint false does (docs: "only summary stats retained"). Reference §6 says counters
# reset "when restarted without checkpoint"; False makes the emulator follow that reading instead
# (emulator/runtime.py Runtime.start).
START_FRESH_KEEPS_COUNTERS = True

# Https connection headers come back on GET in clear (reference §4.3 [UNCONFIRMED]); if Atlas masks
# them, every plan would show a change: then treat them as write-only in secrets.py.
HTTPS_HEADERS_RETURNED = True
