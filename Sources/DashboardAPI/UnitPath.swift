/// The units from a principal's own unit down to the one on the page: the breadcrumb. A viewer
/// never sees a unit above its own. The summary's statement builds it, in the same round trip.
struct UnitPath: Sendable {
    struct Step: Sendable, Equatable, Codable {
        var code: String
        var name: String
    }

    var steps: [Step]
}
