import CreditDomain
import CreditWorkers
import Foundation
import Hummingbird
import JobQueue
import Logging
import PostgresNIO

/// The staff writes from the dashboard: a form for each (GET) and its plain POST. Only an
/// officer may use them, only for a record of a unit within its token's subtree; each write is
/// checked by the same rules as the command line's, CSRF-protected, and recorded in the audit
/// trail. A refused form comes back (422) with each problem next to its field; a saved one
/// returns to the unit's page, which shows the change at once.
struct RecordRoutes {
    let authenticator: Authenticator
    let audit: AuditLog
    let units: UnitLookup
    let client: PostgresClient
    let registry: JobRegistry
    let logger: Logger
    /// Forgotten after each write, so that the pages show it at once.
    let caches: DashboardCaches

    /// The form of `kind` for the record `id` of unit `code`.
    static func path(_ kind: RecordKind, unit code: String, id: String) -> String {
        let unit = DashboardPage.path(code)
        let key = escapeHTML(id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? id)
        switch kind {
        case .followup: return "\(unit)/followup/\(key)"
        case .loanCheck: return "\(unit)/loan/\(key)/check"
        case .report: return "\(unit)/report/\(key)"
        case .session: return "\(unit)/session/\(key)"
        }
    }

    private static let routes: [(RecordKind, RouterPath)] = [
        (.followup, "dashboard/:code/followup/:id"), (.loanCheck, "dashboard/:code/loan/:id/check"),
        (.report, "dashboard/:code/report/:id"), (.session, "dashboard/:code/session/:id"),
    ]

    func add(to router: Router<CreditOpsRequestContext>) {
        for (kind, path) in Self.routes {
            router.get(path) { request, context -> Response in
                guard let principal = try await authenticator.optionalPrincipal(of: request, context: context) else {
                    return LoginRoutes.redirectToLogin(request, authenticator)
                }
                return try await handle(kind, request, context, principal, fields: nil)
            }
            router.post(path) { request, context -> Response in
                guard let principal = try await authenticator.optionalPrincipal(of: request, context: context) else {
                    throw HTTPError(.unauthorized, message: "sign in at /login first")
                }
                let fields = try await FormFields.read(request, csrf: principal.csrf)
                return try await handle(kind, request, context, principal, fields: fields)
            }
        }
    }

    /// The form (`fields` nil), or the write of a posted form.
    private func handle(
        _ kind: RecordKind, _ request: Request, _ context: CreditOpsRequestContext, _ principal: Authenticator.Principal, fields: [String: String]?
    ) async throws -> Response {
        let scope = principal.scope
        guard scope.role.writesDomain else {
            throw HTTPError(.forbidden, message: "recording this needs the officer role; this token is a \(scope.role.rawValue)")
        }
        let unit = try await units.unit(code: try context.decodedParameter("code"), scope: scope)
        let key = try context.decodedParameter("id")
        let language = PageLanguage.of(request)
        let texts = language.texts, forms = FormTexts.of(language)
        // A month typed wrong is said next to its field (by the write's rules below); the page
        // itself is drawn for the month it was opened with.
        let typedMonth = fields?["month"].flatMap { $0.count == 7 && CalendarDate(iso: $0 + "-01") != nil ? $0 : nil }
        var subject = try await RecordSubject.load(
            kind, key: key, unit: unit.code, month: typedMonth ?? request.uri.queryParameters["month"].map(String.init),
            defaultName: scope.tokenName, texts: texts, forms: forms, client: client, logger: logger)
        var problems: FieldProblems?
        if let fields {
            do {
                try await write(kind, key: key, unit: unit.code, fields, actor: .init(scope, address: context.address))
                return Response(status: .seeOther, headers: [.location: Self.pageAfterSaving(kind, unit: unit.code)])
            } catch let refused as FieldProblems {
                problems = refused
                for index in subject.fields.indices { subject.fields[index].value = fields[subject.fields[index].name] ?? "" }
            }
        }
        let page = RecordFormPage(
            kind: kind, unitName: unit.name, facts: subject.facts, fields: subject.fields,
            action: Self.path(kind, unit: unit.code, id: key), csrf: principal.csrf ?? "", problems: problems,
            back: DashboardPage.path(unit.code), texts: forms, language: language)
        var response = DashboardServer.html(page.render(), status: problems == nil ? .ok : .unprocessableContent)
        response.headers[.contentLanguage] = language.rawValue
        return response
    }

    private func write(_ kind: RecordKind, key: String, unit: String, _ fields: [String: String], actor: AuditLog.Actor) async throws {
        let today = JobKinds.vietnamToday()
        let writes = RecordWrites(client: client, logger: logger)
        do {
            switch kind {
            case .followup:
                let input = try FollowupOutcomeInput.parse(outcome: fields["outcome"], promisedOn: fields["promised_on"], note: fields["note"])
                try await audit.recording(actor, action: "followup.set", target: "follow-up \(key): \(input.outcome.rawValue)") {
                    try await writes.setOutcome(followup: Int64(key) ?? 0, input, commune: unit)
                }
            case .loanCheck:
                let input = try LoanUseCheckInput.parse(on: fields["on"], today: today)
                try await audit.recording(actor, action: "loan.check", target: "loan \(key.prefix(100)) on \(input.on.iso)") {
                    try await writes.checkLoanUse(loan: key, input, commune: unit)
                }
            case .report:
                let input = try ReportSubmissionInput.parse(on: fields["on"], by: fields["by"], today: today)
                try await audit.recording(actor, action: "report.submit", target: "report obligation \(key) on \(input.on.iso)") {
                    try await writes.submitReport(Int64(key) ?? 0, input, unit: unit)
                }
            case .session:
                let input = try SessionMoveInput.parse(month: fields["month"], to: fields["to"], time: fields["time"], reason: fields["reason"])
                try await audit.recording(actor, action: "session.move", target: "point \(key.prefix(100)) \(input.month.iso.prefix(7)) → \(input.to.iso)") {
                    _ = try await SessionMoves(client: client, registry: registry, logger: logger).move(
                        pointCode: key, month: input.month, to: input.to, time: input.time, reason: input.reason, now: Date())
                }
            }
        } catch let failure as RecordWrites.Failure {
            throw HTTPError(.notFound, message: failure.description)
        } catch let failure as SessionMoves.Failure {
            throw HTTPError(.notFound, message: failure.description)
        }
    }

    /// The unit's page with the banner of what was saved.
    static func pageAfterSaving(_ kind: RecordKind, unit code: String) -> String {
        "/dashboard/\(code.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? code)?saved=\(kind.rawValue)"
    }
}
