/// The level of a Youth Union unit. The tree may skip a level (two-tier provinces have communes
/// directly below them); rules follow the level of a unit, never its depth.
public enum UnitLevel: String, Sendable, Codable, CaseIterable {
    case province
    case district
    case commune
}
