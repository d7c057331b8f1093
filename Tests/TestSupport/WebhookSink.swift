public import Foundation
import Hummingbird
import HTTPTypes
import Logging
import ServiceLifecycle
import NIOCore
import Synchronization

/// A real HTTP server on 127.0.0.1 standing in for an SMS gateway: records every request and
/// answers as the test says. It can be stopped and started again on the same port, so that a
/// test can take the gateway away (connections refused) and bring it back.
public final class WebhookSink: Sendable {
    public struct Received: Sendable {
        public var idempotencyKey: String
        /// The path and query it was sent to.
        public var uri: String
        public var signature: String
        public var body: Data
        public var at: ContinuousClock.Instant
        /// The status the sink answered with.
        public var status: Int
    }

    /// How to answer one request: status, body, a delay before answering, and a `Location`.
    public struct Answer: Sendable {
        public var status: Int
        public var body: String
        public var delay: Duration
        public var location: String?

        public init(status: Int = 200, body: String = "", delay: Duration = .zero, location: String? = nil) {
            self.status = status
            self.body = body
            self.delay = delay
            self.location = location
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    private struct Log {
        var requests: [Received] = []
        /// Requests per key, kept beside the list so that answering stays O(1) at 50,000 requests.
        var countsByKey: [String: Int] = [:]
    }

    private let log = Mutex(Log())
    private let server = Mutex<(group: ServiceGroup, task: Task<Void, any Error>)?>(nil)
    /// Given the idempotency key and how many times it was seen before this request.
    private let answer: @Sendable (_ key: String, _ seenBefore: Int) -> Answer

    public init(answer: @escaping @Sendable (_ key: String, _ seenBefore: Int) -> Answer = { _, _ in Answer() }) {
        self.answer = answer
    }

    public var requests: [Received] { log.withLock { $0.requests } }
    public var requestCount: Int { log.withLock { $0.requests.count } }

    /// How many requests carried each key.
    public var countsByKey: [String: Int] { log.withLock { $0.countsByKey } }

    /// Runs the server while `body` runs, with the URL to post to.
    public func run<T: Sendable>(_ body: @Sendable (_ url: String) async throws -> T) async throws -> T {
        let url = try await start()
        do {
            let result = try await body(url)
            await stop()
            return result
        } catch {
            await stop()
            throw error
        }
    }

    /// Starts listening on 127.0.0.1, on `port` (0: any free port), and returns the URL to post to.
    public func start(port: Int = 0) async throws -> String {
        let router = Router()
        // GET too: a client that followed a redirect of a POST would come back with a GET.
        @Sendable func record(_ request: Request) async throws -> Response {
            let bytes = try await request.body.collect(upTo: 1 << 20)
            let key = request.headers[HTTPField.Name("Idempotency-Key")!] ?? ""
            let signature = request.headers[HTTPField.Name("X-CreditOps-Signature")!] ?? ""
            let answer = self.log.withLock { log in
                let seenBefore = log.countsByKey[key, default: 0]
                let answer = self.answer(key, seenBefore)
                log.countsByKey[key] = seenBefore + 1
                log.requests.append(Received(
                    idempotencyKey: key, uri: request.uri.description, signature: signature, body: Data(bytes.readableBytesView), at: .now, status: answer.status))
                return answer
            }
            if answer.delay > .zero { try? await Task.sleep(for: answer.delay) }
            var headers = HTTPFields()
            if let location = answer.location { headers[.location] = location }
            return Response(status: .init(code: answer.status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        router.post("/hook") { request, _ in try await record(request) }
        router.get("/hook") { request, _ in try await record(request) }
        let (bound, announce) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in
                announce.yield(channel.localAddress?.port ?? 0)
                announce.finish()
            },
            logger: Logger(label: "webhook-sink") { _ in SwiftLogNoOpLogHandler() })
        // Unstructured so that the test can take the gateway away and back at moments of its
        // choosing; stop() shuts it down gracefully and waits for it. (Cancelling it instead
        // crashed the test process now and then: a connection accepted while the server was torn
        // down left a NIOAsyncWriter unfinished, which NIO traps on.)
        let group = ServiceGroup(configuration: .init(
            services: [app], gracefulShutdownSignals: [], logger: Logger(label: "webhook-sink") { _ in SwiftLogNoOpLogHandler() }))
        let task = Task {
            defer { announce.finish() }
            try await group.run()
        }
        var iterator = bound.makeAsyncIterator()
        guard let listening = await iterator.next() else {
            let outcome = await task.result
            throw Failure(description: "the webhook sink did not start on port \(port): \(outcome)")
        }
        server.withLock { $0 = (group, task) }
        return "http://127.0.0.1:\(listening)/hook"
    }

    /// Stops listening: connections are refused until the next start.
    public func stop() async {
        guard let (group, task) = server.withLock({ server in defer { server = nil }; return server }) else { return }
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}
