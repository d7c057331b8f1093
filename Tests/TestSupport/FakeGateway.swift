public import Foundation
import Hummingbird
import HTTPTypes
import Logging
import ServiceLifecycle
import NIOCore
import Synchronization

/// A real HTTP server on 127.0.0.1 standing in for a service that cannot be reached from here
/// (Zalo's ZNS and OAuth servers, an SMS brandname gateway): records every POST with its path,
/// headers and body, and answers as the test's script says, in the service's documented shapes.
public final class FakeGateway: Sendable {
    public struct Received: Sendable {
        public var path: String
        /// By lowercase name.
        public var headers: [String: String]
        public var body: Data

        /// The body as a JSON object (empty when it is not one).
        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        }

        /// The body as an HTML form's fields.
        public var form: [String: String] {
            var fields: [String: String] = [:]
            for item in URLComponents(string: "?" + String(decoding: body, as: UTF8.self))?.queryItems ?? [] {
                fields[item.name] = item.value ?? ""
            }
            return fields
        }
    }

    public struct Answer: Sendable {
        public var status: Int
        public var body: String

        public init(status: Int = 200, body: String) {
            self.status = status
            self.body = body
        }
    }

    private let log = Mutex<[Received]>([])
    private let server = Mutex<(group: ServiceGroup, task: Task<Void, any Error>)?>(nil)
    /// Given the request and the requests before it on the same path.
    private let answer: @Sendable (_ request: Received, _ earlierOnPath: Int) -> Answer

    public init(answer: @escaping @Sendable (_ request: Received, _ earlierOnPath: Int) -> Answer) {
        self.answer = answer
    }

    public var requests: [Received] { log.withLock { $0 } }

    public func requests(to path: String) -> [Received] { requests.filter { $0.path == path } }

    /// Runs the server while `body` runs, with its base URL (`http://127.0.0.1:PORT`).
    public func run<T: Sendable>(_ body: @Sendable (_ baseURL: String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("**") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
            let received = Received(path: request.uri.path, headers: headers, body: Data(bytes.readableBytesView))
            let answer = self.log.withLock { log in
                let earlier = log.filter { $0.path == received.path }.count
                log.append(received)
                return self.answer(received, earlier)
            }
            var responseHeaders = HTTPFields()
            responseHeaders[.contentType] = "application/json"
            return Response(status: .init(code: answer.status), headers: responseHeaders,
                            body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        let (bound, announce) = AsyncStream.makeStream(of: Int.self)
        let quiet = Logger(label: "fake-gateway") { _ in SwiftLogNoOpLogHandler() }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                announce.yield(channel.localAddress?.port ?? 0)
                announce.finish()
            },
            logger: quiet)
        // Stopped by a graceful shutdown, never by cancellation (see WebhookSink).
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: quiet))
        let task = Task {
            defer { announce.finish() }
            try await group.run()
        }
        var iterator = bound.makeAsyncIterator()
        guard let port = await iterator.next() else {
            throw GatewayFailure(description: "the fake gateway did not start: \(await task.result)")
        }
        do {
            let result = try await body("http://127.0.0.1:\(port)")
            await group.triggerGracefulShutdown()
            _ = await task.result
            return result
        } catch {
            await group.triggerGracefulShutdown()
            _ = await task.result
            throw error
        }
    }

    public struct GatewayFailure: Error, CustomStringConvertible {
        public let description: String
    }
}
