/// A Vietnamese mobile number in E.164 (`+84912345678`): the one form the outbox, the opt-out
/// list and the gateways compare, however the number was typed in a spreadsheet.
public struct VietnamesePhone: Sendable, Hashable, CustomStringConvertible {
    /// `+84` and the nine digits of the subscriber number.
    public let e164: String

    public var description: String { e164 }

    /// Without the plus (`84912345678`), as Zalo's API takes it.
    public var zaloForm: String { String(e164.dropFirst()) }

    /// Why a text is not a Vietnamese mobile number.
    public enum Problem: Error, Equatable, CustomStringConvertible {
        case notDigits(String)
        case wrongLength(String)
        case notMobile(String)

        public var description: String {
            switch self {
            case .notDigits(let text): "'\(text)' is not a phone number (only digits, spaces, dots, dashes and a leading + are allowed)"
            case .wrongLength(let text): "'\(text)' has the wrong number of digits for a Vietnamese mobile number (0 and 9 digits, or +84 and 9 digits)"
            case .notMobile(let text): "'\(text)' is not a Vietnamese mobile number (a landline, 02…, or a prefix no mobile network uses)"
            }
        }
    }

    /// The prefixes of the 11-digit numbers retired in 2018, mapped to the 10-digit ones that
    /// replaced them (Ministry of Information and Communications, Circular 22/2014, conversion of
    /// 15 September – 15 November 2018). A number typed from an old list still reaches its owner.
    public static let retiredPrefixes: [String: String] = [
        // Viettel
        "162": "32", "163": "33", "164": "34", "165": "35", "166": "36", "167": "37", "168": "38", "169": "39",
        // MobiFone
        "120": "70", "121": "79", "122": "77", "126": "76", "128": "78",
        // VinaPhone
        "123": "83", "124": "84", "125": "85", "127": "81", "129": "82",
        // Vietnamobile and Gmobile
        "186": "56", "188": "58", "199": "59",
    ]

    /// The two first digits after the country code that a mobile network uses today.
    static let mobilePrefixes: Set<String> = [
        "32", "33", "34", "35", "36", "37", "38", "39",
        "52", "55", "56", "58", "59",
        "70", "76", "77", "78", "79",
        "81", "82", "83", "84", "85", "86", "87", "88", "89",
        "90", "91", "92", "93", "94", "96", "97", "98", "99",
    ]

    /// `retiredPrefixes` and `mobilePrefixes` by the prefixes' digits as a number ("162" → 162),
    /// for reading numbers by bytes.
    private static let retiredByNumber: [Int: [UInt8]] = Dictionary(uniqueKeysWithValues: retiredPrefixes.map {
        (Int($0.key)!, Array($0.value.utf8))
    })
    private static let isMobileByNumber: [Bool] = mobilePrefixes.reduce(into: Array(repeating: false, count: 100)) {
        $0[Int($1)!] = true
    }

    /// Reads `0912 345 678`, `0912.345.678`, `+84 912 345 678`, `84912345678`, and the retired
    /// `01689 123 456` (→ `+84389123456`).
    public init(_ text: String) throws(Problem) {
        let trimmed = text.trimmingSpaces
        // Bytes, not characters or strings: every allowed one is ASCII, and a national import
        // reads millions of numbers (by characters, about 8 % of the national seed's CPU time in
        // `perf`; by bytes but then as strings, 12 %).
        var digits: [UInt8] = []
        digits.reserveCapacity(12)
        var plus = false
        for byte in trimmed.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits.append(byte)
            // A plus before the first digit only: "+84 …" and "(+84) …".
            case UInt8(ascii: "+") where digits.isEmpty && !plus:
                plus = true
            case UInt8(ascii: " "), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "("), UInt8(ascii: ")"):
                continue
            default:
                throw .notDigits(text)
            }
        }
        let zero = UInt8(ascii: "0")
        let startsWith84 = digits.count >= 2 && digits[0] == UInt8(ascii: "8") && digits[1] == UInt8(ascii: "4")
        var national: ArraySlice<UInt8>
        if trimmed.utf8.drop(while: { $0 == UInt8(ascii: "(") }).first == UInt8(ascii: "+") {
            guard startsWith84 else { throw .notMobile(text) }
            national = digits.dropFirst(2)
        } else if startsWith84 && (digits.count == 11 || digits.count == 12) {
            national = digits.dropFirst(2)
        } else if digits.first == zero {
            national = digits.dropFirst()
        } else {
            throw .wrongLength(text)
        }
        // A landline (02x and 8 digits) reaches neither an SMS nor Zalo.
        if national.first == UInt8(ascii: "2") { throw .notMobile(text) }
        func number(_ prefix: ArraySlice<UInt8>) -> Int { prefix.reduce(0) { $0 * 10 + Int($1 - zero) } }
        if national.count == 10, let new = Self.retiredByNumber[number(national.prefix(3))] {
            national = ArraySlice(new + national.dropFirst(3))
        }
        guard national.count == 9 else { throw .wrongLength(text) }
        guard Self.isMobileByNumber[number(national.prefix(2))] else { throw .notMobile(text) }
        e164 = "+84" + String(decoding: national, as: UTF8.self)
    }
}

extension String {
    /// The text without whitespace at either end.
    public var trimmingSpaces: String {
        // Almost every field of an import has none: its end bytes, printable ASCII, say so without
        // the Unicode property lookups of a character-wise look (1.7 % of the national seed's CPU).
        if let first = utf8.first, let last = utf8.last, (0x21..<0x80).contains(first), (0x21..<0x80).contains(last) {
            return self
        }
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
