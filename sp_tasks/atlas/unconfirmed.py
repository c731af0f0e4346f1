"""Every Atlas API behaviour we rely on but could not confirm in a primary source, in one place.

Each constant carries the reason it is a guess (reference/atlas-sp-api.md marks these
[UNCONFIRMED]). The client and the emulator import from here, so correcting a guess after
checking against real Atlas is a one-line change. ``CONFIRMED`` at the end lists what real
responses (reference/recorded-atlas/, Terraform CI logs quoting real answers) settled, and where
the code now follows them.
"""

# 404 errorCode for a missing processor: not observed in real logs; MCP/Terraform only check 404.
PROCESSOR_NOT_FOUND_CODE = "STREAM_PROCESSOR_NOT_FOUND"

# 409 errorCode for a duplicate workspace or processor name: the spec declares 409 only. (A duplicate
# connection is recorded: 409 STREAM_CONNECTION_NAME_ALREADY_EXISTS, see CONFIRMED.)
DUPLICATE_NAME_CODE = "DUPLICATE_STREAM_RESOURCE_NAME"

# Modifying a STARTED processor: docs say "stop first"; the server's exact answer is unknown.
# We answer 400 STREAM_PROCESSOR_GENERIC_ERROR with this message (and the client never tries).
MODIFY_WHILE_STARTED_MESSAGE = "stream processor must be stopped before it can be modified (INVALID_STATE)"

# Default workspace tier when the create body has no streamConfig (the recorded workspace, created
# by the Atlas CLI, is SP30; the CLI may have sent it; MCP sends SP10). No maxTierSize is returned
# unless one was asked for (recorded); a processor tier is then bounded by SP50 only.
DEFAULT_WORKSPACE_TIER = "SP30"

# Parallelism error wording (third-party note, not seen in our own traffic).
PARALLELISM_MESSAGE = (
    "Operator parallelism requested exceeds limit for this tier. (Requested: {requested}, "
    "Limit: {limit}). Minimum tier for this workload: {minimum} or larger."
)

# Workspace hostname: recorded as atlas-stream-<full _id>-<6 lowercase letters>.<region>.a.query.
# mongodb-dev.net on Atlas's development environment; production's domain is assumed mongodb.net.
HOSTNAME_TEMPLATE = "atlas-stream-{id}-{suffix}.{region}.a.query.mongodb.net"

# Request-body problems outside ASP's own checks. Atlas's general API answers unknown attributes
# with INVALID_ATTRIBUTE ("Invalid attribute {name} specified.") and bad JSON with a 400; the
# exact codes for the streams resources were not observed. (A value outside an enum answers
# INVALID_ENUM_VALUE: see CONFIRMED; its detail wording here is Atlas's generic one, unrecorded.)
INVALID_ATTRIBUTE_CODE = "INVALID_ATTRIBUTE"
MALFORMED_JSON_CODE = "MALFORMED_JSON"
INVALID_VALUE_CODE = "INVALID_JSON_ATTRIBUTE"
MAX_BODY_BYTES = 16 * 1024 * 1024  # a processor definition may be up to 16 MB (§8.1)

# Starting a processor that is already STARTED: MCP maps an error message containing INVALID_STATE.
ALREADY_STARTED_MESSAGE = "stream processor is already started (INVALID_STATE)"
# Stopping a processor that is not running errors in mongosh; the API answer is unknown.
NOT_RUNNING_MESSAGE = "stream processor is not running (INVALID_STATE)"

# The asynchronous lifecycle (emulator/lifecycle.py). Terraform's provider polls past INIT/CREATING
# after create, CREATED/STOPPED after start and STARTED after stop, and waits for PENDING -> READY
# and DELETING -> 404 on connections; what the API answers to a request made meanwhile is unknown.
# The emulator refuses start/modify until a processor has settled, lets a repeated start or stop
# through as a no-op, lets a stop cancel a pending start (the processor ends STOPPED), and refuses
# to start a processor whose connections are not READY.
UNSETTLED_MESSAGE = "stream processor cannot be {verb} while it is {state} (INVALID_STATE)"
START_WHILE_STOPPING_MESSAGE = "stream processor is stopping; start it once it is STOPPED (INVALID_STATE)"


def refused_for_its_state(err: Exception) -> bool:
    """An API error that refuses a processor write because of its state. Atlas's error code for this
    is unknown; the official MCP server recognises it by INVALID_STATE in the message, and so do we."""
    return "INVALID_STATE" in (getattr(err, "detail", "") or "") or getattr(err, "error_code", None) == "INVALID_STATE"
CONNECTION_NOT_READY_MESSAGE = "connection named {connection} is not ready (state {state})"
# Which connections deploy asynchronously: a public Kafka connection answered READY at once in the
# recordings; Terraform's comments name "Kafka VPC" as deleted asynchronously. The emulator gives
# PENDING/DELETING to connections with non-PUBLIC networking only (lifecycle.DEFAULT_DELAYS).
ASYNC_CONNECTIONS = "non-PUBLIC networking"
# While a start or stop is under way, state still shows the old value (what Terraform polls past)
# and stats.status already the engine's lowercase state (reference §5.3/§6: starting, stopping),
# a first start with only that field in stats. Neither is observed in a recording; it is the one
# sign a reader has that a processor which looks settled is not, so plan, deploy and drift wait for
# it (deploy/waiting.py under_way). False: the emulator shows nothing until the state changes.
TRANSITION_IN_STATS_STATUS = True
# Typical durations of those transitions are not documented (start/stop: seconds to minutes); the
# emulator's defaults are short on purpose (lifecycle.DEFAULT_DELAYS).

# The rate-limit budget of the streams endpoint set: the capacity is recorded (Ratelimit-Limit:
# 1200), and Ratelimit-Remaining fell by exactly one per call over 51 s, fresh for each project; how
# and when it is renewed is not. The emulator renews the whole budget after a fixed window. Refused
# calls are shaped like the documented token-bucket 429 (RATE_LIMITED_TOKEN_BUCKET, Retry-After).
RATE_LIMIT_CAPACITY = 1200
RATE_LIMIT_WINDOW_S = 60.0

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
    "Atlas fills region for connection types other than Kafka and Cluster too (planning/normalize.py ignores it "
    "everywhere)",
    "a connection PATCH without its secret fields keeps the stored secrets (rollback of connections)",
    "PATCH of a processor accepts tier (deploy/strategies.py _modify_body)",
    "startWith without a tier starts on the processor's or workspace's tier",
    "the processor list shows each processor's state as its own GET does at the same moment (deploy/states.py "
    "answers parallel waits from one list read; Terraform polls the single GET)",
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
    "connections other than Kafka and Cluster also get the workspace's region filled in (emulator/workspaces.py)",
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

# Processor-level stats.latency: absent from the 2024 API fixture, described by today's docs. The
# product treats it as optional ("-", never 0); the emulator reports it unless configured not to
# ({"stats_latency": false}). Operator stats carry executionTimeSecs and timeSpentMillis (fixture),
# not the docs' executionTimeMillis.
STATS_LATENCY_REPORTED = True

# Feature environments (sp_tasks/feature/isolation.py gives them sinks of their own, sinkdata.py
# removes what they wrote). A processor's __testLog output is its log: we take it to go with the
# processor, so env.destroy reports nothing left for it on Atlas, and the emulator drops it on delete.
TEST_LOG_GOES_WITH_PROCESSOR = True
FEATURE_ASSUMPTIONS = (
    "$emit to a Kafka topic that does not exist yet (topic_feature_<name>) works only where the brokers create "
    "topics on first write (auto.create.topics.enable) or it was created first; whether ASP reports a missing "
    "topic as a processor failure or a DLQ entry is not documented",
    "$merge and a DLQ create their database and collection on first write, as MongoDB does, and the Admin API "
    "has no call that drops a database in a cluster: env.destroy lists them as left, with the mongosh command",
)

# Settled by real responses (recorded-atlas/README.md, Terraform CI logs): no longer guesses.
CONFIRMED = (
    "Accept negotiation by date: the newest version at or before the asked date, named in Content-Type; "
    "406 INVALID_VERSION_DATE 'Invalid accept header or version date.' otherwise (emulator/protocol.py)",
    "workspace bodies: failoverRegions [] always, no maxTierSize unless asked, hostnames with the full _id",
    "Kafka connections come back with region (the workspace's) and networking.access.type PUBLIC filled in; "
    "Cluster connections with region",
    "a connection PATCH answers without state; no object carries links (only list envelopes do); a nested "
    "read-only links in a request is dropped, not refused",
    "Kafka mechanisms are SCRAM-256/SCRAM-512 (not SCRAM-SHA-*); password never returned; id not _id",
    "deletes of workspaces and connections answer 202 with body {}",
    "Ratelimit-Limit 1200 and a Ratelimit-Remaining falling by one per call on every response, per project",
    "403 STREAM_TENANT_HAS_STREAM_PROCESSORS 'Stream workspace with name X has active processors, and "
    "cannot be changed.' for deleting a workspace with processors (was: 409, status unknown)",
    "409 STREAM_CONNECTION_NAME_ALREADY_EXISTS 'A Stream connection with the name X already exists.'",
    "409 STREAM_KAFKA_CONNECTION_IS_DEPLOYING 'Stream Kafka connection X is currently deploying. Please "
    "retry the request later.' (retryable)",
    "400 STREAM_NETWORKING_ACCESS_TYPE_CANNOT_BE_MODIFIED for a connection PATCH changing networking",
    "400 INVALID_ENUM_VALUE for a value outside an enum (was: INVALID_JSON_ATTRIBUTE)",
    "a public Kafka connection is READY in its create answer; Kafka VPC connections deploy and delete "
    "asynchronously (PENDING, DELETING)",
    "processors pass INIT/CREATING before CREATED; start/stop answer before STARTED/STOPPED",
    "operator stats carry executionTimeSecs and timeSpentMillis; stats.latency may be absent",
)

# The deploy lock (deploy/lock.py) is a processor that is never started. Reference §8.1 says a
# persisted processor needs a $source first and a sink last and that the pipeline is validated at
# create; we use a document-array $source (§8.3) and the built-in __testLog sink (used by the
# Terraform acceptance tests against real Atlas), so no connection is needed. Unconfirmed: that a
# $source.documents pipeline is accepted for a persisted (not interactive) processor, that a
# processor left CREATED is not billed (§5.3 says billing is active while STARTED), that its
# pipeline can be PATCHed while CREATED (the lease heartbeat; the lock waits past INIT/CREATING first,
# as what Atlas answers to a PATCH meanwhile is unknown) and that create answers 409 for an
# existing name atomically (the spec declares 409; two simultaneous creates were not observed).
LOCK_PROCESSOR = {
    "pipeline": "$source.documents + $emit __testLog",
    "never_started_is_free": True,
    "patch_while_created": True,
    "create_is_atomic_409": True,
}
