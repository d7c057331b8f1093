import CreditDomain

/// The rule one column of an import file follows. Each rule checks a raw field and gives the
/// text COPY loads into the staging table (nil for NULL), or the reason it is wrong.
///
/// Checks that need only the field happen here, while the file streams; checks that need other
/// rows or the database happen in SQL afterwards, over the whole staging table at once.
public enum ImportField: Sendable {
    /// An identifier: required, no surrounding spaces.
    case code
    /// An identifier of another record that may be left empty.
    case optionalCode
    case requiredText
    case optionalText
    case level
    case date
    case optionalDate
    /// Whole đồng, zero or more.
    case money
    case sessionDay
    case time
    /// A Vietnamese mobile number, stored in E.164 (``VietnamesePhone``); may be left empty.
    case phone

    /// Longest text a field may hold: a name or location is never longer; a longer one is a
    /// broken file (or someone testing us).
    static let maximumLength = 500

    /// The column's type in the staging table.
    var stagingType: String {
        switch self {
        case .code, .optionalCode, .requiredText, .optionalText, .phone: "text"
        case .level: "unit_level"
        case .date, .optionalDate: "date"
        case .money: "bigint"
        case .sessionDay: "smallint"
        case .time: "time"
        }
    }

    enum Checked {
        case value(String?)
        case problem(String)
    }

    // Every field of a national seed passes here (tens of millions): the checks look at bytes
    // where that gives the same answer, and count characters only when the bytes could be too many.
    func check(_ raw: String) -> Checked {
        let bytes = raw.utf8.count
        if bytes > Self.maximumLength, bytes > Self.maximumLength * 4 || raw.count > Self.maximumLength {
            return .problem("longer than \(Self.maximumLength) characters")
        }
        if raw.utf8.withContiguousStorageIfAvailable({ $0.contains(0) }) ?? raw.utf8.contains(0) {
            return .problem("contains a NUL byte")
        }
        switch self {
        case .code, .optionalCode:
            if raw.isEmpty {
                return self == .code ? .problem("is empty") : .value(nil)
            }
            if Self.hasSpacesAround(raw) {
                return .problem("\(quoted(raw)) has spaces around it")
            }
            return .value(raw)
        case .requiredText:
            return Self.isBlank(raw) ? .problem("is empty") : .value(raw)
        case .optionalText:
            return .value(raw)
        case .level:
            return UnitLevel(rawValue: raw) != nil
                ? .value(raw) : .problem("bad level \(quoted(raw)): expected province, district or commune")
        case .date, .optionalDate:
            if raw.isEmpty {
                return self == .date ? .problem("is empty: expected a date YYYY-MM-DD") : .value(nil)
            }
            return Self.isCalendarDate(raw) ? .value(raw) : .problem("bad date \(quoted(raw)): expected a real date YYYY-MM-DD")
        case .money:
            // ASCII digits are one byte and one character each.
            if raw.utf8.first == UInt8(ascii: "-"), bytes > 1, raw.utf8.dropFirst().allSatisfy(Self.isDigit) {
                return .problem("negative money \(quoted(raw)): amounts are whole đồng, 0 or more")
            }
            guard bytes > 0, raw.utf8.allSatisfy(Self.isDigit) else {
                return .problem("bad amount \(quoted(raw)): expected whole đồng, digits only")
            }
            guard bytes <= 15 else {
                return .problem("amount \(quoted(raw)) is too large")
            }
            return .value(raw)
        case .sessionDay:
            guard !raw.isEmpty, raw.count <= 3, raw.allSatisfy(\.isASCIIDigit), let day = Int(raw), (1...31).contains(day) else {
                return .problem("session day \(quoted(raw)) is outside 1–31")
            }
            return .value(String(day))
        case .time:
            return Self.isClockTime(raw) ? .value(raw) : .problem("bad time \(quoted(raw)): expected HH:MM")
        case .phone:
            if Self.isBlank(raw) { return .value("") }
            do {
                return .value(try VietnamesePhone(raw).e164)
            } catch {
                return .problem(error.description)
            }
        }
    }

    private func quoted(_ raw: String) -> String {
        "\"\(raw.count > 40 ? raw.prefix(40) + "…" : raw)\""
    }

    static func isCalendarDate(_ text: String) -> Bool {
        guard text.utf8.count == 10 else { return false }
        return text.utf8.withContiguousStorageIfAvailable(isCalendarDate) ?? isCalendarDate(Array(text.utf8))
    }

    private static func isCalendarDate(_ bytes: some Collection<UInt8>) -> Bool {
        var year = 0, month = 0, day = 0
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 7 {
                guard byte == UInt8(ascii: "-") else { return false }
                continue
            }
            guard isDigit(byte) else { return false }
            let digit = Int(byte &- UInt8(ascii: "0"))
            switch index {
            case 0..<4: year = year * 10 + digit
            case 5..<7: month = month * 10 + digit
            default: day = day * 10 + digit
            }
        }
        guard (1900...2200).contains(year), (1...12).contains(month), day >= 1 else { return false }
        return day <= CalendarDate.daysIn(month: month, year: year)
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    /// A printable ASCII byte other than space: the character it starts (or ends) is no
    /// whitespace, since no grapheme joins such a byte to a whitespace scalar before (or after) it.
    private static func isVisibleASCII(_ byte: UInt8?) -> Bool {
        guard let byte else { return false }
        return (0x21...0x7E).contains(byte)
    }

    static func hasSpacesAround(_ raw: String) -> Bool {
        if isVisibleASCII(raw.utf8.first), isVisibleASCII(raw.utf8.last) { return false }
        return raw.first?.isWhitespace == true || raw.last?.isWhitespace == true
    }

    static func isBlank(_ raw: String) -> Bool {
        if isVisibleASCII(raw.utf8.first) { return false }
        return raw.allSatisfy(\.isWhitespace)
    }

    static func isClockTime(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3,
            parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCIIDigit) }),
            let hour = Int(parts[0]), let minute = Int(parts[1])
        else { return false }
        let second = parts.count == 3 ? Int(parts[2]) ?? 60 : 0
        return hour < 24 && minute < 60 && second < 60
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
