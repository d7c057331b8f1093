/// How big a synthetic data set `creditops seed` makes (DOMAIN.md "Scale").
public enum SeedProfile: String, Sendable, CaseIterable, Codable {
    /// One province: 9 districts, ~95 communes, ~1,500 groups, ~50,000 borrowers.
    case demo
    /// One large province: 11 districts, ~167 communes, ~2,700 groups, ~108,000 borrowers.
    case province
    /// The whole country: ~700 districts, ~10,500 communes, ~170,000 groups, ~6.8 million borrowers.
    case national

    struct Sizes {
        var provinces: Int
        var districts: Int
        var communes: Int
        var points: Int
        var groups: Int
        var borrowers: Int
    }

    /// Counts for the three-level tree, or for the two-tier one (communes directly under
    /// provinces, merged into fewer, larger communes with more transaction points each).
    func sizes(twoTier: Bool) -> Sizes {
        switch (self, twoTier) {
        case (.demo, false): Sizes(provinces: 1, districts: 9, communes: 95, points: 110, groups: 1_500, borrowers: 50_000)
        case (.demo, true): Sizes(provinces: 1, districts: 0, communes: 32, points: 110, groups: 1_500, borrowers: 50_000)
        case (.province, false): Sizes(provinces: 1, districts: 11, communes: 167, points: 172, groups: 2_700, borrowers: 108_000)
        case (.province, true): Sizes(provinces: 1, districts: 0, communes: 55, points: 172, groups: 2_700, borrowers: 108_000)
        case (.national, false): Sizes(provinces: 63, districts: 700, communes: 10_500, points: 10_800, groups: 170_000, borrowers: 6_800_000)
        case (.national, true): Sizes(provinces: 34, districts: 0, communes: 3_321, points: 10_800, groups: 170_000, borrowers: 6_800_000)
        }
    }
}
