import CreditDomain
import Foundation
public import Hummingbird
public import JobQueue
public import CreditWorkers

/// A page of `/api/v1/jobs`: newest first, filtered by `state`, `queue`, `kind`, `tag` (repeat
/// for all of several), `meta.KEY=VALUE` and `created_after`/`created_before`, `limit` at a time (1…500, default 50); `before` (a
/// job id) pages on.
struct JobsPage: Codable, Sendable, ResponseEncodable {
    var jobs: [JobRecord]
    /// Pass as `before` for the next page; nil on the last one.
    var nextBefore: Int64?

    /// `blankIsAbsent`: an empty value is no filter — what the /ops form sends for a field left
    /// blank or "all"; the JSON API refuses it like any other value that is not one.
    static func filter(from request: Request, blankIsAbsent: Bool = true) throws -> JobFilter {
        let parameters = request.uri.queryParameters.filter { !blankIsAbsent || !$0.value.isEmpty }
        func value(_ name: String) -> String? { parameters.first { $0.key == name }.map { String($0.value) } }
        var filter = JobFilter()
        if let state = value("state") {
            guard let parsed = JobState(rawValue: state) else {
                throw HTTPError(.badRequest, message: "state: expected one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.state = parsed
        }
        for (name, keyPath) in [("queue", \JobFilter.queue), ("kind", \JobFilter.kind)] {
            if let value = value(name) {
                guard !value.isEmpty, value.count <= 128, !value.contains("\u{0}") else {
                    throw HTTPError(.badRequest, message: "\(name): expected 1 to 128 characters, no NUL")
                }
                filter[keyPath: keyPath] = value
            }
        }
        for (name, value) in parameters where name == "tag" || name.hasPrefix("meta.") {
            let text = String(value)
            guard !text.isEmpty, text.count <= 64, !text.contains("\u{0}"), name.count > 5 || name == "tag" else {
                throw HTTPError(.badRequest, message: "\(name.prefix(40)): expected 1 to 64 characters, no NUL")
            }
            if name == "tag" { filter.tags.append(text) } else { filter.metaMatches[String(name.dropFirst(5))] = text }
        }
        if let text = value("limit") {
            guard let limit = Int(text), (1...500).contains(limit) else { throw HTTPError(.badRequest, message: "limit: expected 1 to 500") }
            filter.limit = limit
        }
        for (name, keyPath) in [("created_after", \JobFilter.createdAfter), ("created_before", \JobFilter.createdBefore)] {
            if let text = value(name) { filter[keyPath: keyPath] = try moment(name, text) }
        }
        if let after = filter.createdAfter, let before = filter.createdBefore, after >= before {
            throw HTTPError(.badRequest, message: "created_after: must be earlier than created_before")
        }
        if let text = value("before") {
            guard let before = Int64(text), before > 0 else { throw HTTPError(.badRequest, message: "before: expected a positive job id") }
            filter.beforeID = before
        }
        return filter
    }

    /// A moment as a script writes it (ISO 8601 with its offset) or as a browser's date-and-time
    /// field sends it (`2026-12-01T08:00`, no offset: Vietnam's time, as `/ops` shows times).
    static func moment(_ name: String, _ text: String) throws -> Date {
        if let date = ISOTime.parse(text) { return date }
        if text.count == 16 || text.count == 19, !text.contains("+"), let date = ISOTime.parse(text + (text.count == 16 ? ":00" : "") + "+07:00") {
            return date
        }
        throw HTTPError(.badRequest, message: "\(name): expected a moment like 2026-12-01T08:00 (Vietnam's time) or 2026-12-01T01:00:00Z")
    }

    /// The parameters of a query string but `message` (a page's own notice is not part of its filter).
    static func filter(query: String) -> [String] {
        query.split(separator: "&").map(String.init).filter { !$0.hasPrefix("message=") && !$0.isEmpty }
    }

    static func load(_ filter: JobFilter, queue: JobQueue) async throws -> JobsPage {
        let jobs = try await queue.jobs(filter)
        return JobsPage(jobs: jobs, nextBefore: jobs.count == filter.limit ? jobs.last?.id : nil)
    }
}

extension JobRecord: ResponseEncodable {}
extension QueueStats: ResponseEncodable {}
extension UnitFigures: ResponseEncodable {}
