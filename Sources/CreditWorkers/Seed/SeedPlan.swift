import CreditDomain

/// The shape of a synthetic data set: the unit tree, points and groups with how many borrowers
/// each has, and the few figures that vary by unit (overdue rate, savings participation). The
/// records themselves are drawn from it lazily, kind by kind, so that millions of borrowers never
/// sit in memory.
struct SeedPlan {
    struct Unit {
        var code: String
        var name: String
        var level: UnitLevel
        var parent: Int?
        var contactName: String
        var contactPhone: String
    }

    struct Commune {
        var unit: Int
        var name: String
        /// Share of loans overdue: low almost everywhere, high in a few units that should stand out.
        var overdueRate: Double
        var savingsParticipation: Double
        var points: Range<Int>
        var groups: Range<Int>
    }

    struct Point {
        var code: String
        var commune: Int
        var sessionDay: Int
        var sessionTime: String
        var location: String
    }

    struct Group {
        var code: String
        var name: String
        var commune: Int
        var point: Int
        var leaderName: String
        var leaderPhone: String
        var borrowers: Range<Int>
    }

    var units: [Unit] = []
    var communes: [Commune] = []
    var points: [Point] = []
    var groups: [Group] = []
    /// Units that owe the yearly report (districts) and those that inspect (all above communes).
    var districts: [Int] = []
    var provinces: [Int] = []

    init(profile: SeedProfile, twoTier: Bool, seed: UInt64) {
        let sizes = profile.sizes(twoTier: twoTier)
        var random = SeedRandom.stream("structure", seed: seed)
        let provinceNames: [String]
        if profile == .national {
            provinceNames = twoTier ? VietnameseNames.provinces34 : VietnameseNames.provinces63
        } else {
            provinceNames = [twoTier ? "Tuyên Quang" : "Hà Giang"]
        }

        // Parents of communes: districts, or the provinces themselves in a two-tier tree.
        var communeParents: [Int] = []
        var overdueRates: [Double] = []
        for (p, provinceName) in provinceNames.prefix(sizes.provinces).enumerated() {
            let code = "T\((p + 1).zeroPadded(2))"
            provinces.append(units.count)
            units.append(Unit(code: code, name: "Tỉnh đoàn \(provinceName)", level: .province, parent: nil,
                              contactName: VietnameseNames.person(&random), contactPhone: VietnameseNames.phone(&random)))
            if twoTier { communeParents.append(provinces.last!) }
        }
        if !twoTier {
            let perProvince = random.split(sizes.districts, into: provinces.count, spread: 0.3, minimum: 1)
            for (p, province) in provinces.enumerated() {
                for d in 0..<perProvince[p] {
                    let name = VietnameseNames.place(&random)
                    districts.append(units.count)
                    communeParents.append(units.count)
                    units.append(Unit(code: "\(units[province].code)-H\((d + 1).zeroPadded(2))", name: "Huyện đoàn \(name)",
                                      level: .district, parent: province,
                                      contactName: VietnameseNames.person(&random), contactPhone: VietnameseNames.phone(&random)))
                }
            }
        }
        // Most units sit near the national overdue ratio (0.15–0.45%); a few stand out.
        for index in communeParents.indices {
            switch index % 9 {
            case 4 where index % 2 == 0: overdueRates.append(0.025)
            case 7 where index % 3 == 1: overdueRates.append(0.045)
            default: overdueRates.append(Double(random.int(15...45)) / 10_000)
            }
        }

        let communesPerParent = random.split(sizes.communes, into: communeParents.count, spread: 0.3, minimum: 1)
        let pointsPerCommune = random.split(sizes.points - sizes.communes, into: sizes.communes, spread: 1).map { $0 + 1 }
        var groupsPerCommune = random.split(sizes.groups, into: sizes.communes, spread: 0.4)
        // A few communes (new urban wards) have no group at all: not applicable, not failing (D3).
        for index in stride(from: 37, to: groupsPerCommune.count, by: 97) {
            groupsPerCommune[(index + 1) % groupsPerCommune.count] += groupsPerCommune[index]
            groupsPerCommune[index] = 0
        }
        var borrowersPerGroup = random.split(sizes.borrowers, into: sizes.groups, spread: 0.45, minimum: 3)
        // Some groups are small: fewer than 5 borrowers, where a complete check covers all (D1).
        for index in stride(from: 11, to: borrowersPerGroup.count, by: 53) {
            let small = random.int(2...4)
            borrowersPerGroup[(index + 1) % borrowersPerGroup.count] += borrowersPerGroup[index] - small
            borrowersPerGroup[index] = small
        }

        var communeIndex = 0
        var nextBorrower = 0
        for (parentIndex, parent) in communeParents.enumerated() {
            for c in 0..<communesPerParent[parentIndex] {
                let name = VietnameseNames.place(&random)
                let unit = units.count
                let code = "\(units[parent].code)-X\((c + 1).zeroPadded(twoTier ? 3 : 2))"
                units.append(Unit(code: code, name: "Đoàn xã \(name)", level: .commune, parent: parent,
                                  contactName: VietnameseNames.person(&random), contactPhone: VietnameseNames.phone(&random)))
                let firstPoint = points.count
                for k in 0..<pointsPerCommune[communeIndex] {
                    // Days 29–31 happen, and fall on the last day of shorter months (D5).
                    let day = random.chance(0.06) ? random.int(29...31) : random.int(1...28)
                    let location = k == 0 ? "Trụ sở UBND xã \(name)" : "Nhà văn hóa thôn \(VietnameseNames.place(&random))"
                    points.append(Point(code: "\(code)-D\(k + 1)", commune: communeIndex, sessionDay: day,
                                        sessionTime: random.chance(0.7) ? "07:30" : "08:00", location: location))
                }
                let firstGroup = groups.count
                for g in 0..<groupsPerCommune[communeIndex] {
                    let count = borrowersPerGroup[groups.count]
                    let village = VietnameseNames.place(&random)
                    groups.append(Group(code: "\(code)-T\((g + 1).zeroPadded(3))", name: "Tổ TK&VV thôn \(village)",
                                        commune: communeIndex, point: firstPoint + (g % pointsPerCommune[communeIndex]),
                                        leaderName: VietnameseNames.person(&random), leaderPhone: VietnameseNames.phone(&random),
                                        borrowers: nextBorrower..<(nextBorrower + count)))
                    nextBorrower += count
                }
                communes.append(Commune(unit: unit, name: name, overdueRate: overdueRates[parentIndex],
                                        savingsParticipation: Double(random.int(55...95)) / 100,
                                        points: firstPoint..<points.count, groups: firstGroup..<groups.count))
                communeIndex += 1
            }
        }
    }
}
