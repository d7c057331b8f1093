-- CreditOps database schema: the one source of truth.
--
-- `creditops migrate` applies the steps below in order, each in its own transaction, and records
-- each applied step in `schema_migrations` with a checksum of its text. A step that has been
-- applied somewhere must never be edited: add a new step at the end instead. `migrate` refuses
-- to run when an applied step's text has changed, so a silently diverging schema cannot happen.
--
-- A step starts with a line `-- migrate:step N short description`; N counts up from 1.
--
-- The job queue's tables (steps 1, 2, 15, 16, 17 and the queue's part of step 7 below) now have a
-- history of their own, shipped with the JobQueue module: Sources/JobQueue/Resources/jobqueue.sql,
-- recorded in `jobqueue_migrations`. `migrate` applies these steps first, then the queue's, whose
-- first step adopts the tables these steps built. New queue changes go there, not here.
--
-- The job queue's tables (steps 1, 2, 15, 16, 17 and the queue's part of step 7 below) now have a
-- history of their own, shipped with the JobQueue module: Sources/JobQueue/Resources/jobqueue.sql,
-- recorded in `jobqueue_migrations`. `migrate` applies these steps first, then the queue's, whose
-- first step adopts the tables these steps built. New queue changes go there, not here.

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

-- migrate:step 3 domain: units, points, groups, borrowers, loans, reports, inspections
-- Every table has a surrogate bigint id for joins (the national data set has millions of
-- borrowers) and a unique `code`, the identifier of the import files and of the outside world.

CREATE TYPE unit_level AS ENUM ('province', 'district', 'commune');

-- The Youth Union's units as a tree of any depth: province → district → commune, or, since the
-- 2025 two-tier reform, province → commune. Rules follow `level`, never the depth.
CREATE TABLE units (
    id            bigint     GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code          text       NOT NULL UNIQUE CHECK (code <> ''),
    name          text       NOT NULL CHECK (name <> ''),
    level         unit_level NOT NULL,
    parent_id     bigint     REFERENCES units (id),
    contact_name  text       NOT NULL DEFAULT '',
    contact_phone text       NOT NULL DEFAULT '',
    -- Lets groups and points demand a commune through a foreign key on (id, level).
    UNIQUE (id, level)
);
CREATE INDEX units_parent ON units (parent_id);

-- A cycle would make every walk up the tree endless. Row triggers of a statement fire after the
-- whole statement, so an import that re-parents many units is checked on its final tree.
CREATE FUNCTION units_refuse_cycle() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ancestor bigint := NEW.parent_id;
    steps    int    := 0;
BEGIN
    WHILE ancestor IS NOT NULL LOOP
        IF ancestor = NEW.id THEN
            RAISE EXCEPTION 'unit % would be its own ancestor (cycle in the unit tree)', NEW.code
                USING ERRCODE = 'check_violation';
        END IF;
        steps := steps + 1;
        IF steps > 1000 THEN
            RAISE EXCEPTION 'the ancestors of unit % go deeper than 1000 levels', NEW.code
                USING ERRCODE = 'check_violation';
        END IF;
        SELECT parent_id INTO ancestor FROM units WHERE id = ancestor;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER units_refuse_cycle AFTER INSERT OR UPDATE OF parent_id ON units
    FOR EACH ROW WHEN (NEW.parent_id IS NOT NULL) EXECUTE FUNCTION units_refuse_cycle();

-- VBSP's commune transaction points, each holding its monthly session on a fixed day. A day
-- 29–31 falls on the last day of a shorter month (D5).
CREATE TABLE points (
    id            bigint     GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code          text       NOT NULL UNIQUE CHECK (code <> ''),
    commune_id    bigint     NOT NULL,
    commune_level unit_level NOT NULL GENERATED ALWAYS AS ('commune') STORED,
    session_day   smallint   NOT NULL CHECK (session_day BETWEEN 1 AND 31),
    session_time  time       NOT NULL,
    location      text       NOT NULL DEFAULT '',
    FOREIGN KEY (commune_id, commune_level) REFERENCES units (id, level),
    -- Lets a group demand a point of its own commune.
    UNIQUE (id, commune_id)
);
CREATE INDEX points_commune ON points (commune_id);

-- A session moved for one month (storm, local event). `month` is the first day of that month.
CREATE TABLE point_session_overrides (
    point_id     bigint NOT NULL REFERENCES points (id) ON DELETE CASCADE,
    month        date   NOT NULL CHECK (extract(day FROM month) = 1),
    session_on   date   NOT NULL,
    session_time time,
    reason       text   NOT NULL DEFAULT '',
    PRIMARY KEY (point_id, month)
);

-- Savings-and-Loan Groups (Tổ TK&VV): each in one commune, attending one of its points.
CREATE TABLE groups (
    id            bigint     GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code          text       NOT NULL UNIQUE CHECK (code <> ''),
    name          text       NOT NULL CHECK (name <> ''),
    commune_id    bigint     NOT NULL,
    commune_level unit_level NOT NULL GENERATED ALWAYS AS ('commune') STORED,
    leader_name   text       NOT NULL DEFAULT '',
    leader_phone  text       NOT NULL DEFAULT '',
    point_id      bigint     NOT NULL,
    FOREIGN KEY (commune_id, commune_level) REFERENCES units (id, level),
    FOREIGN KEY (point_id, commune_id) REFERENCES points (id, commune_id)
);
CREATE INDEX groups_commune ON groups (commune_id);
CREATE INDEX groups_point ON groups (point_id);

CREATE TABLE borrowers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text   NOT NULL UNIQUE CHECK (code <> ''),
    name            text   NOT NULL CHECK (name <> ''),
    group_id        bigint NOT NULL REFERENCES groups (id),
    phone           text   NOT NULL DEFAULT '',
    savings_balance bigint NOT NULL DEFAULT 0 CHECK (savings_balance >= 0)
);
CREATE INDEX borrowers_group ON borrowers (group_id);

-- Money in whole đồng.
CREATE TABLE loans (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code         text   NOT NULL UNIQUE CHECK (code <> ''),
    borrower_id  bigint NOT NULL REFERENCES borrowers (id),
    program      text   NOT NULL CHECK (program <> ''),
    principal    bigint NOT NULL CHECK (principal >= 0),
    outstanding  bigint NOT NULL CHECK (outstanding >= 0 AND outstanding <= principal),
    disbursed_on date   NOT NULL,
    due_on       date   NOT NULL CHECK (due_on >= disbursed_on)
);
CREATE INDEX loans_borrower ON loans (borrower_id);
-- Overdue follow-ups look only at loans past due with money outstanding.
CREATE INDEX loans_due ON loans (due_on) WHERE outstanding > 0;

CREATE TYPE report_frequency AS ENUM ('yearly', 'quarterly', 'monthly');

-- Report types are data. The due rule is a day and month (yearly), or a day of the month after
-- the period (monthly, quarterly). No receiving unit means the submitting unit's parent.
CREATE TABLE report_types (
    id                bigint           GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code              text             NOT NULL UNIQUE CHECK (code <> ''),
    name              text             NOT NULL,
    submitting_level  unit_level       NOT NULL,
    receiving_unit_id bigint           REFERENCES units (id),
    frequency         report_frequency NOT NULL,
    due_day           smallint         NOT NULL CHECK (due_day BETWEEN 1 AND 31),
    due_month         smallint         CHECK (due_month BETWEEN 1 AND 12),
    CHECK ((frequency = 'yearly') = (due_month IS NOT NULL))
);

-- Seed III.2: every district union reports yearly to the province by 15 November.
INSERT INTO report_types (code, name, submitting_level, frequency, due_day, due_month)
VALUES ('BC-NAM', 'Báo cáo năm về chương trình phối hợp với NHCSXH và thực hiện Kết luận 06-KL/TW',
        'district', 'yearly', 15, 11);

-- One report a unit owes for one period: 'YYYY', 'YYYY-Qn' or 'YYYY-MM' by the type's frequency.
CREATE TABLE report_obligations (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_type_id bigint NOT NULL REFERENCES report_types (id),
    unit_id        bigint NOT NULL REFERENCES units (id),
    period         text   NOT NULL CHECK (period ~ '^[0-9]{4}(-Q[1-4]|-[0-9]{2})?$'),
    due_on         date   NOT NULL,
    submitted_on   date,
    UNIQUE (report_type_id, unit_id, period)
);
CREATE INDEX report_obligations_open ON report_obligations (due_on) WHERE submitted_on IS NULL;
CREATE INDEX report_obligations_unit ON report_obligations (unit_id);

-- An inspection by one unit on one day, and the borrowers it checked. The group of a check is
-- the borrower's group.
CREATE TABLE inspections (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code              text   NOT NULL UNIQUE CHECK (code <> ''),
    inspector_unit_id bigint NOT NULL REFERENCES units (id),
    inspected_on      date   NOT NULL
);
CREATE INDEX inspections_inspector ON inspections (inspector_unit_id, inspected_on);

CREATE TABLE inspected_borrowers (
    inspection_id bigint NOT NULL REFERENCES inspections (id) ON DELETE CASCADE,
    borrower_id   bigint NOT NULL REFERENCES borrowers (id),
    PRIMARY KEY (inspection_id, borrower_id)
);
CREATE INDEX inspected_borrowers_borrower ON inspected_borrowers (borrower_id);

-- migrate:step 4 aggregates: inspection coverage and loan figures
-- The inspection rules' numbers (DOMAIN.md): configuration, one row.
CREATE TABLE aggregate_settings (
    singleton                boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    -- A group check is complete at this many distinct borrowers (or all of a smaller group, D1).
    complete_check_borrowers integer NOT NULL DEFAULT 5 CHECK (complete_check_borrowers >= 1),
    -- District rule: complete checks needed per commune = ceil(share × groups) (D2).
    commune_group_share      numeric NOT NULL DEFAULT 0.15 CHECK (commune_group_share > 0 AND commune_group_share <= 1),
    -- Province rule: communes with a complete check needed per district.
    district_min_communes    integer NOT NULL DEFAULT 1 CHECK (district_min_communes >= 1)
);
INSERT INTO aggregate_settings DEFAULT VALUES;

CREATE TYPE coverage_status AS ENUM ('compliant', 'not_compliant', 'not_applicable');

-- What one unit had to inspect in one year, item by item: each group (the commune rule), each
-- commune directly below (the district rule) or each district below (the province rule). The
-- rule follows the level of the item, not of the inspecting unit (D4).
CREATE TABLE coverage_items (
    unit_id       bigint          NOT NULL REFERENCES units (id) ON DELETE CASCADE,
    year          integer         NOT NULL,
    item_code     text            NOT NULL,
    item_name     text            NOT NULL,
    rule          text            NOT NULL CHECK (rule IN ('province', 'district', 'commune')),
    required      integer         NOT NULL,
    done          integer         NOT NULL,
    status        coverage_status NOT NULL,
    PRIMARY KEY (unit_id, year, item_code)
);

-- One unit's own coverage in one year, and the roll-up of the units below it.
CREATE TABLE coverage (
    unit_id                bigint          NOT NULL REFERENCES units (id) ON DELETE CASCADE,
    year                   integer         NOT NULL,
    rule                   text            NOT NULL,
    required               integer         NOT NULL,  -- items the rule applies to
    done                   integer         NOT NULL,  -- items that pass
    not_applicable         integer         NOT NULL,  -- items with no groups at all (D3)
    missing                text[]          NOT NULL,  -- codes of the items that fail
    percentage             numeric(4, 1),
    status                 coverage_status NOT NULL,
    subtree_units          integer         NOT NULL,  -- units below with something to inspect
    subtree_compliant      integer         NOT NULL,
    subtree_not_applicable integer         NOT NULL,
    updated_at             timestamptz     NOT NULL DEFAULT now(),
    PRIMARY KEY (unit_id, year)
);

-- Loans and savings of a unit's subtree: computed from the records for a commune, summed from
-- the communes below for any other unit. Overdue counts loans past due with money outstanding
-- on `as_of`.
CREATE TABLE loan_figures (
    unit_id               bigint      PRIMARY KEY REFERENCES units (id) ON DELETE CASCADE,
    as_of                 date        NOT NULL,
    loans                 bigint      NOT NULL,
    outstanding           bigint      NOT NULL,
    overdue_loans         bigint      NOT NULL,
    overdue_amount        bigint      NOT NULL,
    members               bigint      NOT NULL,
    savers                bigint      NOT NULL,
    overdue_ratio         numeric GENERATED ALWAYS AS (overdue_amount::numeric / nullif(outstanding, 0)) STORED,
    savings_participation numeric GENERATED ALWAYS AS (savers::numeric / nullif(members, 0)) STORED,
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- One row per unit whose records changed, locked by the changing transaction until it ends. A
-- recompute job locks the rows of every unit it writes before reading anything, so it waits
-- for a change still in flight and then reads it; and two jobs writing the same unit take
-- turns, the later one reading the later data. This is what lets a burst of changes coalesce
-- into one pending job without a change ever being missed.
CREATE TABLE aggregate_anchors (
    unit_id    bigint      PRIMARY KEY REFERENCES units (id) ON DELETE CASCADE,
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- Marks units changed and enqueues one recompute job per unit, unless one is already waiting
-- to start (a running one may have read the data before this change, so it does not count).
CREATE FUNCTION aggregates_touch(changed bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO aggregate_anchors (unit_id)
    SELECT DISTINCT unit_id FROM unnest(changed) AS unit_id WHERE unit_id IS NOT NULL ORDER BY unit_id
    ON CONFLICT (unit_id) DO UPDATE SET changed_at = now();

    INSERT INTO jobs (queue, kind, args, max_attempts)
    SELECT 'aggregates', 'aggregates.recompute', jsonb_build_object('unit', t.unit_id), 25
    FROM (SELECT DISTINCT unit_id FROM unnest(changed) AS unit_id WHERE unit_id IS NOT NULL) AS t
    WHERE NOT EXISTS (
        SELECT 1 FROM jobs j
        WHERE j.kind = 'aggregates.recompute' AND j.state = 'available'
          AND j.args = jsonb_build_object('unit', t.unit_id));
END
$$;

-- Statement-level triggers: an import of 10,000 rows fires each once, with all its rows.
CREATE FUNCTION aggregates_inspected_borrowers_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM aggregates_touch(ARRAY(
            SELECT DISTINCT i.inspector_unit_id FROM new_rows n JOIN inspections i ON i.id = n.inspection_id));
    ELSE
        PERFORM aggregates_touch(ARRAY(
            SELECT DISTINCT i.inspector_unit_id FROM old_rows o JOIN inspections i ON i.id = o.inspection_id));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER aggregates_inspected_borrowers_inserted AFTER INSERT ON inspected_borrowers
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aggregates_inspected_borrowers_changed();
CREATE TRIGGER aggregates_inspected_borrowers_deleted AFTER DELETE ON inspected_borrowers
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION aggregates_inspected_borrowers_changed();

CREATE FUNCTION aggregates_inspections_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM aggregates_touch(ARRAY(
            SELECT inspector_unit_id FROM old_rows UNION SELECT inspector_unit_id FROM new_rows));
    ELSE
        PERFORM aggregates_touch(ARRAY(SELECT inspector_unit_id FROM old_rows));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER aggregates_inspections_updated AFTER UPDATE ON inspections
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aggregates_inspections_changed();
CREATE TRIGGER aggregates_inspections_deleted AFTER DELETE ON inspections
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION aggregates_inspections_changed();

-- Groups, borrowers and loans change the figures of their commune and of every unit above it.
CREATE FUNCTION aggregates_groups_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM aggregates_touch(ARRAY(SELECT DISTINCT commune_id FROM new_rows));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM aggregates_touch(ARRAY(SELECT commune_id FROM old_rows UNION SELECT commune_id FROM new_rows));
    ELSE
        PERFORM aggregates_touch(ARRAY(SELECT DISTINCT commune_id FROM old_rows));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER aggregates_groups_inserted AFTER INSERT ON groups
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aggregates_groups_changed();
CREATE TRIGGER aggregates_groups_updated AFTER UPDATE ON groups
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aggregates_groups_changed();
CREATE TRIGGER aggregates_groups_deleted AFTER DELETE ON groups
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION aggregates_groups_changed();

CREATE FUNCTION aggregates_borrowers_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM aggregates_touch(ARRAY(
            SELECT DISTINCT g.commune_id FROM (SELECT DISTINCT group_id FROM new_rows) AS n JOIN groups g ON g.id = n.group_id));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM aggregates_touch(ARRAY(
            SELECT DISTINCT g.commune_id
            FROM (SELECT group_id FROM old_rows UNION SELECT group_id FROM new_rows) AS n JOIN groups g ON g.id = n.group_id));
    ELSE
        PERFORM aggregates_touch(ARRAY(
            SELECT DISTINCT g.commune_id FROM (SELECT DISTINCT group_id FROM old_rows) AS o JOIN groups g ON g.id = o.group_id));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER aggregates_borrowers_inserted AFTER INSERT ON borrowers
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aggregates_borrowers_changed();
CREATE TRIGGER aggregates_borrowers_updated AFTER UPDATE ON borrowers
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aggregates_borrowers_changed();
CREATE TRIGGER aggregates_borrowers_deleted AFTER DELETE ON borrowers
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION aggregates_borrowers_changed();

CREATE FUNCTION aggregates_loans_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM aggregates_touch(ARRAY(
            SELECT DISTINCT g.commune_id FROM (SELECT DISTINCT borrower_id FROM new_rows) AS n
            JOIN borrowers b ON b.id = n.borrower_id JOIN groups g ON g.id = b.group_id));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM aggregates_touch(ARRAY(
            SELECT DISTINCT g.commune_id FROM (SELECT borrower_id FROM old_rows UNION SELECT borrower_id FROM new_rows) AS n
            JOIN borrowers b ON b.id = n.borrower_id JOIN groups g ON g.id = b.group_id));
    ELSE
        PERFORM aggregates_touch(ARRAY(
            SELECT DISTINCT g.commune_id FROM (SELECT DISTINCT borrower_id FROM old_rows) AS o
            JOIN borrowers b ON b.id = o.borrower_id JOIN groups g ON g.id = b.group_id));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER aggregates_loans_inserted AFTER INSERT ON loans
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aggregates_loans_changed();
CREATE TRIGGER aggregates_loans_updated AFTER UPDATE ON loans
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aggregates_loans_changed();
CREATE TRIGGER aggregates_loans_deleted AFTER DELETE ON loans
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION aggregates_loans_changed();

-- A unit moved, added or removed changes what its old and new parents must inspect.
CREATE FUNCTION aggregates_units_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM aggregates_touch(ARRAY(SELECT id FROM new_rows UNION SELECT parent_id FROM new_rows));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM aggregates_touch(ARRAY(
            SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE (n.parent_id, n.level) IS DISTINCT FROM (o.parent_id, o.level)
            UNION SELECT o.parent_id FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE (n.parent_id, n.level) IS DISTINCT FROM (o.parent_id, o.level)
            UNION SELECT n.parent_id FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE (n.parent_id, n.level) IS DISTINCT FROM (o.parent_id, o.level)));
    ELSE
        PERFORM aggregates_touch(ARRAY(
            SELECT parent_id FROM old_rows WHERE parent_id NOT IN (SELECT id FROM old_rows)));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER aggregates_units_inserted AFTER INSERT ON units
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aggregates_units_changed();
CREATE TRIGGER aggregates_units_updated AFTER UPDATE ON units
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aggregates_units_changed();
CREATE TRIGGER aggregates_units_deleted AFTER DELETE ON units
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION aggregates_units_changed();

-- migrate:step 5 reminders: loan status and checks, follow-ups, settings, the notifications outbox
CREATE TYPE loan_status AS ENUM ('normal', 'risk', 'restructured');

-- Staff mark a loan as risk debt or restructured (follow-ups stop) and record its loan-use check.
-- Imports never touch these two columns.
ALTER TABLE loans
    ADD COLUMN status loan_status NOT NULL DEFAULT 'normal',
    ADD COLUMN use_checked_on date;

-- When reminders go out (DOMAIN.md), one row. Days are counted in Asia/Ho_Chi_Minh.
CREATE TABLE reminder_settings (
    singleton             boolean   PRIMARY KEY DEFAULT true CHECK (singleton),
    session_days_before   integer[] NOT NULL DEFAULT '{3,1}',
    -- Overdue follow-ups on these days past due, then every overdue_repeat_days after the last.
    overdue_days          integer[] NOT NULL DEFAULT '{1,7,30}',
    overdue_repeat_days   integer   NOT NULL DEFAULT 30 CHECK (overdue_repeat_days >= 1),
    overdue_commune_from  integer   NOT NULL DEFAULT 7,   -- the commune contact is told from this day
    overdue_parent_from   integer   NOT NULL DEFAULT 30,  -- the parent unit's contact from this day
    loan_check_after_days integer   NOT NULL DEFAULT 20,
    loan_check_due_days   integer   NOT NULL DEFAULT 30,
    report_days_before    integer[] NOT NULL DEFAULT '{14,7,3,1,0}',
    -- After the due date: day 1, then every report_repeat_days, until submitted.
    report_repeat_days    integer   NOT NULL DEFAULT 7 CHECK (report_repeat_days >= 1),
    -- Deliveries happen only within [send_from, send_until) local time; the rest wait.
    send_from             time      NOT NULL DEFAULT '07:00',
    send_until            time      NOT NULL DEFAULT '21:00' CHECK (send_until > send_from)
);
INSERT INTO reminder_settings DEFAULT VALUES;

CREATE TYPE followup_outcome AS ENUM ('promised', 'paid', 'moved_away', 'risk_proposed');

-- One row per escalation step of an overdue loan, for staff to record what came of it.
CREATE TABLE followups (
    id           bigint           GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    loan_id      bigint           NOT NULL REFERENCES loans (id) ON DELETE CASCADE,
    due_on       date             NOT NULL,  -- the due date the loan is overdue from
    overdue_days integer          NOT NULL,
    planned_on   date             NOT NULL,
    outcome      followup_outcome,
    promised_on  date             CHECK (promised_on IS NULL OR outcome = 'promised'),
    note         text             NOT NULL DEFAULT '',
    updated_at   timestamptz      NOT NULL DEFAULT now(),
    UNIQUE (loan_id, due_on, overdue_days)
);
CREATE INDEX followups_open ON followups (planned_on) WHERE outcome IS NULL;

CREATE TYPE notification_kind AS ENUM ('session_reminder', 'overdue_followup', 'loan_use_check', 'report_deadline');
CREATE TYPE notification_state AS ENUM ('pending', 'sent', 'failed');

-- The outbox: one row per (reminder, recipient, step), written by the planner before any
-- delivery. The idempotency key makes a re-planned day, a retried or rescued job add nothing,
-- and travels with every delivery attempt so that a gateway sends once.
CREATE TABLE notifications (
    id              bigint             GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key text               NOT NULL UNIQUE,
    kind            notification_kind  NOT NULL,
    recipient_name  text               NOT NULL,
    recipient_phone text               NOT NULL,
    unit_id         bigint             REFERENCES units (id) ON DELETE SET NULL,
    unit_code       text               NOT NULL,
    text            text               NOT NULL,
    planned_for     date               NOT NULL,
    deliver_after   timestamptz        NOT NULL,
    state           notification_state NOT NULL DEFAULT 'pending',
    channel         text,
    attempts        integer            NOT NULL DEFAULT 0,
    last_error      text,
    sent_at         timestamptz,
    created_at      timestamptz        NOT NULL DEFAULT now()
);
CREATE INDEX notifications_pending ON notifications (deliver_after) WHERE state = 'pending';
CREATE INDEX notifications_unit ON notifications (unit_id, created_at);

-- migrate:step 6 access tokens for the API and the dashboards
-- A bearer token sees its unit and every unit below it; `staff` tokens also manage jobs. Only a
-- SHA-256 of the token is kept: the token itself is shown once, when created.
CREATE TABLE api_tokens (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash   text        NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    name         text        NOT NULL DEFAULT '',
    unit_id      bigint      NOT NULL REFERENCES units (id) ON DELETE CASCADE,
    staff        boolean     NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);

-- migrate:step 7 access: roles, token lifetimes, sign-in links, web sessions, audit trail, the unit of a job
-- One role per token, replacing the `staff` flag (staff tokens become operators):
--   viewer   dashboards and the read API of its unit's subtree;
--   officer  a viewer that may also record the domain's writes for its subtree;
--   operator jobs and queues: a root unit's operator everything, one below the root only the
--            jobs whose unit is in its subtree.
CREATE TYPE access_role AS ENUM ('viewer', 'officer', 'operator');
ALTER TABLE api_tokens
    ADD COLUMN role         access_role NOT NULL DEFAULT 'viewer',
    ADD COLUMN expires_at   timestamptz,
    ADD COLUMN last_used_at timestamptz;
UPDATE api_tokens SET role = 'operator' WHERE staff;
-- Tokens made before lifetimes existed get the default lifetime from now, not eternity.
UPDATE api_tokens SET expires_at = now() + interval '90 days';
ALTER TABLE api_tokens ALTER COLUMN expires_at SET NOT NULL, DROP COLUMN staff;

-- A one-time sign-in link (`tokens link`): opening it within 15 minutes starts a web session of
-- its token. Only a hash of the code is kept, as for tokens.
CREATE TABLE sign_in_links (
    code_hash  text        PRIMARY KEY CHECK (code_hash ~ '^[0-9a-f]{64}$'),
    token_id   bigint      NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

-- A browser's session: the cookie holds a random id (its hash is kept here), never a token. It
-- ends after 8 idle hours, after 7 days in any case, at /logout, or with its token.
CREATE TABLE web_sessions (
    id_hash      text        PRIMARY KEY CHECK (id_hash ~ '^[0-9a-f]{64}$'),
    token_id     bigint      NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz
);
CREATE INDEX web_sessions_token ON web_sessions (token_id);

-- Who did what: every write through HTTP or the CLI. `token_name` and `role` are copied so that
-- the row still reads right after its token is gone.
CREATE TABLE audit_events (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    token_id   bigint      REFERENCES api_tokens (id) ON DELETE SET NULL,
    token_name text        NOT NULL DEFAULT '',
    role       text        NOT NULL DEFAULT '',
    address    text        NOT NULL DEFAULT '',
    action     text        NOT NULL,
    target     text        NOT NULL DEFAULT '',
    outcome    text        NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);

-- What a job belongs to, for the queue an opaque object (e.g. {"unit": "T01-H03"}): operators
-- below the root see the jobs of their subtree only.
ALTER TABLE jobs ADD COLUMN meta jsonb NOT NULL DEFAULT '{}';
CREATE INDEX jobs_meta_unit ON jobs ((meta ->> 'unit')) WHERE meta ? 'unit';

-- Recompute jobs carry their unit's code.
CREATE OR REPLACE FUNCTION aggregates_touch(changed bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO aggregate_anchors (unit_id)
    SELECT DISTINCT unit_id FROM unnest(changed) AS unit_id WHERE unit_id IS NOT NULL ORDER BY unit_id
    ON CONFLICT (unit_id) DO UPDATE SET changed_at = now();

    INSERT INTO jobs (queue, kind, args, max_attempts, meta)
    SELECT 'aggregates', 'aggregates.recompute', jsonb_build_object('unit', t.unit_id), 25,
           CASE WHEN u.code IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('unit', u.code) END
    FROM (SELECT DISTINCT unit_id FROM unnest(changed) AS unit_id WHERE unit_id IS NOT NULL) AS t
    LEFT JOIN units u ON u.id = t.unit_id
    WHERE NOT EXISTS (
        SELECT 1 FROM jobs j
        WHERE j.kind = 'aggregates.recompute' AND j.state = 'available'
          AND j.args = jsonb_build_object('unit', t.unit_id));
END
$$;

-- migrate:step 8 reminders: the sender's name
-- Reminders come from the Youth Union, so they are signed with its name, not the bank's.
ALTER TABLE reminder_settings
    ADD COLUMN sender_name text NOT NULL DEFAULT 'Đoàn Thanh niên' CHECK (sender_name <> '' AND length(sender_name) <= 40);

-- migrate:step 9 reminders: expiry
-- A reminder past its moment (the next reminder of the same thing is due, or the thing has
-- happened) is recorded `expired` instead of being sent late. (PostgreSQL lets a transaction add
-- an enum value but not use it; nothing here uses it.)
ALTER TYPE notification_state ADD VALUE 'expired';
ALTER TABLE notifications ADD COLUMN expires_at timestamptz;

-- migrate:step 10 reminders: catching up missed days
-- Every day the daily planning ran for. A leader that missed mornings (every worker down at
-- 07:00, a holiday shutdown) plans each missed day when it next plans, up to catch_up_days back.
CREATE TABLE reminder_plan_days (
    day        date        PRIMARY KEY,
    planned_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE reminder_settings ADD COLUMN catch_up_days integer NOT NULL DEFAULT 7 CHECK (catch_up_days BETWEEN 0 AND 60);

-- migrate:step 11 reminders: notices of moved sessions
-- Told to a point's group leaders and commune contact when its session moves after a reminder
-- of the old date went out.
ALTER TYPE notification_kind ADD VALUE 'session_changed';

-- migrate:step 12 reminders: SMS length
-- Each notification also without diacritics, and how many SMS parts each version takes (UCS-2:
-- 70, then 67 a part; GSM-7: 160, then 153), for an SMS channel to choose by configuration.
ALTER TABLE notifications
    ADD COLUMN text_plain         text,
    ADD COLUMN sms_segments       integer,
    ADD COLUMN sms_segments_plain integer;

-- migrate:step 13 reminders: recipients who opted out, late reminders, digests
-- A number on this list gets nothing; the planner records what it would have sent as
-- `opted_out`. Numbers are E.164 (`+84…`), as imports now store them.
CREATE TABLE recipient_opt_outs (
    phone        text        PRIMARY KEY CHECK (phone ~ '^\+84[0-9]{9}$'),
    opted_out_at timestamptz NOT NULL DEFAULT now(),
    note         text        NOT NULL DEFAULT ''
);
ALTER TYPE notification_state ADD VALUE 'opted_out';
-- A reminder folded into a digest keeps its own row (its key still stops a second planning),
-- `digested`, pointing at the one message that carries it.
ALTER TYPE notification_state ADD VALUE 'digested';
ALTER TABLE notifications
    ADD COLUMN late      boolean NOT NULL DEFAULT false,
    ADD COLUMN digest_id bigint  REFERENCES notifications (id) ON DELETE SET NULL;
CREATE INDEX notifications_digest ON notifications (digest_id) WHERE digest_id IS NOT NULL;
-- The kinds whose reminders to one unit's contact on one day go as one message, and how many
-- items that message lists before "và K khoản khác".
ALTER TABLE reminder_settings
    ADD COLUMN digest_kinds     text[]  NOT NULL DEFAULT '{session_reminder,overdue_followup,loan_use_check,report_deadline}',
    ADD COLUMN digest_max_items integer NOT NULL DEFAULT 5 CHECK (digest_max_items BETWEEN 1 AND 20);
-- Numbers imported before imports normalised them: the common forms, to E.164.
UPDATE units SET contact_phone = '+84' || substr(regexp_replace(contact_phone, '[ .()-]', '', 'g'), 2)
WHERE regexp_replace(contact_phone, '[ .()-]', '', 'g') ~ '^0[35789][0-9]{8}$';
UPDATE groups SET leader_phone = '+84' || substr(regexp_replace(leader_phone, '[ .()-]', '', 'g'), 2)
WHERE regexp_replace(leader_phone, '[ .()-]', '', 'g') ~ '^0[35789][0-9]{8}$';
UPDATE borrowers SET phone = '+84' || substr(regexp_replace(phone, '[ .()-]', '', 'g'), 2)
WHERE regexp_replace(phone, '[ .()-]', '', 'g') ~ '^0[35789][0-9]{8}$';

-- migrate:step 14 reminders: channels (Zalo's rotating tokens and daily quota, channels that could not reach a recipient)
-- Zalo's OA access token lives 25 hours and its refresh token is good for one use: both rotate
-- on every refresh, so they are kept here, not in configuration (which seeds the first refresh
-- token only), and every worker uses the newest.
CREATE TABLE zalo_tokens (
    singleton         boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    access_token      text,
    refresh_token     text        NOT NULL,
    access_expires_at timestamptz,
    refreshed_at      timestamptz
);
-- The OA's daily ZNS quota as Zalo last reported it, per day in Vietnam.
CREATE TABLE zalo_quota (
    day        date        PRIMARY KEY,
    daily      integer,
    remaining  integer     NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE notifications ADD COLUMN unreachable_by text[] NOT NULL DEFAULT '{}';

-- migrate:step 15 job queue: worker heartbeats, the rescue's clock, tags
-- Every worker process records itself at start and every third of its lease, and removes itself
-- when it stops with nothing left to write. The leader's rescue also takes the running jobs of a
-- worker whose heartbeat is older than its lease: the worker died, or lost the database and
-- stopped its handlers (it stops them a margin before its lease and heartbeat can run out).
CREATE TABLE queue_workers (
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
-- When the leader's rescue last ran. A rescue that finds it older than its gap threshold (the
-- database frozen or unreachable, the leader stalled, the leadership moved) rescues nothing that
-- time: it gives every running job a fresh lease and every worker a fresh heartbeat, since nobody
-- could renew while it was away and finished jobs' outcomes may still be on their way.
CREATE TABLE queue_rescue_clock (
    singleton boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    ticked_at timestamptz NOT NULL
);
-- Free-form labels to find jobs by (`jobs list --tag`). The index covers tagged jobs only, so
-- the many untagged jobs cost an insert nothing; filters repeat its predicate to use it.
ALTER TABLE jobs ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
CREATE INDEX jobs_tags ON jobs USING gin (tags) WHERE tags <> '{}';

-- migrate:step 16 job queue: limits per queue across every worker
-- At most `concurrency_limit` jobs of the queue run at once, whatever the number of workers, and
-- at most `rate_limit` start per `rate_period_seconds` (a fixed window: the gateways' per-second
-- and daily quotas). NULL: no limit. A limited queue's claims take its row's lock, one at a time.
ALTER TABLE job_queues
    ADD COLUMN concurrency_limit   integer     CHECK (concurrency_limit > 0),
    ADD COLUMN rate_limit          integer     CHECK (rate_limit > 0),
    ADD COLUMN rate_period_seconds float8      CHECK (rate_period_seconds > 0),
    ADD COLUMN window_started_at   timestamptz,
    ADD COLUMN window_starts       integer     NOT NULL DEFAULT 0,
    ADD CONSTRAINT job_queues_rate_has_period CHECK ((rate_limit IS NULL) = (rate_period_seconds IS NULL));

-- migrate:step 17 job queue: uniqueness over chosen states
-- A unique job counts while it is in one of its `unique_states` (the pending ones unless told:
-- "once a day, even if the first one finished" adds completed). Every insert names this index in
-- its ON CONFLICT clause, so a worker of an older binary fails to enqueue once it is gone: stop
-- the old workers before this step (`creditops migrate` then the new binary).
ALTER TABLE jobs ADD COLUMN unique_states job_state[];
UPDATE jobs SET unique_states = '{available,scheduled,running,retryable}' WHERE unique_key IS NOT NULL;
CREATE UNIQUE INDEX jobs_unique ON jobs (unique_key) WHERE unique_key IS NOT NULL AND state = ANY(unique_states);
DROP INDEX jobs_unique_pending;

-- migrate:step 18 reports: who handed a report in
-- Staff mark a report handed in from the dashboard or the command line; the name is what they typed.
ALTER TABLE report_obligations ADD COLUMN submitted_by text NOT NULL DEFAULT '';

-- migrate:step 19 history: a daily snapshot of each unit's figures
-- Taken by the nightly rebuild (and backfilled at month ends by `aggregates snapshots backfill`),
-- so that the dashboard draws this year against last. Coverage is of the day's own year; loans
-- and savings are the subtree's, as `loan_figures` has them that day.
CREATE TABLE unit_snapshots (
    unit_id               bigint      NOT NULL REFERENCES units (id) ON DELETE CASCADE,
    day                   date        NOT NULL,
    coverage_required     integer,
    coverage_done         integer,
    outstanding           bigint,
    overdue_amount        bigint,
    members               bigint,
    savers                bigint,
    coverage_share        numeric GENERATED ALWAYS AS (coverage_done::numeric / nullif(coverage_required, 0)) STORED,
    overdue_ratio         numeric GENERATED ALWAYS AS (overdue_amount::numeric / nullif(outstanding, 0)) STORED,
    savings_participation numeric GENERATED ALWAYS AS (savers::numeric / nullif(members, 0)) STORED,
    taken_at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (unit_id, day)
);

-- migrate:step 20 aggregates: marking many units at once
-- Three costs that grew with the square or the size of a large import (the national seed):
-- - The check for a recompute job already waiting was a correlated NOT EXISTS per unit, which the
--   planner ran as a nested loop over the waiting jobs: a statement touching every unit of the
--   country compared 11,263 units with 11,263 jobs each. A set difference costs the same for one
--   unit or all of them.
-- - The units trigger joined its two transition tables, which have no statistics: a nested loop
--   again, over every unit the units import's second statement (the parents) updated.
-- - The borrowers and loans triggers looked each row's commune up through the index of borrowers:
--   7.8 million probes for the national loans. `creditops import` now marks the communes itself,
--   from its staging table in one hashed join, and sets `creditops.import_marks_units` for its
--   transaction so that these two triggers stand aside; any other writer still goes through them.
CREATE OR REPLACE FUNCTION aggregates_touch(changed bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO aggregate_anchors (unit_id)
    SELECT DISTINCT unit_id FROM unnest(changed) AS unit_id WHERE unit_id IS NOT NULL ORDER BY unit_id
    ON CONFLICT (unit_id) DO UPDATE SET changed_at = now();

    INSERT INTO jobs (queue, kind, args, max_attempts, meta)
    SELECT 'aggregates', 'aggregates.recompute', t.args, 25,
           CASE WHEN u.code IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('unit', u.code) END
    FROM (SELECT jsonb_build_object('unit', unit_id) AS args FROM unnest(changed) AS unit_id WHERE unit_id IS NOT NULL
          EXCEPT
          SELECT args FROM jobs WHERE kind = 'aggregates.recompute' AND state = 'available') AS t
    LEFT JOIN units u ON u.id = (t.args ->> 'unit')::bigint;
END
$$;

CREATE OR REPLACE FUNCTION aggregates_units_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM aggregates_touch(ARRAY(SELECT id FROM new_rows UNION SELECT parent_id FROM new_rows));
    ELSIF TG_OP = 'UPDATE' THEN
        -- A unit whose parent or level changed, with its new parent (rows only in new_rows) and
        -- its old one (rows only in old_rows).
        PERFORM aggregates_touch(ARRAY(
            SELECT unnest(ARRAY[id, parent_id]) FROM (
                SELECT id, parent_id, level FROM new_rows EXCEPT SELECT id, parent_id, level FROM old_rows) AS moved
            UNION
            SELECT unnest(ARRAY[id, parent_id]) FROM (
                SELECT id, parent_id, level FROM old_rows EXCEPT SELECT id, parent_id, level FROM new_rows) AS was));
    ELSE
        PERFORM aggregates_touch(ARRAY(
            SELECT parent_id FROM old_rows WHERE parent_id NOT IN (SELECT id FROM old_rows)));
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION aggregates_borrowers_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('creditops.import_marks_units', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM aggregates_touch(ARRAY(
            SELECT DISTINCT g.commune_id FROM (SELECT DISTINCT group_id FROM new_rows) AS n JOIN groups g ON g.id = n.group_id));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM aggregates_touch(ARRAY(
            SELECT DISTINCT g.commune_id
            FROM (SELECT group_id FROM old_rows UNION SELECT group_id FROM new_rows) AS n JOIN groups g ON g.id = n.group_id));
    ELSE
        PERFORM aggregates_touch(ARRAY(
            SELECT DISTINCT g.commune_id FROM (SELECT DISTINCT group_id FROM old_rows) AS o JOIN groups g ON g.id = o.group_id));
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION aggregates_loans_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('creditops.import_marks_units', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM aggregates_touch(ARRAY(
            SELECT DISTINCT g.commune_id FROM (SELECT DISTINCT borrower_id FROM new_rows) AS n
            JOIN borrowers b ON b.id = n.borrower_id JOIN groups g ON g.id = b.group_id));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM aggregates_touch(ARRAY(
            SELECT DISTINCT g.commune_id FROM (SELECT borrower_id FROM old_rows UNION SELECT borrower_id FROM new_rows) AS n
            JOIN borrowers b ON b.id = n.borrower_id JOIN groups g ON g.id = b.group_id));
    ELSE
        PERFORM aggregates_touch(ARRAY(
            SELECT DISTINCT g.commune_id FROM (SELECT DISTINCT borrower_id FROM old_rows) AS o
            JOIN borrowers b ON b.id = o.borrower_id JOIN groups g ON g.id = b.group_id));
    END IF;
    RETURN NULL;
END
$$;
