import CreditDomain
import Testing

/// Fields are trimmed before their rules check them: the quick look at the end bytes must trim
/// exactly what the character-wise one trims.
@Suite struct TrimmingSpacesTests {
    @Test(arguments: [
        ("B1", "B1"),
        (" B1 ", "B1"),
        (" B1\t", "B1"),
        ("\r\nB1\r\n", "B1"),
        ("\u{00A0}Hồ Thị Lan\u{3000}", "Hồ Thị Lan"),
        ("Hồ", "Hồ"),
        ("ổ ", "ổ"),
        ("a b", "a b"),
        ("   ", ""),
        ("", ""),
    ])
    func trimsWhitespaceAtBothEndsOnly(_ field: String, _ trimmed: String) {
        #expect(field.trimmingSpaces == trimmed)
    }
}
