import Foundation
import Hummingbird
import JobQueue

/// The search box of `/ops` (`q`): a job's id opens that job; `key=value` or a JSON object finds
/// the jobs whose arguments contain it (`args @> …`); any other text finds the jobs that have it as
/// the value of one of their arguments (a loan or unit code, whatever the key is called).
enum OpsSearch: Equatable {
    case job(Int64)
    case argsContaining(String)
    case argsValue(String)

    static func parse(_ text: String) throws -> OpsSearch {
        let text = text.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty, text.utf8.count <= 500, !text.contains("\u{0}") else {
            throw HTTPError(.badRequest, message: "q: expected 1 to 500 bytes, no NUL")
        }
        if let id = Int64(text), id > 0 { return .job(id) }
        if text.hasPrefix("{") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)), object is [String: Any] else {
                throw HTTPError(.badRequest, message: "q: '\(text.prefix(60))' starts like a JSON object but is not one")
            }
            return .argsContaining(text)
        }
        if let equals = text.firstIndex(of: "="), equals != text.startIndex {
            let key = String(text[..<equals]).trimmingCharacters(in: .whitespaces)
            let value = String(text[text.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
            let json = try JSONSerialization.data(withJSONObject: [key: value], options: [.sortedKeys])
            return .argsContaining(String(decoding: json, as: UTF8.self))
        }
        return .argsValue(text)
    }

    /// `filter` narrowed to the jobs this search finds (a job id is opened instead, never filtered).
    func narrowing(_ filter: JobFilter) -> JobFilter {
        var filter = filter
        switch self {
        case .job: break
        case .argsContaining(let json): filter.argsContaining = json
        case .argsValue(let value): filter.argsValue = value
        }
        return filter
    }
}
