@testable import CreditWorkers
import Testing

/// The direct load's table of codes: every code found with its id after the table has grown far
/// past its first size, codes that are not there not found, and codes told apart by their bytes.
@Suite struct CodeTableTests {
    @Test func findsEveryCodeAfterGrowingAndNothingElse() {
        var table = CodeTable(expectedCount: 1)
        var refused = 0
        for number in 0..<50_000 where !table.insert("B\(number)", id: Int64(number) * 3) { refused += 1 }
        #expect(refused == 0)
        #expect(table.count == 50_000)
        var wrong = 0
        for number in 0..<50_000 where table.id(of: "B\(number)") != Int64(number) * 3 { wrong += 1 }
        #expect(wrong == 0)
        #expect(table.id(of: "B50000") == nil)
        #expect(table.id(of: "b1") == nil)
        #expect(table.id(of: "") == nil)
    }

    @Test func theSameBytesTwiceAreRefusedAndCanonicallyEqualCodesAreTwo() {
        var table = CodeTable(expectedCount: 4)
        let first = table.insert("TỔ-01", id: 1), again = table.insert("TỔ-01", id: 2)
        #expect(first && !again)
        // "Ổ" as "O", a circumflex and a hook: equal as Swift compares strings, not as PostgreSQL does.
        let decomposed = "TO\u{0302}\u{0309}-01"
        #expect(decomposed == "TỔ-01")
        #expect(table.id(of: decomposed) == nil)
        let other = table.insert(decomposed, id: 3)
        #expect(other)
        #expect(table.id(of: "TỔ-01") == 1)
        #expect(table.id(of: decomposed) == 3)
    }
}
