import CreditDomain
import CreditWorkers
import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// A unit's dashboard pages: its HTML page, its action lists and its downloads.
struct DashboardRoutes {
    let authenticator: Authenticator
    let audit: AuditLog
    let client: PostgresClient
    /// The replica while it is close enough behind (``ReadReplica``), else `client`.
    let reads: @Sendable () -> ReadReplica.Source
    let logger: Logger
    let secureCookies: Bool
    let caches: DashboardCaches

    func add(to router: Router<CreditOpsRequestContext>) {
        let authenticator = authenticator, audit = audit, client = client, reads = reads, logger = logger, secureCookies = secureCookies, caches = caches
        router.get("dashboard/:code") { request, context -> Response in
            if let exchange = try await DashboardServer.exchangeTokenForSession(request, context, authenticator, audit) { return exchange }
            guard let principal = try await authenticator.optionalPrincipal(of: request, context: context) else {
                return LoginRoutes.redirectToLogin(request, authenticator)
            }
            let year = try yearParameter(request)
            let code = try context.decodedParameter("code")
            let saved = request.uri.queryParameters["saved"].flatMap { RecordKind(rawValue: String($0)) }
            let language = PageLanguage.of(request)
            // Right after a write (`saved`), the primary: a replica may not have the write yet.
            let source = saved == nil ? reads() : ReadReplica.Source(primary: client)
            let draw: @Sendable () async throws -> String = {
                let (data, lag) = try await source.read { client, lag in
                    (try await DashboardData.load(code: code, scope: principal.scope, year: year, client: client, logger: logger), lag)
                }
                return DashboardPage(
                    figures: data.figures, summary: data.summary, year: year, path: UnitPath(steps: data.summary.path),
                    thisYear: JobKinds.vietnamToday().year, texts: language.texts, commune: data.commune,
                    canWrite: principal.scope.role.writesDomain, saved: saved, trends: data.trends,
                    replicaLagSeconds: lag).render()
            }
            // Right after a write (`saved`), read afresh: another process may have kept the page from before it.
            var response = DashboardServer.html(saved == nil
                ? try await caches.pages.value(DashboardData.pageKey(code: code, scope: principal.scope, year: year, language: language), load: draw)
                : try await draw())
            response.headers[.contentLanguage] = language.rawValue
            if request.uri.queryParameters["lang"] != nil { response.setCookie(language.rememberingCookie(secure: secureCookies)) }
            return response
        }
        router.get("dashboard/:code/:file") { request, context -> Response in
            guard let principal = try await authenticator.optionalPrincipal(of: request, context: context) else {
                return LoginRoutes.redirectToLogin(request, authenticator)
            }
            let file: String = try context.decodedParameter("file")
            let page = ActionList(rawValue: file)
            let download = DashboardExports.parse(file)
            guard page != nil || download != nil else {
                throw HTTPError(.notFound, message: "no such page: \(file.prefix(40)) (children.xlsx, children.csv, and the lists \(ActionList.allCases.map(\.rawValue).joined(separator: ", ")) with .xlsx and .csv)")
            }
            let year = try yearParameter(request)
            let texts = PageLanguage.of(request).texts
            let code = try context.decodedParameter("code")
            let list = page ?? download.flatMap { ActionList(rawValue: $0.table) }
            // A list's rows, or the children's figures for their download.
            let (summary, listed, figures) = try await reads().read { client, _ -> (UnitSummary, ActionList.Rows?, UnitFigures?) in
                let summary = try await UnitSummary.load(code: code, scope: principal.scope, client: client, logger: logger)
                guard let list else {
                    return (summary, nil, try await AggregateReader(client: client, logger: logger).unit(code: summary.unit, year: year))
                }
                let rows = try await list.load(
                    unit: summary.unit, unitName: summary.name, year: year, today: JobKinds.vietnamToday(), texts: texts, now: Date(),
                    client: client, logger: logger)
                return (summary, rows, nil)
            }
            if let list, var rows = listed {
                let sort = try request.uri.queryParameters["sort"].map { text in
                    guard let column = Int(text), rows.table.columns.indices.contains(column) else {
                        throw HTTPError(.badRequest, message: "sort: expected a column number 0…\(rows.table.columns.count - 1), got '\(text.prefix(20))'")
                    }
                    return column
                }
                let descending = request.uri.queryParameters["desc"] == "1"
                if let sort { rows = ActionList.sorted(rows, by: sort, descending: descending) }
                if let download { return try DashboardExports.response(rows.table, format: download.format) }
                return DashboardServer.html(ActionListPage(
                    list: list, rows: rows, unit: summary.unit, unitName: summary.name, year: year, sort: sort, descending: descending,
                    texts: texts).render())
            }
            guard let figures, let format = download?.format else {
                throw HTTPError(.notFound, message: "unit \(summary.unit) has no figures")
            }
            let table = DashboardExports.children(figures, year: year, texts: texts, now: Date())
            return try DashboardExports.response(table, format: format)
        }
    }
}
