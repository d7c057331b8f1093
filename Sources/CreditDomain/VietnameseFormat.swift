/// Numbers and money as Vietnamese texts write them.
public enum VietnameseFormat {
    /// `1234567` → `1.234.567 đồng` (dots group thousands).
    public static func money(_ amount: Int) -> String {
        "\(grouped(amount)) đồng"
    }

    /// `1234567` → `1.234.567`.
    public static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { result.append(".") }
            result.append(digit)
        }
        return (value < 0 ? "-" : "") + result
    }

    /// `07:30:00` or `07:30` → 450 (minutes after midnight).
    public static func minutes(_ time: String) -> Int? {
        let parts = time.split(separator: ":")
        guard parts.count >= 2, let hour = Int(parts[0]), let minute = Int(parts[1]) else { return nil }
        return hour * 60 + minute
    }

    /// `07:30:00` or `07:30` → `7 giờ 30`.
    public static func clock(_ time: String) -> String {
        let parts = time.split(separator: ":")
        guard parts.count >= 2, let hour = Int(parts[0]), let minute = Int(parts[1]) else { return time }
        return minute == 0 ? "\(hour) giờ" : "\(hour) giờ \(minute < 10 ? "0" : "")\(minute)"
    }
}
