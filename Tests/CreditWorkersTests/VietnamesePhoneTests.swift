import CreditDomain
import Testing

/// Numbers as staff type them in spreadsheets, to the one form everything compares.
@Suite struct VietnamesePhoneTests {
    @Test(arguments: [
        ("0912345678", "+84912345678"),
        ("0912 345 678", "+84912345678"),
        ("0912.345.678", "+84912345678"),
        ("0912-345-678", "+84912345678"),
        ("+84 912 345 678", "+84912345678"),
        ("+84912345678", "+84912345678"),
        ("84912345678", "+84912345678"),
        (" 0387654321 ", "+84387654321"),
        ("(+84) 387 654 321", "+84387654321"),
        // The 11-digit numbers retired in 2018, to the numbers that replaced them.
        ("01689123456", "+84389123456"),
        ("0162 123 4567", "+84321234567"),
        ("01203456789", "+84703456789"),
        ("01213456789", "+84793456789"),
        ("01233456789", "+84833456789"),
        ("+84 1689 123 456", "+84389123456"),
        ("01863456789", "+84563456789"),
        ("01993456789", "+84593456789"),
    ])
    func normalises(_ typed: String, _ e164: String) throws {
        #expect(try VietnamesePhone(typed).e164 == e164)
    }

    @Test func zaloTakesTheNumberWithoutThePlus() throws {
        #expect(try VietnamesePhone("0912345678").zaloForm == "84912345678")
    }

    @Test(arguments: [
        ("091234567", "wrong number of digits"),
        ("09123456789", "wrong number of digits"),
        ("0241234567", "not a Vietnamese mobile number"),
        ("02438234567", "not a Vietnamese mobile number (a landline"),
        ("0112345678", "not a Vietnamese mobile number"),
        ("0912345abc", "not a phone number"),
        ("+1 415 555 0100", "not a Vietnamese mobile number"),
        ("0912+345678", "not a phone number"),
        ("912345678", "wrong number of digits"),
    ])
    func refuses(_ typed: String, _ reason: String) {
        let error = #expect(throws: VietnamesePhone.Problem.self) { try VietnamesePhone(typed) }
        #expect(error?.description.contains(reason) == true, "\(typed): \(error?.description ?? "")")
        #expect(error?.description.contains("'\(typed)'") == true)
    }
}
