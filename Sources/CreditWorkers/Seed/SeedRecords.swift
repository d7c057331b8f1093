import CreditDomain

/// Draws the records of each kind from a ``SeedPlan``, as lazy sequences in the column order of
/// the import files. Each sequence starts its random stream afresh when iterated, so the same
/// seed always gives the same rows.
struct SeedRecords {
    let plan: SeedPlan
    let seed: UInt64
    let asOf: CalendarDate

    func units() -> AnySequence<[String]> {
        AnySequence(plan.units.lazy.map { unit in
            [unit.code, unit.name, unit.level.rawValue, unit.parent.map { plan.units[$0].code } ?? "",
             unit.contactName, unit.contactPhone]
        })
    }

    func points() -> AnySequence<[String]> {
        AnySequence(plan.points.lazy.map { point in
            [point.code, plan.units[plan.communes[point.commune].unit].code, String(point.sessionDay),
             point.sessionTime, point.location]
        })
    }

    func groups() -> AnySequence<[String]> {
        AnySequence(plan.groups.lazy.map { group in
            let commune = plan.communes[group.commune]
            // Like a real file: the point is left empty where the commune has only one.
            let point = commune.points.count == 1 ? "" : plan.points[group.point].code
            return [group.code, group.name, plan.units[commune.unit].code, group.leaderName, group.leaderPhone, point]
        })
    }

    static func borrowerCode(_ index: Int) -> String { "KH" + (index + 1).zeroPadded(8) }

    /// Borrowers group by group; each group's savings participation follows its commune's.
    func borrowers() -> AnySequence<[String]> {
        let plan = plan, seed = seed
        return AnySequence { () -> AnyIterator<[String]> in
            var random = SeedRandom.stream("borrowers", seed: seed)
            var groupIndex = 0
            var borrower = 0
            return AnyIterator {
                while groupIndex < plan.groups.count, borrower >= plan.groups[groupIndex].borrowers.upperBound {
                    groupIndex += 1
                }
                guard groupIndex < plan.groups.count else { return nil }
                let group = plan.groups[groupIndex]
                defer { borrower += 1 }
                let saves = random.chance(plan.communes[group.commune].savingsParticipation)
                let savings = saves ? random.int(5...500) * 10_000 : 0
                return [Self.borrowerCode(borrower), VietnameseNames.person(&random), group.code,
                        random.chance(0.85) ? VietnameseNames.phone(&random) : "", String(savings)]
            }
        }
    }

    static let programs: [(name: String, weight: Int, maximum: Int)] = [
        ("Cho vay hộ nghèo", 30, 100), ("Cho vay hộ cận nghèo", 20, 100), ("Cho vay hộ mới thoát nghèo", 12, 100),
        ("Cho vay học sinh, sinh viên", 10, 40), ("Cho vay giải quyết việc làm", 14, 100),
        ("Cho vay nước sạch và vệ sinh môi trường nông thôn", 10, 20), ("Cho vay nhà ở xã hội", 4, 500),
    ]

    /// About 1.15 loans per borrower. Most loans are current; those past due are repaid except a
    /// share set by the commune's overdue rate; some were disbursed in the last weeks (loan-use
    /// checks due).
    func loans() -> AnySequence<[String]> {
        let plan = plan, seed = seed, today = asOf.daysSinceEpoch
        let totalWeight = Self.programs.reduce(0) { $0 + $1.weight }
        return AnySequence { () -> AnyIterator<[String]> in
            var random = SeedRandom.stream("loans", seed: seed)
            var groupIndex = 0
            var borrower = 0
            var loansLeft = -1
            var loanNumber = 0
            return AnyIterator {
                if loansLeft == 0 {
                    borrower += 1
                    loansLeft = -1
                }
                while groupIndex < plan.groups.count, borrower >= plan.groups[groupIndex].borrowers.upperBound {
                    groupIndex += 1
                }
                guard groupIndex < plan.groups.count else { return nil }
                if loansLeft < 0 { loansLeft = random.chance(0.15) ? 2 : 1 }
                loansLeft -= 1
                loanNumber += 1
                var roll = random.int(0...(totalWeight - 1))
                var program = Self.programs[0]
                for entry in Self.programs {
                    if roll < entry.weight {
                        program = entry
                        break
                    }
                    roll -= entry.weight
                }
                let principal = random.int(5...program.maximum) * 1_000_000
                let termDays = random.int(36...60) * 365 / 12
                let overdueRate = plan.communes[plan.groups[groupIndex].commune].overdueRate
                let disbursed: Int
                let outstanding: Int
                if random.chance(overdueRate) {
                    let due = today - random.int(1...400)
                    disbursed = due - termDays
                    outstanding = principal * random.int(30...100) / 100 / 1000 * 1000
                } else {
                    disbursed = today - random.int(0...(5 * 365))
                    let elapsed = Double(today - disbursed) / Double(termDays)
                    outstanding = elapsed >= 1 ? 0 : Int(Double(principal) * (1 - elapsed * 0.6)) / 1000 * 1000
                }
                return ["HD" + loanNumber.zeroPadded(8), Self.borrowerCode(borrower), program.name, String(principal),
                        String(outstanding), CalendarDate(daysSinceEpoch: disbursed).iso,
                        CalendarDate(daysSinceEpoch: disbursed + termDays).iso]
            }
        }
    }

    /// A year of inspections (1 January to the as-of day) with gaps: each commune checks nearly
    /// all its groups, each district ceil(15%) of every commune's groups in most communes, each
    /// province one group in most districts (or 15% of each commune's groups when two-tier).
    func inspections() -> AnySequence<[String]> {
        let plan = plan, seed = seed
        let start = CalendarDate(year: asOf.year, month: 1, day: 1).daysSinceEpoch
        let days = max(0, asOf.daysSinceEpoch - start)
        return AnySequence { () -> AnyIterator<[String]> in
            var random = SeedRandom.stream("inspections", seed: seed)
            var number = 0
            var pending: [[String]] = []
            var checks = Self.groupChecks(plan: plan, random: &random).makeIterator()
            return AnyIterator {
                if pending.isEmpty, let (inspector, groupIndex) = checks.next() {
                    number += 1
                    let group = plan.groups[groupIndex]
                    let code = "KT\(asOf.year)-\(number.zeroPadded(7))"
                    let date = CalendarDate(daysSinceEpoch: start + random.int(0...days)).iso
                    // Now and then a check stops at four borrowers: not complete.
                    let wanted = random.chance(0.03) ? 4 : 5
                    let checked = min(wanted, group.borrowers.count)
                    let offset = random.int(0...(group.borrowers.count - checked))
                    pending = (0..<checked).reversed().map { k in
                        [code, plan.units[inspector].code, date, group.code,
                         Self.borrowerCode(group.borrowers.lowerBound + offset + k)]
                    }
                }
                return pending.popLast()
            }
        }
    }

    /// (inspecting unit, group) pairs, in an order that does not depend on the rows drawn later.
    private static func groupChecks(plan: SeedPlan, random: inout SeedRandom) -> [(Int, Int)] {
        var checks: [(Int, Int)] = []
        for commune in plan.communes where !commune.groups.isEmpty {
            // Most communes check every group; some miss one or two, a few fall well short.
            let diligence = random.chance(0.65) ? 1.0 : (random.chance(0.6) ? 0.93 : 0.7)
            for group in commune.groups where random.chance(diligence) {
                checks.append((commune.unit, group))
            }
            // The unit above applies the district rule to its communes (D2; D4 when two-tier).
            let needed = Int((0.15 * Double(commune.groups.count)).rounded(.up))
            let done = random.chance(0.88) ? needed : needed - 1
            let parent = plan.units[commune.unit].parent!
            for group in commune.groups.shuffled(using: &random).prefix(max(0, done)) {
                checks.append((parent, group))
            }
        }
        for district in plan.districts where random.chance(0.85) {
            let communes = plan.communes.filter { plan.units[$0.unit].parent == district && !$0.groups.isEmpty }
            if let commune = communes.isEmpty ? nil : random.pick(communes) {
                checks.append((plan.units[district].parent!, random.int(commune.groups.lowerBound...(commune.groups.upperBound - 1))))
            }
        }
        return checks
    }

    /// The yearly report of every district for last year (submitted) and this year (mostly
    /// submitted once due), and every commune's quarterly reports of this year due so far.
    func reports() -> AnySequence<[String]> {
        var rows: [[String]] = []
        var random = SeedRandom.stream("reports", seed: seed)
        for district in plan.districts {
            let code = plan.units[district].code
            let lastDue = CalendarDate(year: asOf.year - 1, month: 11, day: 15)
            rows.append(["BC-NAM", code, lastDue.iso, lastDue.adding(days: -random.int(0...10)).iso])
            let due = CalendarDate(year: asOf.year, month: 11, day: 15)
            let submitted = due <= asOf ? random.chance(0.8) : random.chance(0.2)
            let submittedOn = submitted ? min(asOf, due.adding(days: random.int(-12...3))).iso : ""
            rows.append(["BC-NAM", code, due.iso, submittedOn])
        }
        for commune in plan.communes {
            for month in [3, 6, 9, 12] {
                let due = CalendarDate(year: asOf.year, month: month, day: 25)
                guard due.daysSinceEpoch <= asOf.daysSinceEpoch + 92 else { continue }
                let submitted = due <= asOf && random.chance(0.93)
                let submittedOn = submitted ? due.adding(days: random.int(-5...6)).iso : ""
                rows.append([Seeder.quarterlyReport.code, plan.units[commune.unit].code, due.iso,
                             submittedOn > asOf.iso ? asOf.iso : submittedOn])
            }
        }
        return AnySequence(rows)
    }
}
