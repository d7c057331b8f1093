import CreditWorkers
import Foundation
import Testing

/// README's receiver check, run as written with the system's python3 against signatures made by
/// the webhook channel's own code: the example a gateway's developer copies must work.
@Suite struct ReceiverExampleTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("README.md")

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "python3 is not installed"))
    func theReadmesPythonCheckAcceptsARealSignatureAndRefusesForgeries() throws {
        let text = try String(contentsOf: Self.readme, encoding: .utf8)
        guard let start = text.range(of: "```python\n"), let end = text.range(of: "```", range: start.upperBound..<text.endIndex) else {
            Issue.record("README has no python block")
            return
        }
        let example = String(text[start.upperBound..<end.lowerBound])
        let body = Data(#"{"idempotency_key":"overdue:L1:2026-11-30:1:leader"}"#.utf8)
        let now = Int64(Date().timeIntervalSince1970)
        let cases: [(String, String, Bool)] = [
            (WebhookSignature.header(body: body, secret: "s3cret", time: now), "s3cret", true),
            (WebhookSignature.header(body: body, secret: "s3cret", time: now), "other", false),
            (WebhookSignature.header(body: body, secret: "s3cret", time: now - 3600), "s3cret", false),
            (WebhookSignature.header(body: body + Data(" ".utf8), secret: "s3cret", time: now), "s3cret", false),
        ]
        for (header, secret, accepted) in cases {
            let script = example + "\nimport sys\nsys.exit(0 if verify(sys.argv[1], sys.argv[2].encode(), sys.argv[3]) else 3)\n"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = ["-c", script, header, String(decoding: body, as: UTF8.self), secret]
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == (accepted ? 0 : 3), "\(header) with \(secret)")
        }
    }
}
