import Foundation

/// Text made safe for HTML element content and attribute values.
func escapeHTML(_ text: String) -> String {
    // By UTF-8 byte, not by Character: the five are ASCII, and pages escape thousands of cells,
    // most of which need nothing (returned as they are).
    func special(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "&") || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
    }
    guard text.utf8.contains(where: special) else { return text }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(text.utf8.count + 16)
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "&"): bytes.append(contentsOf: "&amp;".utf8)
        case UInt8(ascii: "<"): bytes.append(contentsOf: "&lt;".utf8)
        case UInt8(ascii: ">"): bytes.append(contentsOf: "&gt;".utf8)
        case UInt8(ascii: "\""): bytes.append(contentsOf: "&quot;".utf8)
        case UInt8(ascii: "'"): bytes.append(contentsOf: "&#39;".utf8)
        default: bytes.append(byte)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// The colours of the dashboards, one place.
enum Palette {
    static let green = "#2e7d32", amber = "#f9a825", orange = "#ef6c00", red = "#c62828", grey = "#9e9e9e"

    /// Coverage: compliant green, 80% or more amber, less red; nothing to inspect grey.
    static func coverage(status: String?, percentage: Double?) -> String {
        switch status {
        case "compliant": green
        case "not_applicable", nil: grey
        default: (percentage ?? 0) >= 80 ? amber : red
        }
    }

    /// The text colour for a badge on `background`: white or near-black, whichever contrasts more
    /// (white on the amber, orange and grey badges fell below WCAG AA's 4.5:1).
    static func text(on background: String) -> String {
        let light = "#ffffff", dark = "#212121"
        return contrast(background, light) >= contrast(background, dark) ? light : dark
    }

    /// WCAG 2.1's contrast ratio of two `#rrggbb` colours.
    static func contrast(_ a: String, _ b: String) -> Double {
        let (x, y) = (luminance(a), luminance(b))
        return (max(x, y) + 0.05) / (min(x, y) + 0.05)
    }

    private static func luminance(_ hex: String) -> Double {
        let value = Int(hex.dropFirst(), radix: 16) ?? 0
        func channel(_ shift: Int) -> Double {
            let c = Double((value >> shift) & 0xff) / 255
            return c <= 0.03928 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4)
        }
        return 0.2126 * channel(16) + 0.7152 * channel(8) + 0.0722 * channel(0)
    }

    /// VBSP's entrustment-fee bands (DOMAIN.md): below 2% green, 2–3% amber, 3–4% orange, 4%+ red.
    static func overdue(ratio: Double?) -> String {
        guard let ratio else { return grey }
        switch ratio * 100 {
        case ..<2: return green
        case ..<3: return amber
        case ..<4: return orange
        default: return red
        }
    }
}
