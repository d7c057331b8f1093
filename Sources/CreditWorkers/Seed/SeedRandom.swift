/// SplitMix64: small, fast and the same on every machine, so `seed --seed N` makes the same
/// data everywhere. Each part of the data set draws from its own stream (`stream(_:)`), so that
/// adding a field to loans does not change every borrower's name.
struct SeedRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    /// An independent stream for one named part of the data set.
    static func stream(_ name: String, seed: UInt64) -> SeedRandom {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return SeedRandom(seed: seed ^ hash)
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func chance(_ probability: Double) -> Bool {
        Double.random(in: 0..<1, using: &self) < probability
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        Int.random(in: range, using: &self)
    }

    mutating func pick<T>(_ items: [T]) -> T {
        items[Int.random(in: 0..<items.count, using: &self)]
    }

    /// Splits `total` into `parts` counts that vary by about ±`spread` around the mean, each at
    /// least `minimum`, summing to `total` exactly.
    mutating func split(_ total: Int, into parts: Int, spread: Double = 0.35, minimum: Int = 0) -> [Int] {
        guard parts > 0 else { return [] }
        let weights = (0..<parts).map { _ in 1 + Double.random(in: -spread...spread, using: &self) }
        let sum = weights.reduce(0, +)
        let free = max(0, total - minimum * parts)
        var counts = weights.map { minimum + Int((Double(free) * $0 / sum).rounded(.down)) }
        var missing = total - counts.reduce(0, +)
        var index = 0
        while missing > 0 {
            counts[index % parts] += 1
            missing -= 1
            index += 7
        }
        return counts
    }
}
