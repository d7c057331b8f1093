import CreditWorkers
import Foundation
import HTTPTypes
import Hummingbird
import JobQueue
import Logging
import PostgresNIO

/// The routes of the operations page. State changes are form POSTs that must carry the session's
/// CSRF value (and are refused when the browser says they come from another site). Operators
/// below the root see their subtree's jobs only, without the queue-wide forms.
struct OpsRoutes {
    let authenticator: Authenticator
    let permissions: Permissions
    let queue: JobQueue
    let registry: JobRegistry
    let audit: AuditLog
    /// What "run now" can enqueue, by name.
    let periodicJobs: [PeriodicJob]
    let recent: RecentResults<OpsOverview>

    /// The root's part of the page, shared for a moment (see ``OpsOverview``).
    private func overview() async throws -> OpsOverview {
        try await recent.value("root") { [self] in
            async let stats = queue.stats()
            async let leader = queue.leader()
            async let events = audit.list(limit: 20)
            async let reminders = reminderCounts()
            async let workers = queue.workers()
            async let scheduled = queue.periodicJobs()
            async let hour = queue.outcomes(.lastHour)
            async let day = queue.outcomes(.lastDay)
            return OpsOverview(
                stats: try await stats, leader: try await leader, audit: try await events, reminders: try await reminders,
                workers: try await workers, periodicJobs: Self.merging(try await scheduled, known: periodicJobs),
                charts: OpsCharts.section(hour: try await hour, day: try await day))
        }
    }

    private func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// The periodic jobs the database has scheduled, and those this deployment knows but has not
    /// scheduled yet (no leader has run), by name.
    static func merging(_ scheduled: [PeriodicJobInfo], known: [PeriodicJob]) -> [PeriodicJobInfo] {
        let names = Set(scheduled.map(\.name))
        let unscheduled = known.filter { !names.contains($0.name) }.map {
            PeriodicJobInfo(name: $0.name, schedule: $0.schedule.description)
        }
        return (scheduled + unscheduled).sorted { $0.name < $1.name }
    }

    /// An operator's action: a refusal or a failure goes back to `page` with its message shown
    /// there (never a bare error page); who may post at all was checked before.
    private func returningWithMessage(to page: String, _ action: () async throws -> Response) async -> Response {
        do {
            return try await action()
        } catch {
            let message = (error as? HTTPError)?.body ?? "the action failed (\(type(of: error))); see the server's log"
            permissions.logger.info("An /ops action was refused", metadata: ["page": "\(page)", "error": "\(String(reflecting: error))"])
            return redirect("\(page)\(page.contains("?") ? "&" : "?")message=\(OpsPage.queryValue(String(message.prefix(500))))")
        }
    }

    /// An operator's principal and the CSRF value its forms carry; nil without credentials.
    private func operatorSession(_ request: Request, _ context: CreditOpsRequestContext) async throws -> (Authenticator.Principal, String)? {
        guard let principal = try await authenticator.optionalPrincipal(of: request, context: context) else { return nil }
        try Permissions.requireOperator(principal.scope)
        return (principal, principal.csrf ?? "")
    }

    /// A form POST's principal, checked for the role and, for a session, the CSRF value.
    private func formPrincipal(_ request: Request, _ context: CreditOpsRequestContext) async throws -> (Authenticator.Principal, [String: String]) {
        let principal = try await authenticator.principal(of: request, context: context)
        try Permissions.requireOperator(principal.scope)
        let fields = try await FormFields.read(request, csrf: principal.csrf)
        return (principal, fields)
    }

    /// Notifications of the last 30 days by state (what reached people, what failed, what
    /// expired, what was withheld from people who opted out), and `late`: sent after their day.
    private func reminderCounts() async throws -> [String: Int] {
        let rows = try await queue.client.query("""
            SELECT state::text, count(*)::int8 FROM notifications WHERE created_at > now() - interval '30 days' GROUP BY 1
            UNION ALL
            SELECT 'late', count(*)::int8 FROM notifications WHERE created_at > now() - interval '30 days' AND late AND state = 'sent'
            """, logger: permissions.logger)
        var counts: [String: Int] = [:]
        for try await (state, count) in rows.decode((String, Int64).self) { counts[state] = Int(count) }
        return counts
    }

    func add(to router: Router<CreditOpsRequestContext>) {
        router.get("ops") { request, context -> Response in
            if let exchange = try await DashboardServer.exchangeTokenForSession(request, context, authenticator, audit) { return exchange }
            guard let (principal, csrf) = try await operatorSession(request, context) else { return LoginRoutes.redirectToLogin(request, authenticator) }
            var filter = try await permissions.visibleJobs(try JobsPage.filter(from: request), principal.scope)
            let query = request.uri.queryParameters["q"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
            var message = request.uri.queryParameters["message"].map(String.init)
            if let query {
                let search = try OpsSearch.parse(query)
                if case .job(let id) = search {
                    // A job the operator may see opens; any other id is as good as unknown.
                    if let job = try? await queue.job(id: id), (try? await permissions.requireVisible(job, principal.scope)) != nil {
                        return redirect("/ops/jobs/\(id)")
                    }
                    message = "Không tìm thấy công việc \(id)."
                }
                filter = search.narrowing(filter)
            }
            async let jobs = queue.jobs(filter)
            let overview = principal.scope.isRoot ? try await overview() : nil
            let html = OpsPage.overview(
                overview, jobs: try await jobs, filter: filter, kinds: registry.kinds, csrf: csrf, message: message,
                runnable: Set(periodicJobs.map(\.name)), scope: principal.scope, search: query)
            return DashboardServer.html(html)
        }
        router.get("ops/live.js") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/javascript; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: OpsPage.liveScript)))
        }
        router.get("ops/jobs/:id") { request, context -> Response in
            guard let (principal, csrf) = try await operatorSession(request, context) else { return LoginRoutes.redirectToLogin(request, authenticator) }
            let job = try await DashboardServer.job(try DashboardServer.jobID(context), queue: queue)
            try await permissions.requireVisible(job, principal.scope)
            return DashboardServer.html(OpsPage.job(job, csrf: csrf, message: request.uri.queryParameters["message"].map(String.init)))
        }
        router.post("ops/jobs/:id/:action") { request, context -> Response in
            let (principal, fields) = try await formPrincipal(request, context)
            let id = try DashboardServer.jobID(context)
            let action = try context.decodedParameter("action")
            guard ["retry", "cancel"].contains(action) else { throw HTTPError(.notFound, message: "unknown job action") }
            return await returningWithMessage(to: "/ops/jobs/\(id)") {
                if action == "cancel", fields["confirm"] != "yes" {
                    let job = try await DashboardServer.job(id, queue: queue)
                    try await permissions.requireVisible(job, principal.scope)
                    return DashboardServer.html(OpsPage.confirm(
                        question: "Hủy công việc \(id) (\(job.kind))? Việc đang chạy sẽ được báo dừng; việc đã hủy có thể chạy lại sau.",
                        button: "Hủy công việc \(id)", action: "/ops/jobs/\(id)/cancel", csrf: principal.csrf ?? "", back: "/ops/jobs/\(id)"))
                }
                return try await audit.recordingHTTP(principal, context, action: "job.\(action)", target: "job \(id)") {
                    try await JobActions(queue: queue, permissions: permissions).apply(action, to: id, scope: principal.scope)
                    return redirect("/ops/jobs/\(id)")
                }
            }
        }
        router.post("ops/queues/:queue/:action") { request, context -> Response in
            let (principal, fields) = try await formPrincipal(request, context)
            let name = try context.decodedParameter("queue")
            let action = try context.decodedParameter("action")
            guard ["pause", "resume"].contains(action) else { throw HTTPError(.notFound, message: "unknown queue action") }
            return await returningWithMessage(to: "/ops") {
                if action == "pause", fields["confirm"] != "yes" {
                    try Permissions.requireRootOperator(principal.scope, for: "pausing and resuming queues")
                    return DashboardServer.html(OpsPage.confirm(
                        question: "Tạm dừng hàng đợi \(name)? Các việc đang chạy sẽ chạy xong; không việc mới nào của hàng đợi này bắt đầu cho đến khi tiếp tục.",
                        button: "Tạm dừng \(name)", action: "/ops/queues/\(OpsPage.queryValue(name))/pause", csrf: principal.csrf ?? "", back: "/ops"))
                }
                return try await audit.recordingHTTP(principal, context, action: "queue.\(action)", target: "queue \(name.prefix(128))") {
                    try Permissions.requireRootOperator(principal.scope, for: "pausing and resuming queues")
                    try await QueueActions(queue: queue, registry: registry).apply(action, to: name)
                    return redirect("/ops")
                }
            }
        }
        router.post("ops/periodic/:name/run") { request, context -> Response in
            let (principal, _) = try await formPrincipal(request, context)
            let name = try context.decodedParameter("name")
            return await returningWithMessage(to: "/ops") {
                try await audit.recordingHTTP(principal, context, action: "periodic.run-now", target: "periodic job \(name.prefix(128))") {
                    try Permissions.requireRootOperator(principal.scope, for: "running a periodic job now")
                    guard let periodic = periodicJobs.first(where: { $0.name == name }) else {
                        throw HTTPError(.notFound, message: "no periodic job \(name.prefix(128)) in this deployment")
                    }
                    // Its job for a period starting now, outside the schedule: the schedule's own periods stay as they were.
                    let id = try await queue.enqueue(try periodic.makeJob(Date()))
                    return redirect("/ops/jobs/\(id)")
                }
            }
        }
        router.post("ops/bulk/:action") { request, context -> Response in
            let (principal, fields) = try await formPrincipal(request, context)
            guard let action = BulkAction(rawValue: try context.decodedParameter("action")) else {
                throw HTTPError(.notFound, message: "unknown bulk action: retry, cancel or delete")
            }
            let query = request.uri.query.map { String($0) } ?? ""
            let back = "/ops" + (query.isEmpty ? "" : "?" + query)
            return await returningWithMessage(to: back) {
                var filter = try JobsPage.filter(from: request)
                if let text = request.uri.queryParameters["q"].map(String.init), !text.isEmpty {
                    let search = try OpsSearch.parse(text)
                    if case .job = search { throw HTTPError(.badRequest, message: "a bulk action needs a filter, not one job's id") }
                    filter = search.narrowing(filter)
                }
                filter = try await permissions.visibleJobs(filter, principal.scope)
                let count = try await queue.count(filter)
                let verb = ["retry": "Chạy lại", "cancel": "Hủy", "delete": "Xóa"][action.rawValue] ?? action.rawValue
                guard fields["confirm"] == "yes" else {
                    let which = action == .delete ? " (chỉ những việc đã kết thúc)" : action == .retry ? " (những việc bị loại, đã hủy, chờ thử lại hoặc hẹn giờ)" : " (những việc chưa kết thúc)"
                    return DashboardServer.html(OpsPage.confirm(
                        question: "\(count) công việc khớp bộ lọc \(query.removingPercentEncoding ?? query). \(verb) tất cả\(which)?",
                        button: "\(verb) \(count) công việc", action: "/ops/bulk/\(action.rawValue)\(query.isEmpty ? "" : "?" + query)",
                        csrf: principal.csrf ?? "", back: back))
                }
                let changed = try await audit.recordingHTTP(
                    principal, context, action: "jobs.bulk-\(action.rawValue)", target: "filter \(query.prefix(300)): \(count) matching"
                ) {
                    try await queue.bulk(action, matching: filter)
                }
                var page = JobsPage.filter(query: query)
                page.append("message=\(OpsPage.queryValue("\(verb): \(changed) trong \(count) công việc khớp bộ lọc."))")
                return redirect("/ops?" + page.joined(separator: "&"))
            }
        }
        router.post("ops/jobs") { request, context -> Response in
            let (principal, fields) = try await formPrincipal(request, context)
            return await returningWithMessage(to: "/ops") {
                try await audit.recordingHTTP(principal, context, action: "job.enqueue", target: "") {
                    try Permissions.requireRootOperator(principal.scope, for: "enqueueing")
                    let kind = fields["kind"] ?? "", args = fields["args"].flatMap { $0.isEmpty ? nil : $0 } ?? "{}"
                    do {
                        try registry.validate(kind: kind, argsJSON: args)
                    } catch {
                        throw HTTPError(.badRequest, message: "\(error)")
                    }
                    let defaults = registry.defaults(for: kind)
                    let queueName = fields["queue"].flatMap { $0.isEmpty ? nil : $0 } ?? defaults?.queue ?? "default"
                    guard QueueName.isValid(queueName) else {
                        throw HTTPError(.badRequest, message: "queue: 1 to 128 ASCII letters, digits, '_', '-' and '.' only")
                    }
                    guard try await QueueActions.knownQueues(queue, registry).contains(queueName) else {
                        throw HTTPError(.badRequest, message: "queue: unknown queue \(queueName)")
                    }
                    let id = try await queue.enqueue(NewJob(kind: kind, argsJSON: args, queue: queueName, maxAttempts: defaults?.maxAttempts ?? 20))
                    return redirect("/ops/jobs/\(id)")
                }
            }
        }
    }
}
