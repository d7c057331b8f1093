-- JobQueue's schema: the module's own migrations, applied by `JobQueue.migrate(on:)` and
-- recorded in `jobqueue_migrations`. A step that has been applied somewhere is never edited: add
-- a new step at the end. A step starts with a line `-- migrate:step N short description`.
--
-- Step 1 is the queue as its first application built it in that application's own migrations,
-- before the queue had a history of its own; it creates what is missing and leaves what exists
-- alone, so such a database adopts this history unchanged, and a new one gets the same tables,
-- indexes and triggers (JobQueueTests' QueueSchemaTests compares the two).

-- migrate:step 1 the queue: jobs, queues, leaders, periodic jobs, workers, the rescue's clock
DO $jobqueue$ BEGIN
    IF to_regtype('job_state') IS NULL THEN
        CREATE TYPE job_state AS ENUM (
            'available',  -- runnable now
            'scheduled',  -- waits for run_at
            'running',    -- claimed by a worker that holds a lease
            'retryable',  -- failed, waits for run_at to try again
            'completed',
            'discarded',  -- failed for good (out of attempts or told not to retry)
            'cancelled'
        );
    END IF;
END $jobqueue$;

CREATE TABLE IF NOT EXISTS jobs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue            text        NOT NULL DEFAULT 'default' CHECK (queue <> '' AND length(queue) <= 128),
    kind             text        NOT NULL CHECK (kind <> '' AND length(kind) <= 128),
    args             jsonb       NOT NULL DEFAULT '{}',
    -- Lower runs first, as in Oban and River; 0 is the default.
    priority         smallint    NOT NULL DEFAULT 0 CHECK (priority BETWEEN -100 AND 100),
    state            job_state   NOT NULL DEFAULT 'available',
    attempt          integer     NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts     integer     NOT NULL DEFAULT 20 CHECK (max_attempts >= 1),
    run_at           timestamptz NOT NULL DEFAULT now(),
    attempted_at     timestamptz,
    attempted_by     text,
    lease_expires_at timestamptz,
    -- One object per failed attempt: {"attempt": n, "at": timestamp, "error": text}.
    errors           jsonb       NOT NULL DEFAULT '[]',
    unique_key       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finalized_at     timestamptz,
    CHECK ((state = 'running') = (lease_expires_at IS NOT NULL))
);
-- What a job belongs to, an object opaque to the queue; and free-form labels to find jobs by.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS meta jsonb NOT NULL DEFAULT '{}';
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS tags text[] NOT NULL DEFAULT '{}';
-- A unique job counts while it is in one of its `unique_states`.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS unique_states job_state[];

-- The hot path: claims read runnable rows in exactly this order, and the index holds nothing else,
-- so it stays small however long the history grows.
CREATE INDEX IF NOT EXISTS jobs_claim ON jobs (queue, priority, run_at, id) WHERE state = 'available';
-- Promotion of scheduled and retryable jobs whose time has come scans this small index only.
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (run_at) WHERE state IN ('scheduled', 'retryable');
-- Rescue finds expired leases among the running jobs, never touching the rest.
CREATE INDEX IF NOT EXISTS jobs_lease ON jobs (lease_expires_at) WHERE state = 'running';
-- Every insert names this index's predicate in its ON CONFLICT clause.
CREATE UNIQUE INDEX IF NOT EXISTS jobs_unique ON jobs (unique_key) WHERE unique_key IS NOT NULL AND state = ANY(unique_states);
-- Pruning deletes the oldest finished jobs in bounded batches.
CREATE INDEX IF NOT EXISTS jobs_finalized ON jobs (finalized_at) WHERE state IN ('completed', 'cancelled', 'discarded');
-- Listing and staff tools filter by kind and state.
CREATE INDEX IF NOT EXISTS jobs_kind_state ON jobs (kind, state);
-- Tagged jobs only: the many untagged ones cost an insert nothing; filters repeat the predicate.
CREATE INDEX IF NOT EXISTS jobs_tags ON jobs USING gin (tags) WHERE tags <> '{}';

-- A queue's pause, and its limits across every worker: at most `concurrency_limit` running, at
-- most `rate_limit` starts per `rate_period_seconds` (a fixed window). NULL: no limit.
CREATE TABLE IF NOT EXISTS job_queues (
    name       text        PRIMARY KEY,
    paused     boolean     NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE job_queues
    ADD COLUMN IF NOT EXISTS concurrency_limit   integer     CHECK (concurrency_limit > 0),
    ADD COLUMN IF NOT EXISTS rate_limit          integer     CHECK (rate_limit > 0),
    ADD COLUMN IF NOT EXISTS rate_period_seconds float8      CHECK (rate_period_seconds > 0),
    ADD COLUMN IF NOT EXISTS window_started_at   timestamptz,
    ADD COLUMN IF NOT EXISTS window_starts       integer     NOT NULL DEFAULT 0;
DO $jobqueue$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'job_queues_rate_has_period') THEN
        ALTER TABLE job_queues
            ADD CONSTRAINT job_queues_rate_has_period CHECK ((rate_limit IS NULL) = (rate_period_seconds IS NULL));
    END IF;
END $jobqueue$;

-- Wakes idle workers the moment a runnable job is committed, whoever inserted it. One
-- notification per queue per statement; PostgreSQL folds equal payloads per transaction too.
CREATE OR REPLACE FUNCTION jobs_notify_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('jobqueue_jobs', q.queue)
    FROM (SELECT DISTINCT queue FROM inserted WHERE state = 'available') AS q;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS jobs_notify_inserted ON jobs;
CREATE TRIGGER jobs_notify_inserted AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION jobs_notify_inserted();

-- One row per election: whoever holds an unexpired row leads. A row with a TTL rather than an
-- advisory lock: a leader whose network was cut holds a lock until the server notices the dead
-- connection (minutes or hours), while a row simply expires.
CREATE TABLE IF NOT EXISTS queue_leaders (
    name       text        PRIMARY KEY,
    leader_id  text        NOT NULL,
    elected_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

-- The last period each periodic job was enqueued for; only forward moves succeed, in the
-- enqueueing transaction, so no period is enqueued twice.
CREATE TABLE IF NOT EXISTS periodic_jobs (
    name              text        PRIMARY KEY,
    schedule          text        NOT NULL,
    last_scheduled_at timestamptz,
    last_job_id       bigint,
    next_run_at       timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Every worker process records itself at start and every third of its lease; the leader's rescue
-- takes the running jobs of a worker whose heartbeat is older than its lease.
CREATE TABLE IF NOT EXISTS queue_workers (
    id            text        PRIMARY KEY,
    host          text        NOT NULL,
    pid           integer     NOT NULL,
    queues        text[]      NOT NULL,
    concurrency   integer     NOT NULL,
    lease_seconds float8      NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    running       integer     NOT NULL DEFAULT 0
);

-- When the leader's rescue last ran: a rescue that finds it too old (the database frozen or away,
-- the leader stalled or replaced) renews every lease instead of rescuing.
CREATE TABLE IF NOT EXISTS queue_rescue_clock (
    singleton boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    ticked_at timestamptz NOT NULL
);

-- migrate:step 2 dependencies: the waiting state
-- A job that waits for the jobs it depends on to complete. A value of its own (PostgreSQL lets a
-- new enum value be used only after the step that adds it commits).
ALTER TYPE job_state ADD VALUE IF NOT EXISTS 'waiting';

-- migrate:step 3 dependencies: what a job waits for
-- The ids of the jobs a job waits for. Every worker's maintenance releases a waiting job once all
-- of them completed (one of them pruned counts as completed: only finished jobs are pruned), and
-- cancels it when one was discarded or cancelled. The index holds the waiting jobs only.
ALTER TABLE jobs ADD COLUMN depends_on bigint[] NOT NULL DEFAULT '{}';
CREATE INDEX jobs_waiting ON jobs (id) WHERE state = 'waiting';

-- migrate:step 4 outcomes per minute, and the failed jobs by queue
-- What the workers finished, counted as they write each batch of outcomes: charts over the last
-- hour and day, and the day's completed count, read these few rows rather than the jobs table. One
-- row per worker, so that workers on many hosts never wait for each other's counter; the rescue
-- counts as a worker named 'rescue'. The pruner deletes rows older than two days.
CREATE TABLE job_outcome_counts (
    minute    timestamptz NOT NULL,
    queue     text        NOT NULL,
    worker    text        NOT NULL,
    completed integer     NOT NULL DEFAULT 0,
    -- Attempts that failed and will be tried again.
    failed    integer     NOT NULL DEFAULT 0,
    -- Jobs that failed for good.
    discarded integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (minute, queue, worker)
);
-- The queues' counts of discarded and cancelled jobs, without reading the many completed ones:
-- only failures pay for this index.
CREATE INDEX jobs_failed ON jobs (queue, state) WHERE state IN ('discarded', 'cancelled');

-- migrate:step 5 vacuum the jobs table as fast as it turns over
-- Every job is inserted, updated at least twice (claimed, finished) and deleted by the pruner:
-- millions of dead rows a day on a busy server. PostgreSQL's defaults vacuum a table once a fifth
-- of it is dead, which on a large jobs table lets dead rows (and the claim index's dead entries,
-- which every claim walks past) pile up between runs; a hundredth keeps the claim's scan short.
-- `bench soak` (BENCHMARKS.md) measured the table's size steady with these over 5,000,000 jobs.
-- No update of a job can be HOT (each changes an indexed column or predicate); the free tenth of
-- each page lets the new version of a row land on the same page as the old one.
ALTER TABLE jobs SET (
    fillfactor = 90,
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.01,
    autovacuum_analyze_scale_factor = 0.02
);

-- migrate:step 6 the claim as a function, planned once per connection
-- A worker's claim is most of what the queue asks of PostgreSQL. Sent as text, it was parsed and
-- planned anew every time: a third of the server's time for a claim of fifty jobs. PL/pgSQL keeps
-- its statements' plans for the life of the connection, which works through a transaction pooler
-- too, where the client's own prepared statements would not. (A queue with limits is claimed by a
-- statement of its own, under its row's lock.)
CREATE FUNCTION jobqueue_claim(p_worker text, p_lease_seconds float8, p_queue text, p_limit int)
RETURNS TABLE (id bigint, kind text, args text, attempt bigint, max_attempts bigint, priority bigint, waited_seconds float8)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH next AS (
        SELECT j.id FROM jobs j
        WHERE j.state = 'available' AND j.queue = p_queue
          -- A limit this worker has not heard of yet: nothing, until it has.
          AND NOT EXISTS (SELECT 1 FROM job_queues q WHERE q.name = p_queue
                          AND (q.paused OR q.concurrency_limit IS NOT NULL OR q.rate_limit IS NOT NULL))
        ORDER BY j.priority, j.run_at, j.id
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    ),
    claimed AS (
        UPDATE jobs SET state = 'running', attempt = jobs.attempt + 1, attempted_at = now(),
                        attempted_by = p_worker, lease_expires_at = now() + p_lease_seconds * interval '1 second'
        FROM next WHERE jobs.id = next.id
        RETURNING jobs.id, jobs.kind, jobs.args::text AS args, jobs.attempt::int8 AS attempt, jobs.max_attempts::int8 AS max_attempts,
                  jobs.priority::int8 AS priority, extract(epoch FROM now() - jobs.run_at)::float8 AS waited_seconds
    )
    SELECT * FROM claimed;
END
$$;

-- migrate:step 7 find jobs by kind among the pending and failed only
-- `jobs_kind_state` held every job of the history, so each claim and each completion (neither can
-- be a HOT update) added an entry to it: a third of the index writes of a job's life, for an index
-- that staff read only to find pending or failed jobs of a kind. Running jobs are few and found
-- through `jobs_lease`; completed ones are listed newest first along the primary key. pgbench of
-- the worker's claim and completion on 300,000 jobs: 18–19k jobs/s with the whole index, 21–22k
-- with this one (BENCHMARKS.md, issue 21). On a large table this step holds writes to `jobs` while
-- the index builds: run `migrate` before the workers start, as always.
DROP INDEX jobs_kind_state;
CREATE INDEX jobs_kind_state ON jobs (kind, state) WHERE state NOT IN ('running', 'completed');
