import CreditWorkers
import NIOCore
public import PostgresNIO
import NIOPosix
import Synchronization

/// A TCP proxy on 127.0.0.1 between the code under test and PostgreSQL, for the faults of a real
/// network: ``stall()`` holds every byte in both directions (nothing is lost: the connections stay
/// open, as they do when a server or a link freezes) until ``resume()``, and ``cut()`` closes every
/// connection, as a dropped link or a restarted pooler does.
public final class TCPProxy: Sendable {
    /// Where the proxy listens.
    public let port: Int
    private let listener: any Channel
    private let state = Mutex(State())

    private struct State {
        var stalled = false
        var connections: [ObjectIdentifier: any Channel] = [:]
    }

    private init(listener: any Channel) throws {
        self.listener = listener
        guard let port = listener.localAddress?.port else { throw TCPProxyFailure(description: "the proxy has no port") }
        self.port = port
    }

    /// Starts a proxy to `targetHost:targetPort` on a free port.
    public static func start(to targetPort: Int, host targetHost: String = "127.0.0.1") async throws -> TCPProxy {
        let connections = Mutex<TCPProxy?>(nil)
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Nothing is read from the client until PostgreSQL's side is connected (and not stalled).
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                ClientBootstrap(group: inbound.eventLoop).connect(host: targetHost, port: targetPort).flatMapThrowing { outbound in
                    try inbound.pipeline.syncOperations.addHandler(ByteForwarder(to: outbound))
                    try outbound.pipeline.syncOperations.addHandler(ByteForwarder(to: inbound))
                    guard let proxy = connections.withLock({ $0 }) else { throw TCPProxyFailure(description: "the proxy is not ready") }
                    proxy.adopt(inbound, outbound)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let proxy = try TCPProxy(listener: listener)
        connections.withLock { $0 = proxy }
        return proxy
    }

    /// Holds every byte in both directions from now on, on every connection, new ones too.
    public func stall() {
        setStalled(true)
    }

    /// Lets the held bytes through and forwards again.
    public func resume() {
        setStalled(false)
    }

    /// Sends every connection its new reading state under the lock, as ``adopt(_:_:)`` does: a
    /// channel's options are applied in the order they were sent, so a connection adopted while
    /// the proxy resumes can no longer get the stalled state last and hold its bytes for good.
    private func setStalled(_ stalled: Bool) {
        state.withLock { state in
            state.stalled = stalled
            for channel in state.connections.values {
                channel.setOption(ChannelOptions.autoRead, value: !stalled).whenComplete { _ in }
            }
        }
    }

    /// Closes every connection now (new ones are accepted).
    public func cut() {
        let open = state.withLock { Array($0.connections.values) }
        for channel in open { channel.close(promise: nil) }
    }

    /// The number of connections through the proxy now.
    public var connectionCount: Int { state.withLock { $0.connections.count / 2 } }

    /// Closes the listener and every connection.
    public func stop() async {
        cut()
        try? await listener.close()
    }

    private func adopt(_ inbound: any Channel, _ outbound: any Channel) {
        state.withLock { state in
            for channel in [inbound, outbound] {
                state.connections[ObjectIdentifier(channel)] = channel
                channel.setOption(ChannelOptions.autoRead, value: !state.stalled).whenComplete { _ in }
            }
        }
        for channel in [inbound, outbound] {
            channel.closeFuture.whenComplete { _ in
                _ = self.state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(channel)) }
            }
        }
    }
}

struct TCPProxyFailure: Error, CustomStringConvertible {
    var description: String
}

extension TestDatabase {
    /// Starts a proxy to the test cluster and returns it with this database's configuration through it.
    public func throughProxy() async throws -> (proxy: TCPProxy, configuration: PostgresClient.Configuration) {
        guard let port = configuration.port else { throw TCPProxyFailure(description: "the test database is not reached over TCP") }
        let proxy = try await TCPProxy.start(to: port, host: configuration.host ?? "127.0.0.1")
        var proxied = PostgresClient.Configuration(
            host: "127.0.0.1", port: proxy.port, username: configuration.username, password: configuration.password,
            database: configuration.database, tls: .disable)
        proxied.options = configuration.options
        return (proxy, proxied)
    }
}
