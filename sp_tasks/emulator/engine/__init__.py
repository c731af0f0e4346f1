"""The emulator's execution engine: what runs a STARTED processor's pipeline on micro-batches.

Modules: ``sources`` ($source variants), ``adapter`` (the only door to mongomock-ng), ``stages``
(library stages, $validate, $lookup, $https), ``windows`` + ``accumulators`` (window stages),
``sinks`` ($merge, $emit, DLQ), ``stats``, ``extjson``, ``plan`` (pipeline → operators) and
``processor`` (the ``Engine`` of one processor). ``sp_tasks.emulator.runtime`` drives them.
"""
