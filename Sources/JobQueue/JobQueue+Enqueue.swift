import Foundation
import Logging
public import PostgresNIO

/// A job ready for the insert: its unique key as stored (the period's start appended, the
/// arguments' digest in place) and the states in which it counts.
struct KeyedJob: Sendable {
    var job: NewJob
    var key: String?
    var states: [String]?
    /// Whether a conflict updates the queued job (replace the arguments, push `run_at`).
    var updatesOnConflict: Bool { job.unique.map { $0.onConflict != .keep } ?? false }
}

extension JobQueue {
    /// Enqueues one job given as raw JSON. A job the same as a queued one (``NewJob/unique``) is
    /// not queued twice: the queued job's id is returned, after it took the new arguments or time
    /// if so asked.
    @discardableResult
    public func enqueue(_ job: NewJob) async throws -> Int64 {
        try await bounded("enqueuing a job") {
            try job.validate()
            return try await client.withConnection { connection in
                try await Self.checkDependencies([job], on: connection, logger: logger)
                let keyed = try await Self.keyed([job], on: connection, logger: logger)[0]
                // A unique job may finish between our insert's conflict and the look-up; try again then.
                for _ in 0..<5 {
                    let id: Int64?
                    do {
                        id = try await insert(keyed, on: connection, prepared: !QueueConnections.isTransactionPooled(client))
                    } catch let error where QueueConnections.lostNamedStatement(error) {
                        QueueConnections.stopPreparing(client, after: error, logger: logger)
                        id = try await insert(keyed, on: connection, prepared: false)
                    }
                    if let id { return id }
                    if let id = try await queuedJob(keyed, on: connection) { return id }
                }
                throw QueueError(.invalidState, "the job with unique key '\(keyed.key ?? "")' kept changing; try again")
            }
        }
    }

    /// Enqueues one job given as raw JSON inside the caller's transaction.
    @discardableResult
    public func enqueue(_ job: NewJob, on connection: PostgresConnection) async throws -> Int64 {
        try job.validate()
        try await Self.checkDependencies([job], on: connection, logger: logger)
        let keyed = try await Self.keyed([job], on: connection, logger: logger)[0]
        if let id = try await insert(keyed, on: connection, prepared: !QueueConnections.isTransactionPooled(client)) { return id }
        guard let id = try await queuedJob(keyed, on: connection) else {
            throw QueueError(.invalidState, "the job with unique key '\(keyed.key ?? "")' finished while enqueuing; try again")
        }
        return id
    }

    /// Enqueues many jobs and returns their ids in the same order: in one statement, but for
    /// unique jobs that replace or push back a queued one, which take a round trip each. Jobs the
    /// same as a queued one (or as an earlier one of the batch) get that job's id.
    @discardableResult
    public func enqueue(batch jobs: [NewJob]) async throws -> [Int64] {
        try await bounded("enqueuing jobs") {
            guard !jobs.isEmpty else { return [] }
            return try await client.withConnection { try await enqueue(batch: jobs, on: $0) }
        }
    }

    /// Enqueues many jobs on the caller's connection (and transaction, if any); see ``enqueue(batch:)``.
    @discardableResult
    public func enqueue(batch jobs: [NewJob], on connection: PostgresConnection) async throws -> [Int64] {
        guard !jobs.isEmpty else { return [] }
        for job in jobs { try job.validate() }
        try await Self.checkDependencies(jobs, on: connection, logger: logger)
        // The common case, no unique job: straight to one statement, nothing computed per job.
        guard jobs.contains(where: { $0.unique != nil }) else {
            return try await insert(batch: jobs, keys: [], states: [], on: connection)
        }
        let keyed = try await Self.keyed(jobs, on: connection, logger: logger)
        let plain = keyed.filter { !$0.updatesOnConflict }
        var plainIDs = try await insert(
            batch: plain.map(\.job), keys: plain.map(\.key), states: plain.map(\.states), on: connection
        ).makeIterator()
        var ids: [Int64] = []
        ids.reserveCapacity(jobs.count)
        for job in keyed {
            if !job.updatesOnConflict {
                guard let id = plainIDs.next() else { throw QueueError(.invalidState, "the database returned fewer ids than jobs") }
                ids.append(id)
            } else if let id = try await insert(job, on: connection, prepared: !QueueConnections.isTransactionPooled(client)) {
                ids.append(id)
            } else if let id = try await queuedJob(job, on: connection) {
                ids.append(id)
            } else {
                throw QueueError(.invalidState, "the job with unique key '\(job.key ?? "")' finished while enqueuing; try again")
            }
        }
        return ids
    }

    // MARK: - Statements

    /// A job may depend only on jobs that exist (a typo would otherwise wait forever, or be read
    /// as a pruned, completed job).
    static func checkDependencies(_ jobs: [NewJob], on connection: PostgresConnection, logger: Logger) async throws {
        let parents = Set(jobs.flatMap(\.dependsOn))
        guard !parents.isEmpty else { return }
        let rows = try await connection.query(
            """
            SELECT coalesce(array_agg(p ORDER BY p), '{}') FROM unnest(\(Array(parents))::int8[]) AS p
            WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE id = p)
            """, logger: logger)
        for try await missing in rows.decode([Int64].self) where !missing.isEmpty {
            let list = missing.prefix(10).map(String.init).joined(separator: ", ")
            throw QueueError(.invalidArgument, "a job cannot depend on job\(missing.count == 1 ? "" : "s") \(list): no such job")
        }
    }

    /// Stored unique keys: the digest of a job's arguments comes from PostgreSQL (`md5` of the
    /// arguments as `jsonb`, whose text has one form whatever the order of the keys).
    static func keyed(_ jobs: [NewJob], on connection: PostgresConnection, logger: Logger) async throws -> [KeyedJob] {
        let byArguments = jobs.indices.filter { jobs[$0].unique?.key == .arguments }
        var digests: [Int: String] = [:]
        if !byArguments.isEmpty {
            let rows = try await connection.query(
                "SELECT md5(a::jsonb::text) FROM unnest(\(byArguments.map { jobs[$0].argsJSON })::text[]) WITH ORDINALITY AS t(a, n) ORDER BY n",
                logger: logger)
            var index = byArguments.makeIterator()
            for try await digest in rows.decode(String.self) { if let at = index.next() { digests[at] = digest } }
        }
        let now = Date()
        return jobs.enumerated().map { index, job in
            KeyedJob(
                job: job, key: job.unique?.storedKey(kind: job.kind, argumentsDigest: digests[index], at: now),
                states: job.unique?.stateNames)
        }
    }

    /// Inserts one job; nil when the same job is queued and was left as it is (look it up).
    /// `prepared`: as a named prepared statement, which a pooler in transaction mode cannot keep.
    func insert(
        _ keyed: KeyedJob, on connection: PostgresConnection, prepared: Bool
    ) async throws -> Int64? {
        let statement = InsertJobStatement(job: keyed.job, uniqueKey: keyed.key, uniqueStates: keyed.states)
        guard let unique = keyed.job.unique, unique.onConflict != .keep else {
            let rows = prepared
                ? try await connection.execute(statement, logger: logger)
                : try await connection.query(try statement.unnamed(), logger: logger).map { try statement.decodeRow($0) }
            for try await id in rows { return id }
            return nil
        }
        var binds = try statement.makeBindings()
        binds.append(unique.onConflict == .pushRunAt)
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            \(InsertJobStatement.values)
            ON CONFLICT \(QueueSQL.uniqueConflict)
            DO UPDATE SET args = excluded.args,
                          run_at = CASE WHEN $12 THEN excluded.run_at ELSE jobs.run_at END,
                          -- A waiting job waits on; a retryable one keeps its attempt's state.
                          state = CASE WHEN $12 AND jobs.state NOT IN ('retryable', 'waiting') THEN excluded.state ELSE jobs.state END
            WHERE jobs.state IN ('waiting', 'available', 'scheduled', 'retryable')
            RETURNING id
            """, binds: binds), logger: logger)
        for try await id in rows.decode(Int64.self) { return id }
        return nil
    }

    /// Inserts jobs that never update a queued one, in one statement; the ids in order. `keys`
    /// and `states` (stored unique keys and their states) are empty when no job is unique.
    private func insert(
        batch jobs: [NewJob], keys: [String?], states: [[String]?], on connection: PostgresConnection
    ) async throws -> [Int64] {
        guard !jobs.isEmpty else { return [] }
        // The unique states' and dependencies' columns only when a job of the batch has them.
        let anyUnique = keys.contains { $0 != nil }
        let anyDependent = jobs.contains { !$0.dependsOn.isEmpty }
        let rows = try await connection.query(
            """
            INSERT INTO jobs (queue, kind, args, priority, run_at, state, max_attempts, unique_key, meta, tags\(unescaped: anyUnique ? ", unique_states" : "")\(unescaped: anyDependent ? ", depends_on" : ""))
            SELECT q, k, a::jsonb, p, CASE WHEN r < 0 THEN now() ELSE to_timestamp(r) END,
                   CASE WHEN d <> '{}' THEN 'waiting'::job_state
                        WHEN r > extract(epoch FROM now()) THEN 'scheduled'::job_state ELSE 'available'::job_state END,
                   m, NULLIF(u, ''), e::jsonb, CASE WHEN g = '[]' THEN '{}' ELSE ARRAY(SELECT jsonb_array_elements_text(g::jsonb)) END
                   \(unescaped: anyUnique ? ", CASE WHEN s = '' THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(s::jsonb))::job_state[] END" : "")
                   \(unescaped: anyDependent ? ", d::int8[]" : "")
            FROM unnest(\(jobs.map(\.queue))::text[], \(jobs.map(\.kind))::text[], \(jobs.map(\.argsJSON))::text[],
                        \(jobs.map(\.priority))::int8[], \(jobs.map { $0.runAt?.timeIntervalSince1970 ?? -1 })::float8[],
                        \(jobs.map(\.maxAttempts))::int8[], \(anyUnique ? keys.map { $0 ?? "" } : jobs.map { _ in "" })::text[],
                        \(jobs.map(\.metaJSON))::text[], \(jobs.map(\.tagsJSON))::text[],
                        \(anyUnique ? states.map { $0.map(Self.jsonArray) ?? "" } : [])::text[],
                        \(anyDependent ? jobs.map { Self.arrayLiteral($0.dependsOn) } : [])::text[]) AS t(q, k, a, p, r, m, u, e, g, s, d)
            ON CONFLICT \(unescaped: QueueSQL.uniqueConflict)
            DO NOTHING
            RETURNING id, unique_key
            """, logger: logger)
        // PostgreSQL returns inserted rows in the order of the SELECT; keyed rows are matched by key
        // since a conflict skips them.
        var unkeyed: [Int64] = []
        var keyed: [String: Int64] = [:]
        for try await (id, key) in rows.decode((Int64, String?).self) {
            if let key { keyed[key] = id } else { unkeyed.append(id) }
        }
        let missingKeys = Set(keys.compactMap { $0 }).subtracting(keyed.keys)
        if !missingKeys.isEmpty {
            let existing = try await connection.query(
                """
                SELECT id, unique_key FROM jobs WHERE unique_key = ANY(\(Array(missingKeys))::text[]) AND state = ANY(unique_states)
                """, logger: logger)
            for try await (id, key) in existing.decode((Int64, String).self) { keyed[key] = id }
        }
        var next = unkeyed.makeIterator()
        return try jobs.indices.map { index in
            if anyUnique, let key = keys[index] {
                guard let id = keyed[key] else {
                    throw QueueError(.invalidState, "the job with unique key '\(key)' finished while enqueuing; try again")
                }
                return id
            }
            guard let id = next.next() else { throw QueueError(.invalidState, "the database returned fewer ids than jobs") }
            return id
        }
    }

    /// The queued job that holds `keyed`'s unique key, after an insert that conflicted.
    private func queuedJob(_ keyed: KeyedJob, on connection: PostgresConnection) async throws -> Int64? {
        guard let key = keyed.key else { return nil }
        let rows = try await connection.query(
            "SELECT id FROM jobs WHERE unique_key = \(key) AND state = ANY(unique_states)", logger: logger)
        for try await id in rows.decode(Int64.self) { return id }
        return nil
    }

    /// `{1,2}`: an `int8[]` as text, one element of a text array (PostgreSQL has no arrays of
    /// arrays of different lengths).
    private static func arrayLiteral(_ ids: [Int64]) -> String {
        "{" + ids.map(String.init).joined(separator: ",") + "}"
    }

    private static func jsonArray(_ values: [String]) -> String {
        (try? JSONEncoder().encode(values)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }
}
