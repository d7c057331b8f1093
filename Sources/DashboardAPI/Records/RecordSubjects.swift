import CreditDomain
import CreditWorkers
import Hummingbird
import Logging
import PostgresNIO

/// What a staff form is about, read for the page: the facts shown above the form and the
/// fields' current values. Only a record of the page's own unit is found, whatever its id.
struct RecordSubject {
    var facts: [(label: String, value: String)]
    var fields: [RecordFormPage.Field]

    static func load(_ kind: RecordKind, key: String, unit: String, month: String?, defaultName: String, texts: DashboardTexts,
                     forms: FormTexts, client: PostgresClient, logger: Logger) async throws -> RecordSubject {
        let today = JobKinds.vietnamToday()
        switch kind {
        case .followup:
            let id = try Self.id(key)
            for try await (loan, borrower, group, outstanding, due, step, outcome, promised, note) in try await client.query("""
                SELECT l.code, b.name, g.name, l.outstanding, l.due_on::text, f.overdue_days::int8, f.outcome::text, f.promised_on::text, f.note
                FROM followups f JOIN loans l ON l.id = f.loan_id JOIN borrowers b ON b.id = l.borrower_id JOIN groups g ON g.id = b.group_id
                JOIN units c ON c.id = g.commune_id
                WHERE f.id = \(id) AND c.code = \(unit)
                """, logger: logger).decode((String, String, String, Int64, String, Int64, String?, String?, String).self) {
                let options = FollowupOutcomeInput.Outcome.allCases.map { ($0.rawValue, texts.outcomes[$0.rawValue] ?? $0.rawValue) }
                return RecordSubject(
                    facts: [("loan", loan), ("borrower", borrower), ("group", group), ("outstanding", texts.money(Int(outstanding))),
                            ("due", CalendarDate(iso: due).map(texts.date) ?? due), ("step", texts.step(Int(step)))],
                    fields: [
                        .init(name: "outcome", control: .select(options), value: outcome ?? "", required: true),
                        .init(name: "promised_on", control: .text(inputMode: "numeric"), value: promised ?? "", required: false),
                        .init(name: "note", control: .textarea, value: note, required: false),
                    ])
            }
            throw HTTPError(.notFound, message: "follow-up \(id) is not one of \(unit)'s")
        case .loanCheck:
            for try await (loan, borrower, group, program, disbursed, checked) in try await client.query("""
                SELECT l.code, b.name, g.name, l.program, l.disbursed_on::text, l.use_checked_on::text
                FROM loans l JOIN borrowers b ON b.id = l.borrower_id JOIN groups g ON g.id = b.group_id JOIN units c ON c.id = g.commune_id
                WHERE l.code = \(key) AND c.code = \(unit)
                """, logger: logger).decode((String, String, String, String, String, String?).self) {
                var facts = [("loan", loan), ("borrower", borrower), ("group", group), ("program", program),
                             ("disbursed", CalendarDate(iso: disbursed).map(texts.date) ?? disbursed)]
                if let checked { facts.append(("checked", CalendarDate(iso: checked).map(texts.date) ?? checked)) }
                return RecordSubject(facts: facts, fields: [
                    .init(name: "on", control: .text(inputMode: "numeric"), value: today.iso, required: false),
                ])
            }
            throw HTTPError(.notFound, message: "loan \(key.prefix(100)) is not one of \(unit)'s")
        case .report:
            let id = try Self.id(key)
            for try await (report, period, due, unitName, submitted, by) in try await client.query("""
                SELECT t.name, o.period, o.due_on::text, u.name, o.submitted_on::text, o.submitted_by
                FROM report_obligations o JOIN report_types t ON t.id = o.report_type_id JOIN units u ON u.id = o.unit_id
                WHERE o.id = \(id) AND u.code = \(unit)
                """, logger: logger).decode((String, String, String, String, String?, String).self) {
                var facts = [("report", report), ("period", period), ("unit", unitName), ("deadline", CalendarDate(iso: due).map(texts.date) ?? due)]
                if let submitted { facts.append(("submittedOn", forms.reportSubmitted(CalendarDate(iso: submitted).map(texts.date) ?? submitted, by))) }
                return RecordSubject(facts: facts, fields: [
                    .init(name: "on", control: .text(inputMode: "numeric"), value: submitted ?? today.iso, required: false),
                    .init(name: "by", control: .text(inputMode: nil), value: by.isEmpty ? defaultName : by, required: true),
                ])
            }
            throw HTTPError(.notFound, message: "report obligation \(id) is not one of \(unit)'s")
        case .session:
            let month = month ?? String(today.iso.prefix(7))
            guard month.count == 7, let first = CalendarDate(iso: month + "-01") else {
                throw HTTPError(.badRequest, message: "month: expected YYYY-MM, got '\(month.prefix(20))'")
            }
            for try await (point, place, commune, on, time, reason) in try await client.query("""
                SELECT p.code, p.location, c.name,
                       coalesce(o.session_on, (\(first.iso)::date + (least(p.session_day,
                           extract(day FROM (\(first.iso)::date + interval '1 month' - interval '1 day'))::int) - 1)))::text,
                       to_char(coalesce(o.session_time, p.session_time), 'HH24:MI'), o.reason
                FROM points p JOIN units c ON c.id = p.commune_id
                LEFT JOIN point_session_overrides o ON o.point_id = p.id AND o.month = \(first.iso)::date
                WHERE p.code = \(key) AND c.code = \(unit)
                """, logger: logger).decode((String, String, String, String, String, String?).self) {
                let current = (CalendarDate(iso: on).map(texts.date) ?? on) + " \(time)" + (reason.map { " (\(forms.sessionMoved($0)))" } ?? "")
                return RecordSubject(
                    facts: [("point", point), ("place", place.isEmpty ? commune : "\(place), \(commune)"), ("current", current)],
                    fields: [
                        .init(name: "month", control: .text(inputMode: "numeric"), value: month, required: true),
                        .init(name: "to", control: .text(inputMode: "numeric"), value: on, required: true),
                        .init(name: "time", control: .text(inputMode: "numeric"), value: "", required: false),
                        .init(name: "reason", control: .text(inputMode: nil), value: reason ?? "", required: false),
                    ])
            }
            throw HTTPError(.notFound, message: "transaction point \(key.prefix(100)) is not one of \(unit)'s")
        }
    }

    private static func id(_ key: String) throws -> Int64 {
        guard let id = Int64(key), id > 0 else { throw HTTPError(.badRequest, message: "id: expected a positive number, got '\(key.prefix(20))'") }
        return id
    }
}
