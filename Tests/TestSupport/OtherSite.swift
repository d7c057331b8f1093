import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// A web page on another origin (`localhost`, while CreditOps answers on 127.0.0.1): where people
/// click the links they are sent, webmail or a chat, for tests of what a link does from elsewhere.
public enum OtherSite {
    /// Serves `html` at `/` on localhost while `body` runs, with the page's address.
    public static func serving<T: Sendable>(_ html: String, _ body: @Sendable (_ url: String) async throws -> T) async throws -> T {
        let router = Router()
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
        }
        let (bound, announce) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                announce.yield(channel.localAddress?.port ?? 0)
                announce.finish()
            },
            logger: Logger(label: "other-site") { _ in SwiftLogNoOpLogHandler() })
        // Stopped gracefully, never cancelled: see WebhookSink.stop.
        let services = ServiceGroup(configuration: .init(
            services: [app], gracefulShutdownSignals: [], logger: Logger(label: "other-site") { _ in SwiftLogNoOpLogHandler() }))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            var ports = bound.makeAsyncIterator()
            do {
                guard let port = await ports.next() else { throw WebhookSink.Failure(description: "the other site did not start") }
                let result = try await body("http://localhost:\(port)/")
                await services.triggerGracefulShutdown()
                try await group.waitForAll()
                return result
            } catch {
                await services.triggerGracefulShutdown()
                try? await group.waitForAll()
                throw error
            }
        }
    }
}
