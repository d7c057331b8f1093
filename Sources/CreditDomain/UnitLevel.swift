/// The level of a Youth Union unit. The tree may skip a level (two-tier provinces have communes
/// directly below them); rules follow the level of a unit, never its depth.
public enum UnitLevel: String, Sendable, Codable, CaseIterable, Comparable {
    case province
    case district
    case commune

    private var rank: Int {
        switch self {
        case .province: 0
        case .district: 1
        case .commune: 2
        }
    }

    public static func < (lhs: UnitLevel, rhs: UnitLevel) -> Bool {
        lhs.rank < rhs.rank
    }
}
