public import CreditDomain
import Foundation

/// What is wrong with one field of a staff write. The command line prints it in English; the
/// dashboard's forms show it, translated, next to the field.
public enum FieldProblem: Sendable, Equatable {
    case missing
    case notADate(String)
    case notAMonth(String)
    case notATime(String)
    case notAnOption(String, options: [String])
    case tooLong(max: Int)
    /// A promised day goes only with the outcome "promised".
    case onlyWhenPromised
    /// A day that has not come yet, for something that has already happened.
    case inTheFuture(CalendarDate)
    /// A session moves within two months of its own month, not to another season.
    case tooFarFromMonth(CalendarDate)

    public var english: String {
        switch self {
        case .missing: "is required"
        case .notADate(let text): "'\(text.prefix(40))' is not a date YYYY-MM-DD"
        case .notAMonth(let text): "'\(text.prefix(40))' is not a month YYYY-MM"
        case .notATime(let text): "'\(text.prefix(40))' is not a time HH:MM"
        case .notAnOption(let text, let options): "'\(text.prefix(40))' is not one of \(options.joined(separator: ", "))"
        case .tooLong(let max): "is longer than \(max) characters"
        case .onlyWhenPromised: "goes only with the outcome promised"
        case .inTheFuture(let day): "\(day.iso) has not come yet"
        case .tooFarFromMonth(let month): "is more than two months from \(month.iso.prefix(7))"
        }
    }
}

/// Every problem of a write's fields at once, so that a form shows them all together.
public struct FieldProblems: Error, Sendable, Equatable, CustomStringConvertible {
    /// In the form's order: field name and what is wrong with it.
    public var problems: [(field: String, problem: FieldProblem)]

    public init(_ problems: [(field: String, problem: FieldProblem)] = []) {
        self.problems = problems
    }

    public subscript(field: String) -> FieldProblem? {
        problems.first { $0.field == field }?.problem
    }

    mutating func add(_ field: String, _ problem: FieldProblem) {
        problems.append((field, problem))
    }

    /// Throws when there is anything to say.
    func check() throws(FieldProblems) {
        if !problems.isEmpty { throw self }
    }

    public var description: String {
        problems.map { "\($0.field): \($0.problem.english)" }.joined(separator: "; ")
    }

    public static func == (lhs: FieldProblems, rhs: FieldProblems) -> Bool {
        lhs.problems.elementsEqual(rhs.problems) { $0.field == $1.field && $0.problem == $1.problem }
    }
}

/// Reading a field the same way wherever it comes from.
enum FieldText {
    /// Nil for an absent or blank field, else the text without surrounding spaces.
    static func given(_ text: String?) -> String? {
        guard let trimmed = text?.trimmingCharacters(in: .whitespacesAndNewlines), !trimmed.isEmpty else { return nil }
        return trimmed
    }

    static func date(_ text: String, _ field: String, _ problems: inout FieldProblems) -> CalendarDate? {
        guard text.count == 10, let day = CalendarDate(iso: text) else {
            problems.add(field, .notADate(text))
            return nil
        }
        return day
    }

    static func limit(_ text: String, _ max: Int, _ field: String, _ problems: inout FieldProblems) {
        if text.count > max { problems.add(field, .tooLong(max: max)) }
    }
}
