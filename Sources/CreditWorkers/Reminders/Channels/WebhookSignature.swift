import Crypto
public import Foundation

/// The webhook's signature: `t=UNIX_SECONDS,v1=HEX`, where HEX is the lowercase hex HMAC-SHA256 of
/// `"{t}.{body}"` with the shared secret. The time inside the signed text lets a receiver refuse
/// a request replayed later; README "Reminders" shows a receiver's check.
public enum WebhookSignature {
    public static func header(body: Data, secret: String, time: Int64) -> String {
        "t=\(time),v1=" + hex(body: body, secret: secret, time: time)
    }

    /// What a receiver does: the header parses, the time is within `tolerance` of `now`, and the
    /// code matches (compared in constant time).
    public static func verify(header: String, body: Data, secret: String, now: Int64, tolerance: Int64 = 300) -> Bool {
        var fields: [Substring: Substring] = [:]
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[pair[0]] = pair[1] }
        }
        guard let timeText = fields["t"], let time = Int64(timeText), let given = fields["v1"] else { return false }
        // Any Int64 may arrive: the difference must not overflow.
        let (age, overflowed) = now.subtractingReportingOverflow(time)
        guard !overflowed, age.magnitude <= tolerance.magnitude else { return false }
        let expected = hex(body: body, secret: secret, time: time)
        guard given.utf8.count == expected.utf8.count else { return false }
        return zip(given.utf8, expected.utf8).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func hex(body: Data, secret: String, time: Int64) -> String {
        var signed = Data("\(time).".utf8)
        signed.append(body)
        let code = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
        return code.map { String(format: "%02x", $0) }.joined()
    }
}
