/// What a text costs as SMS: Vietnamese with its diacritics needs UCS-2 (70 characters in one
/// message, 67 a part when split); without them it usually fits GSM-7 (160, 153 a part). Gateways
/// bill per part, so each notification carries both versions and their counts, and the SMS
/// channel chooses by configuration.
public enum SMSText {
    public enum Encoding: String, Sendable, Codable {
        case gsm7 = "GSM-7"
        case ucs2 = "UCS-2"
    }

    /// The text without Vietnamese diacritics: "Đoàn Thanh niên" → "Doan Thanh nien".
    public static func withoutDiacritics(_ text: String) -> String {
        String(text.map { plain[$0] ?? $0 })
    }

    /// The encoding a gateway must use and how many messages the text takes.
    public static func segments(_ text: String) -> (encoding: Encoding, count: Int) {
        var septets = 0
        for character in text {
            if gsmBasic.contains(character) {
                septets += 1
            } else if gsmExtension.contains(character) {
                septets += 2
            } else {
                let units = text.utf16.count
                return (.ucs2, units <= 70 ? 1 : (units + 66) / 67)
            }
        }
        return (.gsm7, septets <= 160 ? 1 : (septets + 152) / 153)
    }

    private static let gsmBasic = Set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
    private static let gsmExtension = Set("^{}\\[~]|€\u{0C}")

    /// Each Vietnamese letter with a mark, and its plain letter.
    private static let plain: [Character: Character] = {
        let groups: [(String, Character)] = [
            ("àáảãạăằắẳẵặâầấẩẫậ", "a"), ("ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ", "A"), ("èéẻẽẹêềếểễệ", "e"), ("ÈÉẺẼẸÊỀẾỂỄỆ", "E"),
            ("ìíỉĩị", "i"), ("ÌÍỈĨỊ", "I"), ("òóỏõọôồốổỗộơờớởỡợ", "o"), ("ÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ", "O"),
            ("ùúủũụưừứửữự", "u"), ("ÙÚỦŨỤƯỪỨỬỮỰ", "U"), ("ỳýỷỹỵ", "y"), ("ỲÝỶỸỴ", "Y"), ("đ", "d"), ("Đ", "D"),
        ]
        var table: [Character: Character] = [:]
        for (marked, letter) in groups {
            for character in marked { table[character] = letter }
        }
        return table
    }()
}
