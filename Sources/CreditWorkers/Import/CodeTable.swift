/// The ids of a table's rows by their codes, which match only byte for byte, as PostgreSQL
/// compares them (Swift's `String ==` is canonical: "Ổ" as one character equals "Ô" and a
/// combining hook).
///
/// A direct load of the national loans looks up 7.8 M codes among 6.8 M borrowers while the
/// import's core bounds the load. In a `Dictionary` of `String`s the lookups (SipHash, then a
/// canonical and a byte comparison) were 13 % of the seed's CPU and the table took ~400 MB. Here
/// the codes lie end to end in one byte array, found by open addressing on a seeded FNV-1a hash of
/// their bytes.
struct CodeTable {
    /// Every code's bytes, end to end.
    private var bytes: [UInt8] = []
    /// Where each code starts in `bytes`, and one more: code `i` ends where `i + 1` starts.
    private var starts: [Int] = [0]
    private var ids: [Int64] = []
    /// A code's index + 1, or 0 where no code is; a power of two long, at most half full.
    private var slots: [Int32]
    /// Against codes made to collide: a stored table's codes come from files staff import.
    private let seed = UInt64.random(in: 0...UInt64.max)

    init(expectedCount: Int) {
        slots = Array(repeating: 0, count: max(16, (2 * max(expectedCount, 1)).nextPowerOfTwo))
        bytes.reserveCapacity(expectedCount * 12)
        starts.reserveCapacity(expectedCount + 1)
        ids.reserveCapacity(expectedCount)
    }

    var count: Int { ids.count }

    /// Adds `code` with its id; false, adding nothing, if the same bytes are there already.
    mutating func insert(_ code: String, id: Int64) -> Bool {
        if 2 * (ids.count + 1) > slots.count { grow() }
        var code = code
        return code.withUTF8 { key in
            let mask = slots.count - 1
            var slot = hash(key) & mask
            while slots[slot] != 0 {
                if holds(Int(slots[slot]) - 1, key) { return false }
                slot = (slot + 1) & mask
            }
            slots[slot] = Int32(ids.count + 1)
            bytes.append(contentsOf: key)
            starts.append(bytes.count)
            ids.append(id)
            return true
        }
    }

    /// The id of the code with exactly these bytes.
    func id(of code: String) -> Int64? {
        var code = code
        return code.withUTF8 { key in
            let mask = slots.count - 1
            var slot = hash(key) & mask
            // Ends at an empty slot at the latest: at most half the slots hold a code.
            while true {
                let entry = Int(slots[slot])
                if entry == 0 { return nil }
                if holds(entry - 1, key) { return ids[entry - 1] }
                slot = (slot + 1) & mask
            }
        }
    }

    private func holds(_ entry: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = starts[entry], end = starts[entry + 1]
        return end - start == key.count && bytes[start..<end].elementsEqual(key)
    }

    private func hash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        var hash = 0xcbf2_9ce4_8422_2325 ^ seed
        for byte in key { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        // FNV's low bits, which pick the slot, mix poorly: fold the high ones in.
        return Int(truncatingIfNeeded: hash ^ (hash >> 31))
    }

    private mutating func grow() {
        var larger = [Int32](repeating: 0, count: 2 * slots.count)
        let mask = larger.count - 1
        bytes.withUnsafeBufferPointer { all in
            for entry in ids.indices {
                let key = UnsafeBufferPointer(rebasing: all[starts[entry]..<starts[entry + 1]])
                var slot = hash(key) & mask
                while larger[slot] != 0 { slot = (slot + 1) & mask }
                larger[slot] = Int32(entry + 1)
            }
        }
        slots = larger
    }
}

private extension Int {
    /// The least power of two not below this (which is positive).
    var nextPowerOfTwo: Int { 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount) }
}
