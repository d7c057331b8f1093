import JobQueue
import Logging
package import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// What libpq does for `host=h1,h2 target_session_attrs=read-write`, for PostgresNIO's pool,
/// which knows one host: a forwarder on 127.0.0.1 that sends each new connection to whichever of
/// the hosts is the primary at that moment (`pg_is_in_recovery()` false), trying the last one
/// found first. When the primary dies and a standby is promoted, the pool's connections break,
/// it opens new ones, and those reach the new primary: workers, the leader and the API carry on
/// without being told.
///
/// The bytes pass through unchanged (TLS included, end to end); only the choice of host is ours.
package final class PrimaryRouter: Sendable {
    package struct Host: Hashable, Sendable, CustomStringConvertible {
        package var name: String
        package var port: Int
        package var description: String { "\(name):\(port)" }
    }

    /// How the router may log in to ask a host whether it is the primary: the URL's credentials.
    package struct Login: Hashable, Sendable {
        var username: String
        var password: String?
        var database: String?
        /// `disable`, `prefer` or `require`, as in the URL.
        var sslMode: String
        /// `read-write` (only a primary) or `any` (the first host that answers).
        var targetSessionAttributes: String
    }

    /// Where the pool connects instead of the hosts.
    package let port: Int
    package let hosts: [Host]
    private let login: Login
    private let listener: any Channel
    /// The index of the host found last: asked first next time.
    private let lastFound = Mutex(0)
    private let logger = Logger(label: "creditops.primary-router")

    /// How long asking one host may take before the next is asked.
    static let probeTimeout = TimeAmount.seconds(3)

    /// One router per distinct host list and login, for the life of the process.
    private static let routers = Mutex<[String: PrimaryRouter]>([:])

    /// The hosts a router of this process forwards to from `port` on 127.0.0.1, if one does.
    package static func hosts(forwardedFrom port: Int) -> [Host]? {
        routers.withLock { routers in routers.values.first { $0.port == port }?.hosts }
    }

    /// The router for `hosts`, started on first use.
    package static func shared(hosts: [Host], login: Login) throws -> PrimaryRouter {
        let key = "\(hosts)|\(login.username)|\(login.database ?? "")|\(login.sslMode)|\(login.targetSessionAttributes)"
        return try routers.withLock { routers in
            if let router = routers[key] { return router }
            let router = try PrimaryRouter(hosts: hosts, login: login)
            routers[key] = router
            return router
        }
    }

    private init(hosts: [Host], login: Login) throws {
        self.hosts = hosts
        self.login = login
        let chosen = Mutex<PrimaryRouter?>(nil)
        // A bind on this machine's loopback: synchronous, and done once per process.
        listener = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Nothing is read from the pool's side until the primary's side is connected.
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                let promise = inbound.eventLoop.makePromise(of: Void.self)
                promise.completeWithTask {
                    guard let router = chosen.withLock({ $0 }) else { throw PrimaryRouterError("the router is not ready") }
                    try await router.connect(inbound)
                }
                return promise.futureResult
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        guard let port = listener.localAddress?.port else { throw PrimaryRouterError("the router has no port") }
        self.port = port
        chosen.withLock { $0 = self }
    }

    private func connect(_ inbound: any Channel) async throws {
        let primary = try await findPrimary()
        let outbound = try await ClientBootstrap(group: inbound.eventLoop)
            .connectTimeout(Self.probeTimeout)
            .connect(host: primary.name, port: primary.port).get()
        do {
            try await inbound.pipeline.addHandler(ByteForwarder(to: outbound)).get()
            try await outbound.pipeline.addHandler(ByteForwarder(to: inbound)).get()
            try await inbound.setOption(ChannelOptions.autoRead, value: true).get()
        } catch {
            // The accepted side is closed by the server bootstrap when this throws; this one is ours.
            outbound.close(promise: nil)
            throw error
        }
    }

    /// The first host, from the last one found on, that is the primary (or, with `any`, answers).
    private func findPrimary() async throws -> Host {
        let start = lastFound.withLock { $0 }
        var reasons: [String] = []
        for offset in hosts.indices {
            let index = (start + offset) % hosts.count
            let host = hosts[index]
            do {
                if try await isTarget(host) {
                    let moved = lastFound.withLock { found in
                        defer { found = index }
                        return found != index
                    }
                    if moved { logger.notice("Connections now go to \(host)", metadata: ["database.hosts": "\(hosts)"]) }
                    return host
                }
                reasons.append("\(host) is a standby")
            } catch {
                reasons.append("\(host): \(String(describing: error).prefix(120))")
            }
        }
        throw PrimaryRouterError("no primary among \(hosts.map(\.description).joined(separator: ", ")): \(reasons.joined(separator: "; "))")
    }

    /// Bounded as a whole, not only its connect: a host that accepts connections but never answers
    /// the query (a stopped server, a connection that has just closed: RELIABILITY.md) must not
    /// keep the router from asking the next host.
    private func isTarget(_ host: Host) async throws -> Bool {
        try await withDeadline(.nanoseconds(Self.probeTimeout.nanoseconds), "asking \(host) whether it is the primary") {
            try await self.askIsTarget(host)
        }
    }

    private func askIsTarget(_ host: Host) async throws -> Bool {
        var configuration = PostgresConnection.Configuration(
            host: host.name, port: host.port, username: login.username, password: login.password, database: login.database,
            tls: try tls())
        configuration.options.connectTimeout = Self.probeTimeout
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        // Closed before it goes, on every path: PostgresNIO insists.
        do {
            let answer = try await isTarget(connection)
            try await connection.close()
            return answer
        } catch {
            try? await connection.close()
            throw error
        }
    }

    private func isTarget(_ connection: PostgresConnection) async throws -> Bool {
        guard login.targetSessionAttributes == "read-write" else { return true }
        let rows = try await connection.query("SELECT pg_is_in_recovery()", logger: logger)
        for try await recovering in rows.decode(Bool.self) { return !recovering }
        return false
    }

    private func tls() throws -> PostgresConnection.Configuration.TLS {
        switch login.sslMode {
        case "disable": return .disable
        case "require", "verify-ca", "verify-full": return .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        default: return .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
    }
}

/// Writes what one side reads to the other; closes the other when one side closes.
package final class ByteForwarder: ChannelInboundHandler, Sendable {
    package typealias InboundIn = ByteBuffer

    private let partner: any Channel

    package init(to partner: any Channel) {
        self.partner = partner
    }

    /// The partner closes when this side has closed, whenever that was: by the close future, not
    /// `channelInactive`, which a side that closed before this handler was in its pipeline never
    /// sends here (its partner then stayed open, silent, for good). Not `isActive` either: an
    /// accepted side is not active yet while its initializer adds this handler.
    package func handlerAdded(context: ChannelHandlerContext) {
        context.channel.closeFuture.whenComplete { [partner] _ in partner.close(promise: nil) }
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner.write(Self.unwrapInboundIn(data), promise: nil)
    }

    package func channelReadComplete(context: ChannelHandlerContext) {
        partner.flush()
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

struct PrimaryRouterError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
