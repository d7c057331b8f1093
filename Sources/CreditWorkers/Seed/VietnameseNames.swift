/// Parts of realistic Vietnamese names of people and places for synthetic data.
enum VietnameseNames {
    /// Family names with their rough share of the population (Nguyễn about 38%).
    static let familyNames: [(name: String, weight: Int)] = [
        ("Nguyễn", 380), ("Trần", 110), ("Lê", 95), ("Phạm", 70), ("Hoàng", 50), ("Phan", 45), ("Vũ", 39),
        ("Huỳnh", 30), ("Đặng", 21), ("Bùi", 20), ("Võ", 20), ("Đỗ", 14), ("Hồ", 13), ("Ngô", 13),
        ("Dương", 10), ("Lý", 5), ("Đinh", 5), ("Trương", 5), ("Lương", 4), ("Hà", 4),
    ]
    private static let familyTotal = familyNames.reduce(0) { $0 + $1.weight }

    static let maleMiddle = ["Văn", "Văn", "Văn", "Đức", "Minh", "Hữu", "Quang", "Công", "Thành", "Xuân", "Tiến"]
    static let femaleMiddle = ["Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Kim", "Hồng", "Mai", "Bích"]
    static let maleGiven = [
        "An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hiếu", "Hòa", "Hùng", "Huy", "Khánh", "Khoa", "Long",
        "Mạnh", "Nam", "Nghĩa", "Phúc", "Quân", "Sơn", "Tài", "Thắng", "Thành", "Toàn", "Trung", "Tuấn", "Việt", "Vinh",
    ]
    static let femaleGiven = [
        "Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hương", "Huyền", "Lan", "Liên",
        "Linh", "Loan", "Mai", "Nga", "Ngân", "Nhung", "Oanh", "Phương", "Quỳnh", "Tâm", "Thảo", "Thủy", "Trang", "Vân", "Yến",
    ]

    /// Syllables of place names (two make a commune or district name).
    static let placeSyllables = [
        "Yên", "Sơn", "Hòa", "Bình", "An", "Phú", "Thịnh", "Lạc", "Đông", "Tây", "Nam", "Bắc", "Tân", "Thanh",
        "Xuân", "Hưng", "Long", "Mỹ", "Vĩnh", "Quang", "Đức", "Thuận", "Lộc", "Phước", "Hà", "Trung", "Kim",
        "Ngọc", "Minh", "Thái", "Hồng", "Cẩm", "Hải", "Lâm", "Tiên", "Vân", "Châu", "Định", "Khánh", "Hiệp",
        "Phong", "Thủy", "Lương", "Đồng", "Hợp", "Tiến", "Quý", "Cát", "Thạch", "Gia",
    ]

    /// The 63 provinces before the 2025 merger, and the 34 after it.
    static let provinces63 = [
        "An Giang", "Bà Rịa - Vũng Tàu", "Bắc Giang", "Bắc Kạn", "Bạc Liêu", "Bắc Ninh", "Bến Tre", "Bình Định",
        "Bình Dương", "Bình Phước", "Bình Thuận", "Cà Mau", "Cần Thơ", "Cao Bằng", "Đà Nẵng", "Đắk Lắk", "Đắk Nông",
        "Điện Biên", "Đồng Nai", "Đồng Tháp", "Gia Lai", "Hà Giang", "Hà Nam", "Hà Nội", "Hà Tĩnh", "Hải Dương",
        "Hải Phòng", "Hậu Giang", "Hòa Bình", "Hưng Yên", "Khánh Hòa", "Kiên Giang", "Kon Tum", "Lai Châu",
        "Lâm Đồng", "Lạng Sơn", "Lào Cai", "Long An", "Nam Định", "Nghệ An", "Ninh Bình", "Ninh Thuận", "Phú Thọ",
        "Phú Yên", "Quảng Bình", "Quảng Nam", "Quảng Ngãi", "Quảng Ninh", "Quảng Trị", "Sóc Trăng", "Sơn La",
        "Tây Ninh", "Thái Bình", "Thái Nguyên", "Thanh Hóa", "Thừa Thiên Huế", "Tiền Giang", "Hồ Chí Minh",
        "Trà Vinh", "Tuyên Quang", "Vĩnh Long", "Vĩnh Phúc", "Yên Bái",
    ]
    static let provinces34 = [
        "Hà Nội", "Huế", "Lai Châu", "Điện Biên", "Sơn La", "Lạng Sơn", "Quảng Ninh", "Thanh Hóa", "Nghệ An",
        "Hà Tĩnh", "Cao Bằng", "Tuyên Quang", "Lào Cai", "Thái Nguyên", "Phú Thọ", "Bắc Ninh", "Hưng Yên",
        "Hải Phòng", "Ninh Bình", "Quảng Trị", "Đà Nẵng", "Quảng Ngãi", "Gia Lai", "Khánh Hòa", "Lâm Đồng",
        "Đắk Lắk", "Hồ Chí Minh", "Đồng Nai", "Tây Ninh", "Cần Thơ", "Vĩnh Long", "Đồng Tháp", "Cà Mau", "An Giang",
    ]

    static func person(_ random: inout SeedRandom) -> String {
        var roll = random.int(0...(familyTotal - 1))
        var family = familyNames[0].name
        for entry in familyNames {
            if roll < entry.weight {
                family = entry.name
                break
            }
            roll -= entry.weight
        }
        if random.chance(0.5) {
            return "\(family) \(random.pick(maleMiddle)) \(random.pick(maleGiven))"
        }
        return "\(family) \(random.pick(femaleMiddle)) \(random.pick(femaleGiven))"
    }

    static func place(_ random: inout SeedRandom) -> String {
        let first = random.pick(placeSyllables)
        var second = random.pick(placeSyllables)
        while second == first { second = random.pick(placeSyllables) }
        return "\(first) \(second)"
    }

    /// In E.164, as an import stores it.
    static func phone(_ random: inout SeedRandom) -> String {
        let prefixes = ["90", "91", "93", "94", "96", "97", "98", "86", "88", "32", "35", "38", "70", "77", "81"]
        return "+84" + random.pick(prefixes) + String(random.int(1_000_000...9_999_999))
    }
}
