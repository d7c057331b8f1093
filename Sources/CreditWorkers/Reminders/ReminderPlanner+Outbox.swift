import CreditDomain
import Foundation
import JobQueue
import PostgresNIO

/// Writing planned reminders: numbers to E.164, opted-out numbers recorded and skipped, several
/// reminders of one kind to one unit's contact folded into one digest, one delivery job per
/// message, all on the caller's transaction.
extension ReminderPlanner {
    struct Written {
        var created = 0
        var alreadyPlanned = 0
        var withoutPhone = 0
        var optedOut = 0
        var digests = 0
    }

    /// Writes outbox rows and their delivery jobs, due when the sending window next opens after
    /// `now`, on the caller's transaction. Returns how many messages are new.
    func write(_ candidates: [Candidate], day: CalendarDate, now: Date, on connection: PostgresConnection) async throws -> Int {
        let window = try await sendingWindow(on: connection)
        return try await write(candidates, day: day, deliverAfter: window.earliestDelivery(atOrAfter: now.timeIntervalSince1970),
                               late: false, on: connection).created
    }

    func write(_ candidates: [Candidate], day: CalendarDate, deliverAfter: Double, late: Bool,
               on connection: PostgresConnection) async throws -> Written {
        var written = Written()
        var reachable: [Candidate] = []
        for var candidate in candidates {
            guard let phone = try? VietnamesePhone(candidate.phone) else {
                if !candidate.phone.trimmingSpaces.isEmpty {
                    logger.warning("Not a Vietnamese mobile number: nothing sent", metadata: [
                        "reminder": "\(candidate.key)", "unit": "\(candidate.unitCode)"])
                }
                written.withoutPhone += 1
                continue
            }
            candidate.phone = phone.e164
            reachable.append(candidate)
        }
        let optedOut = try await optedOutPhones(among: Set(reachable.map(\.phone)), on: connection)
        let inserted = try await insert(reachable, states: reachable.map { optedOut.contains($0.phone) ? "opted_out" : "pending" },
                                        day: day, deliverAfter: deliverAfter, late: late, on: connection)
        written.alreadyPlanned = reachable.count - inserted.count
        written.optedOut = inserted.filter { $0.state == "opted_out" }.count
        let new = inserted.filter { $0.state == "pending" }

        // Read only when something could be digested: most runs of most planners have nothing.
        let settings = new.contains { $0.candidate.digest != nil }
            ? try await digestSettings(on: connection) : (kinds: [], maxItems: 0, sender: "")
        var singles: [(id: Int64, candidate: Candidate)] = []
        var groups: [String: [(id: Int64, candidate: Candidate)]] = [:]
        var groupOrder: [String] = []
        for (id, candidate, _) in new {
            guard let entry = candidate.digest, settings.kinds.contains(candidate.kind) else {
                singles.append((id, candidate))
                continue
            }
            let group = "\(candidate.kind)|\(candidate.phone)|\(entry.topic)"
            if groups[group] == nil { groupOrder.append(group) }
            groups[group, default: []].append((id, candidate))
        }
        var messages = singles.map { (id: $0.id, unitCode: $0.candidate.unitCode) }
        // Every digest of the run in one statement, and every item folded in one more: a
        // national morning has tens of thousands of them.
        var digests: [Candidate] = []
        var itemsByKey: [String: [Int64]] = [:]
        for group in groupOrder {
            guard let items = groups[group] else { continue }
            guard items.count > 1 else {
                messages.append((items[0].id, items[0].candidate.unitCode))
                continue
            }
            let first = items[0].candidate, entry = first.digest!
            let digest = Candidate(
                key: "digest:\(first.kind):\(day.iso):\(first.phone):\(items[0].id)", kind: first.kind, name: first.name, phone: first.phone,
                unitID: entry.unitID, unitCode: entry.unitCode,
                text: ReminderTexts.digest(sender: settings.sender, topic: entry.topic, lines: items.compactMap { $0.candidate.digest?.line },
                                           maxItems: settings.maxItems, late: late),
                expiresAt: items.map(\.candidate.expiresAt).min()!)
            digests.append(digest)
            itemsByKey[digest.key] = items.map(\.id)
        }
        let insertedDigests = try await insert(digests, states: digests.map { _ in "pending" }, day: day, deliverAfter: deliverAfter, late: late,
                                        on: connection)
        var folds: (digests: [Int64], items: [Int64]) = ([], [])
        for (id, digest, _) in insertedDigests {
            for item in itemsByKey[digest.key] ?? [] {
                folds.digests.append(id)
                folds.items.append(item)
            }
            messages.append((id, digest.unitCode))
        }
        if !folds.items.isEmpty {
            var binds = PostgresBindings()
            binds.append(folds.digests, context: .default)
            binds.append(folds.items, context: .default)
            try await connection.query(PostgresQuery(unsafeSQL: PlannerSQL.foldIntoDigests, binds: binds), logger: logger)
        }
        written.digests = insertedDigests.count
        messages.sort { $0.id < $1.id }
        // Each delivery carries its unit, so an operator of a district sees its own.
        let jobs = messages.map {
            NewJob(kind: Self.deliveryKind, argsJSON: #"{"notification":\#($0.id)}"#, queue: Self.queue,
                   runAt: Date(timeIntervalSince1970: deliverAfter), maxAttempts: 25, meta: ["unit": $0.unitCode])
        }
        if !jobs.isEmpty { _ = try await jobQueue.enqueue(batch: jobs, on: connection) }
        written.created = messages.count
        return written
    }

    private func optedOutPhones(among phones: Set<String>, on connection: PostgresConnection) async throws -> Set<String> {
        guard !phones.isEmpty else { return [] }
        var binds = PostgresBindings()
        binds.append(Array(phones), context: .default)
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT phone FROM recipient_opt_outs WHERE phone = ANY($1::text[])", binds: binds), logger: logger)
        var found: Set<String> = []
        for try await phone in rows.decode(String.self) { found.insert(phone) }
        return found
    }

    private func digestSettings(on connection: PostgresConnection) async throws -> (kinds: Set<String>, maxItems: Int, sender: String) {
        let rows = try await connection.query("SELECT digest_kinds, digest_max_items, sender_name FROM reminder_settings", logger: logger)
        for try await (kinds, maxItems, sender) in rows.decode(([String], Int, String).self) { return (Set(kinds), maxItems, sender) }
        return ([], 5, "Đoàn Thanh niên")
    }

    /// The rows that are new, with the candidate each came from, in the order written.
    private func insert(_ candidates: [Candidate], states: [String], day: CalendarDate, deliverAfter: Double, late: Bool,
                        on connection: PostgresConnection) async throws -> [(id: Int64, candidate: Candidate, state: String)] {
        guard !candidates.isEmpty else { return [] }
        var binds = PostgresBindings()
        binds.append(candidates.map(\.key), context: .default)
        binds.append(candidates.map(\.kind), context: .default)
        binds.append(candidates.map(\.name), context: .default)
        binds.append(candidates.map(\.phone), context: .default)
        binds.append(candidates.map(\.unitID), context: .default)
        binds.append(candidates.map(\.unitCode), context: .default)
        binds.append(candidates.map(\.text), context: .default)
        binds.append(day.iso)
        binds.append(deliverAfter)
        binds.append(candidates.map(\.expiresAt), context: .default)
        let plain = candidates.map { SMSText.withoutDiacritics($0.text) }
        binds.append(plain, context: .default)
        binds.append(candidates.map { SMSText.segments($0.text).count }, context: .default)
        binds.append(plain.map { SMSText.segments($0).count }, context: .default)
        binds.append(states, context: .default)
        binds.append(late)
        var byKey: [String: Candidate] = [:]
        for candidate in candidates { byKey[candidate.key] = candidate }
        var created: [(id: Int64, candidate: Candidate, state: String)] = []
        let rows = try await connection.query(PostgresQuery(unsafeSQL: PlannerSQL.insertNotifications, binds: binds), logger: logger)
        for try await (id, key, state) in rows.decode((Int64, String, String).self) {
            if let candidate = byKey[key] { created.append((id, candidate, state)) }
        }
        return created.sorted { $0.id < $1.id }
    }
}
