-- CreditOps database schema: the one source of truth.
--
-- `creditops migrate` applies the steps below in order, each in its own transaction, and records
-- each applied step in `schema_migrations` with a checksum of its text. A step that has been
-- applied somewhere must never be edited: add a new step at the end instead. `migrate` refuses
-- to run when an applied step's text has changed, so a silently diverging schema cannot happen.
--
-- A step starts with a line `-- migrate:step N short description`; N counts up from 1.

-- migrate:step 1 job queue
CREATE TYPE job_state AS ENUM (
    'available',  -- runnable now
    'scheduled',  -- waits for run_at
    'running',    -- claimed by a worker that holds a lease
    'retryable',  -- failed, waits for run_at to try again
    'completed',
    'discarded',  -- failed for good (out of attempts or told not to retry)
    'cancelled'
);

CREATE TABLE jobs (
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

-- The hot path. Workers claim with
--   WHERE state = 'available' AND queue = $1 ORDER BY priority, run_at, id LIMIT n FOR UPDATE SKIP LOCKED
-- so this index is exactly that ordering, and partial: it holds only runnable rows. Finished
-- jobs, which are most of the table, never enter it, so it stays small and hot in memory
-- however long the history grows.
CREATE INDEX jobs_claim ON jobs (queue, priority, run_at, id) WHERE state = 'available';

-- Promotion of scheduled and retryable jobs whose time has come scans this small index only.
CREATE INDEX jobs_due ON jobs (run_at) WHERE state IN ('scheduled', 'retryable');

-- Rescue finds expired leases among the running jobs, never touching the rest.
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE state = 'running';

-- A unique key holds only while its job is pending; once it finishes, the key may be used again.
CREATE UNIQUE INDEX jobs_unique_pending ON jobs (unique_key)
    WHERE unique_key IS NOT NULL AND state IN ('available', 'scheduled', 'running', 'retryable');

-- Pruning deletes the oldest finished jobs in bounded batches.
CREATE INDEX jobs_finalized ON jobs (finalized_at) WHERE state IN ('completed', 'cancelled', 'discarded');

-- Listing and staff tools filter by kind and state.
CREATE INDEX jobs_kind_state ON jobs (kind, state);

CREATE TABLE job_queues (
    name       text        PRIMARY KEY,
    paused     boolean     NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Wakes idle workers the moment a runnable job is committed, whoever inserted it (the queue's
-- own API, a trigger of the domain, psql). One notification per queue per statement: NOTIFY
-- payloads are also folded per transaction by PostgreSQL, so bulk inserts stay cheap.
CREATE FUNCTION jobs_notify_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('creditops_jobs', q.queue)
    FROM (SELECT DISTINCT queue FROM inserted WHERE state = 'available') AS q;
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_notify_inserted AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION jobs_notify_inserted();

-- migrate:step 2 leader election and periodic jobs
-- One row per election: whoever holds an unexpired row is the leader. A row with a TTL, renewed
-- by its holder, rather than an advisory lock: a lock held by a leader whose network was cut
-- stays held until the server notices the dead connection (TCP keep-alive: minutes or hours),
-- while a row simply expires, so another process takes over within the TTL.
CREATE TABLE queue_leaders (
    name       text        PRIMARY KEY,
    leader_id  text        NOT NULL,
    elected_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

-- The last period each periodic job was enqueued for. Moving last_scheduled_at forward and
-- enqueueing happen in one transaction, and only forward moves succeed, so no period is ever
-- enqueued twice, whatever two leaders, restarts or clock skew do.
CREATE TABLE periodic_jobs (
    name              text        PRIMARY KEY,
    schedule          text        NOT NULL,
    last_scheduled_at timestamptz,
    last_job_id       bigint,
    next_run_at       timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
