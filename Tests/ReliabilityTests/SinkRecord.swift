import Foundation
import TestSupport

/// What the gateway received, read as its operator would: per idempotency key, and per message
/// a recipient would see once the gateway has de-duplicated by key.
struct SinkRecord {
    let requests: [WebhookSink.Received]
    let byKey: [String: [WebhookSink.Received]]

    init(_ sink: WebhookSink) {
        requests = sink.requests.sorted { $0.at < $1.at }
        byKey = Dictionary(grouping: requests, by: \.idempotencyKey)
    }

    /// How the keys that reached the sink differ from the outbox's, briefly; nil when they agree.
    func difference(from outbox: Set<String>) -> String? {
        let missing = outbox.subtracting(byKey.keys), unexpected = Set(byKey.keys).subtracting(outbox)
        guard !missing.isEmpty || !unexpected.isEmpty else { return nil }
        return "\(missing.count) outbox keys never reached the sink (\(missing.sorted().prefix(3).joined(separator: ", "))); "
            + "\(unexpected.count) keys reached it that the outbox lacks (\(unexpected.sorted().prefix(3).joined(separator: ", ")))"
    }

    /// Requests beyond the first of their key.
    var repeatedRequests: Int { requests.count - byKey.count }

    /// Messages a recipient would get twice even though the gateway de-duplicates by key: a repeat
    /// whose body differs from the first request of its key, or one message (same phone, same
    /// text) sent under two keys.
    var doublesAfterDeduplication: Int {
        let changedRepeats = byKey.values.reduce(0) { total, received in
            total + received.dropFirst().filter { $0.body != received[0].body }.count
        }
        var seen = Set<String>()
        var sameMessageTwice = 0
        for received in byKey.values {
            guard let object = try? JSONSerialization.jsonObject(with: received[0].body) as? [String: Any] else { continue }
            let message = "\(object["recipient_phone"] ?? "")\u{1}\(object["text"] ?? "")"
            if !seen.insert(message).inserted { sameMessageTwice += 1 }
        }
        return changedRepeats + sameMessageTwice
    }

    /// The longest time the gateway went without a request between the first and the last.
    var longestSilence: Duration {
        zip(requests, requests.dropFirst()).map { $1.at - $0.at }.max() ?? .zero
    }
}
