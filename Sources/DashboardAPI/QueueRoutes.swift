import CreditDomain
import CreditWorkers
import Foundation
import HTTPTypes
import Hummingbird
import JobQueue

/// The JSON API of jobs and queues (`/api/v1/jobs*`, `/api/v1/queues*`): operators only; an
/// operator below the root sees and manages the jobs of its subtree, and queue-wide actions need
/// an operator of the root unit. Every write leaves an audit row, refused ones included.
struct QueueRoutes {
    let authenticator: Authenticator
    let permissions: Permissions
    let queue: JobQueue
    let registry: JobRegistry
    let audit: AuditLog

    func add(to api: RouterGroup<CreditOpsRequestContext>) {
        api.get("jobs") { request, context -> JobsPage in
            let scope = try await authenticator.principal(of: request, context: context).scope
            let filter = try await permissions.visibleJobs(try JobsPage.filter(from: request, blankIsAbsent: false), scope)
            return try await JobsPage.load(filter, queue: queue)
        }
        api.get("jobs/:id") { request, context -> JobRecord in
            let scope = try await authenticator.principal(of: request, context: context).scope
            try Permissions.requireOperator(scope)
            let job = try await DashboardServer.job(try DashboardServer.jobID(context), queue: queue)
            try await permissions.requireVisible(job, scope)
            return job
        }
        api.post("jobs/:id/:action") { request, context -> JobRecord in
            let principal = try await authenticator.principal(of: request, context: context)
            let id = try DashboardServer.jobID(context)
            let action = try context.decodedParameter("action")
            guard ["retry", "cancel"].contains(action) else { throw HTTPError(.notFound, message: "unknown job action \(action.prefix(40)): retry or cancel") }
            return try await audit.recordingHTTP(principal, context, action: "job.\(action)", target: "job \(id)") {
                try Permissions.requireOperator(principal.scope)
                try FormFields.requireCSRF(principal, request)
                try await JobActions(queue: queue, permissions: permissions).apply(action, to: id, scope: principal.scope)
                return try await DashboardServer.job(id, queue: queue)
            }
        }
        api.post("jobs") { request, context -> Response in
            let principal = try await authenticator.principal(of: request, context: context)
            return try await audit.recordingHTTP(principal, context, action: "job.enqueue", target: "") {
                try Permissions.requireRootOperator(principal.scope, for: "enqueueing")
                try FormFields.requireCSRF(principal, request)
                var request = request
                let body = try await request.collectBody(upTo: 256 * 1024)
                let job = try await EnqueueRequest.parse(Data(body.readableBytesView), registry: registry, queue: queue)
                let id: Int64
                do {
                    id = try await queue.enqueue(job)
                } catch let error as QueueError where error.code == .invalidArgument {
                    throw HTTPError(.badRequest, message: error.message)
                }
                let record = try await DashboardServer.job(id, queue: queue)
                return try Response(status: .created, headers: [.location: "/api/v1/jobs/\(id)"], json: record)
            }
        }
        api.get("queues") { request, context -> [QueueStats] in
            let scope = try await authenticator.principal(of: request, context: context).scope
            try Permissions.requireRootOperator(scope, for: "the queue list")
            return try await queue.stats()
        }
        api.post("queues/:name/:action") { request, context -> QueueStats in
            let principal = try await authenticator.principal(of: request, context: context)
            let name = try context.decodedParameter("name")
            let action = try context.decodedParameter("action")
            guard ["pause", "resume"].contains(action) else { throw HTTPError(.notFound, message: "unknown queue action \(action.prefix(40)): pause or resume") }
            return try await audit.recordingHTTP(principal, context, action: "queue.\(action)", target: "queue \(name.prefix(128))") {
                try Permissions.requireRootOperator(principal.scope, for: "pausing and resuming queues")
                try FormFields.requireCSRF(principal, request)
                try await QueueActions(queue: queue, registry: registry).apply(action, to: name)
                guard let stats = try await queue.stats().first(where: { $0.queue == name }) else {
                    throw HTTPError(.notFound, message: "unknown queue \(name)")
                }
                return stats
            }
        }
    }
}

/// Retry and cancel, for the JSON API and the `/ops` forms alike.
struct JobActions {
    let queue: JobQueue
    let permissions: Permissions

    func apply(_ action: String, to id: Int64, scope: AccessScope) async throws {
        let job = try await DashboardServer.job(id, queue: queue)
        try await permissions.requireVisible(job, scope)
        do {
            if action == "retry" { try await queue.retry(jobID: id) } else { _ = try await queue.cancel(jobID: id) }
        } catch let error as QueueError where error.code == .invalidState {
            throw HTTPError(.conflict, message: error.message)
        } catch let error as QueueError where error.code == .notFound {
            throw HTTPError(.notFound, message: error.message)
        }
    }
}

/// Pause and resume, for the JSON API and the `/ops` forms alike: only queues that exist (have
/// jobs, a setting, or a registered kind), so made-up names create neither rows nor metric labels.
struct QueueActions {
    let queue: JobQueue
    let registry: JobRegistry

    func apply(_ action: String, to name: String) async throws {
        guard try await Self.knownQueues(queue, registry).contains(name) else {
            throw HTTPError(.notFound, message: "unknown queue \(name.prefix(128))")
        }
        if action == "pause" { try await queue.pause(queue: name) } else { try await queue.resume(queue: name) }
    }

    static func knownQueues(_ queue: JobQueue, _ registry: JobRegistry) async throws -> Set<String> {
        Set(try await queue.stats().map(\.queue)).union(registry.kinds.compactMap { registry.defaults(for: $0)?.queue })
    }
}

/// `POST /api/v1/jobs`: `{"kind", "args", "queue", "priority", "run_at", "unique_key", "tags",
/// "unique", "depends_on"}`; `unique` is `{"by": "args"|"key", "key", "period_seconds",
/// "states": [finished states that count], "on_conflict": "keep"|"replace_args"|"push_run_at"}`.
enum EnqueueRequest {
    static func parse(_ body: Data, registry: JobRegistry, queue: JobQueue) async throws -> NewJob {
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            throw HTTPError(.badRequest, message: "the body must be a JSON object: {\"kind\": …, \"args\": {…}}")
        }
        let known: Set<String> = ["kind", "args", "queue", "priority", "run_at", "unique_key", "tags", "unique", "depends_on"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw HTTPError(.badRequest, message: "\(unknown.prefix(40)): unknown field (known: \(known.sorted().joined(separator: ", ")))")
        }
        guard let kind = object["kind"] as? String else { throw HTTPError(.badRequest, message: "kind: required, a string") }
        let argsObject = object["args"] ?? [String: Any]()
        guard argsObject is [String: Any], let argsData = try? JSONSerialization.data(withJSONObject: argsObject) else {
            throw HTTPError(.badRequest, message: "args: expected a JSON object")
        }
        let args = String(decoding: argsData, as: UTF8.self)
        do {
            try registry.validate(kind: kind, argsJSON: args)
        } catch {
            throw HTTPError(.badRequest, message: "\(error)")
        }
        let defaults = registry.defaults(for: kind)
        var job = NewJob(kind: kind, argsJSON: args, queue: defaults?.queue ?? "default", maxAttempts: defaults?.maxAttempts ?? 20)
        if let value = object["queue"] {
            guard let name = value as? String else { throw HTTPError(.badRequest, message: "queue: expected a string") }
            guard try await QueueActions.knownQueues(queue, registry).contains(name) else {
                throw HTTPError(.badRequest, message: "queue: unknown queue \(name.prefix(128))")
            }
            job.queue = name
        }
        if let value = object["priority"] {
            guard let priority = value as? Int, (-100...100).contains(priority) else {
                throw HTTPError(.badRequest, message: "priority: expected a whole number within -100...100")
            }
            job.priority = priority
        }
        if let value = object["run_at"] {
            guard let text = value as? String, let date = ISOTime.parse(text) else {
                throw HTTPError(.badRequest, message: "run_at: expected an ISO 8601 time such as 2026-12-01T07:00:00+07:00")
            }
            job.runAt = date
        }
        if let value = object["unique_key"] {
            guard let key = value as? String, !key.isEmpty, key.utf8.count <= 480 else {
                throw HTTPError(.badRequest, message: "unique_key: expected 1 to 480 bytes of text")
            }
            job.uniqueKey = key
        }
        if let value = object["tags"] {
            guard let tags = value as? [String] else { throw HTTPError(.badRequest, message: "tags: expected an array of strings") }
            job.tags = tags
        }
        if let value = object["unique"] {
            guard job.unique == nil else { throw HTTPError(.badRequest, message: "unique: give unique_key or unique, not both") }
            job.unique = try parseUnique(value)
        }
        if let value = object["depends_on"] {
            guard let ids = value as? [Any], ids.allSatisfy({ $0 is Int }) else {
                throw HTTPError(.badRequest, message: "depends_on: expected an array of job ids")
            }
            job.dependsOn = ids.compactMap { ($0 as? Int).map(Int64.init) }
        }
        return job
    }
}

extension EnqueueRequest {
    static func parseUnique(_ value: Any) throws -> UniqueOptions? {
        guard let object = value as? [String: Any] else {
            throw HTTPError(.badRequest, message: "unique: expected an object such as {\"by\": \"args\", \"period_seconds\": 86400}")
        }
        let known: Set<String> = ["by", "key", "period_seconds", "states", "on_conflict"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw HTTPError(.badRequest, message: "unique.\(unknown.prefix(40)): unknown field (known: \(known.sorted().joined(separator: ", ")))")
        }
        func text(_ name: String) throws -> String? {
            guard let value = object[name] else { return nil }
            guard let text = value as? String else { throw HTTPError(.badRequest, message: "unique.\(name): expected a string") }
            return text
        }
        var period: Double?
        if let value = object["period_seconds"] {
            guard let seconds = value as? Double else { throw HTTPError(.badRequest, message: "unique.period_seconds: expected a number") }
            period = seconds
        }
        var states: [String] = []
        if let value = object["states"] {
            guard let names = value as? [String] else { throw HTTPError(.badRequest, message: "unique.states: expected an array of state names") }
            states = names
        }
        do {
            guard let options = try UniqueOptions.parse(
                by: try text("by") ?? "key", key: try text("key"), periodSeconds: period, finishedStates: states, onConflict: try text("on_conflict"))
            else { return nil }
            return options
        } catch let error as QueueError {
            throw HTTPError(.badRequest, message: "unique: \(error.message)")
        }
    }
}

extension AuditLog {
    /// A write through HTTP, recorded under its principal; a refusal keeps its status and message.
    func recordingHTTP<T: Sendable>(
        _ principal: Authenticator.Principal, _ context: CreditOpsRequestContext, action: String, target: String,
        _ body: () async throws -> T
    ) async throws -> T {
        try await recording(.init(principal.scope, address: context.address), action: action, target: target, reason: { error in
            guard let error = error as? HTTPError else { return ": \(error)" }
            return " \(error.status.code): \(error.body ?? "")"
        }, body)
    }
}

extension Response {
    init<T: Encodable>(status: HTTPResponse.Status, headers: HTTPFields = [:], json value: T) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        self.init(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}
