public import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Synchronization

/// A real HTTP server on 127.0.0.1 standing in for an SMS gateway: records every request and
/// answers as the test says.
public final class WebhookSink: Sendable {
    public struct Received: Sendable {
        public var idempotencyKey: String
        public var signature: String
        public var body: Data
        public var at: ContinuousClock.Instant
    }

    /// How to answer one request: status, body, and a delay before answering.
    public struct Answer: Sendable {
        public var status: Int
        public var body: String
        public var delay: Duration

        public init(status: Int = 200, body: String = "", delay: Duration = .zero) {
            self.status = status
            self.body = body
            self.delay = delay
        }
    }

    private let received = Mutex<[Received]>([])
    /// Given the idempotency key and how many times it was seen before this request.
    private let answer: @Sendable (_ key: String, _ seenBefore: Int) -> Answer

    public init(answer: @escaping @Sendable (_ key: String, _ seenBefore: Int) -> Answer = { _, _ in Answer() }) {
        self.answer = answer
    }

    public var requests: [Received] { received.withLock { $0 } }

    /// How many requests carried each key.
    public var countsByKey: [String: Int] {
        Dictionary(requests.map { ($0.idempotencyKey, 1) }, uniquingKeysWith: +)
    }

    /// Runs the server while `body` runs, with the URL to post to.
    public func run<T: Sendable>(_ body: @Sendable (_ url: String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            let key = request.headers[HTTPField.Name("Idempotency-Key")!] ?? ""
            let signature = request.headers[HTTPField.Name("X-CreditOps-Signature")!] ?? ""
            let seenBefore = self.received.withLock { received in
                let before = received.filter { $0.idempotencyKey == key }.count
                received.append(Received(idempotencyKey: key, signature: signature, body: Data(bytes.readableBytesView), at: .now))
                return before
            }
            let answer = self.answer(key, seenBefore)
            if answer.delay > .zero { try? await Task.sleep(for: answer.delay) }
            return Response(status: .init(code: answer.status), body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await app.test(.live) { client in
            try await body("http://127.0.0.1:\(client.port!)/hook")
        }
    }
}
