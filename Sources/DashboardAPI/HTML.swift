/// Text made safe for HTML element content and attribute values.
func escapeHTML(_ text: String) -> String {
    var result = ""
    result.reserveCapacity(text.utf8.count)
    for character in text {
        switch character {
        case "&": result += "&amp;"
        case "<": result += "&lt;"
        case ">": result += "&gt;"
        case "\"": result += "&quot;"
        case "'": result += "&#39;"
        default: result.append(character)
        }
    }
    return result
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
