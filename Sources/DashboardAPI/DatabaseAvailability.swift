import NIOCore
import NIOPosix
import Synchronization

/// Whether the primary was found away by a request, until it answers again: while it is away,
/// ``DatabaseUnavailableMiddleware`` answers at once instead of letting each request wait for the
/// pool (which queues queries while it reconnects).
///
/// A request that found the database away starts one probe, every half second (``accepts()``):
/// not through the pool, whose back-off between attempts grows to seconds. A server that answers
/// but is still starting answers the next request with 57P03, which marks it away again.
public final class DatabaseAvailability: Sendable {
    let host: String
    let port: Int
    private let state = Mutex(State())
    /// One element each time the probe finds the server back after it had seen it down, when a
    /// ``PoolRenewal`` takes them (``renewsThePool()``); only the newest waits to be read.
    private let returns: AsyncStream<Void>
    private let returned: AsyncStream<Void>.Continuation

    private struct State {
        var away = false
        var probing = false
        /// A ``PoolRenewal`` swaps in a fresh pool when the server is back: until it has
        /// (``poolRenewed()``), the server still counts as away.
        var renewing = false
    }

    /// How often the probe tries, and for how long at most (a loop here is bounded like every other).
    static let probeInterval = Duration.milliseconds(500)
    static let probeLimit = Duration.seconds(24 * 3600)

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
        (returns, returned) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    var isAway: Bool { state.withLock { $0.away } }

    /// The returns of the server after an outage, for ``PoolRenewal``; from now on the server
    /// counts as away after a return until ``poolRenewed()``.
    func renewsThePool() -> AsyncStream<Void> {
        state.withLock { $0.renewing = true }
        return returns
    }

    /// The fresh pool serves: requests go through again, and the next one that finds the server
    /// away starts a new probe.
    func poolRenewed() {
        state.withLock { state in
            state.away = false
            state.probing = false
        }
    }

    func markAway() {
        let startProbe = state.withLock { state -> Bool in
            state.away = true
            defer { state.probing = true }
            return !state.probing
        }
        guard startProbe else { return }
        // Outlives the request that found the database away: the next requests need its answer.
        Task { await self.probeUntilBack() }
    }

    private func probeUntilBack() async {
        let deadline = ContinuousClock.now + Self.probeLimit
        var back = false, sawDown = false
        while !back, ContinuousClock.now < deadline {
            try? await Task.sleep(for: Self.probeInterval)
            back = await accepts()
            sawDown = sawDown || !back
        }
        // Never seen down: a slow query or one broken connection marked it away, and the pool is
        // not backing off; a renewal would only double the connections.
        let renew = back && sawDown && state.withLock { $0.renewing }
        if renew {
            // Away, and probing, until the renewal has swapped the pool (``poolRenewed()``): a
            // request let through now would wait for the old pool's next attempt.
            returned.yield()
        } else {
            poolRenewed()
        }
    }

    /// Whether a PostgreSQL server answers within a second: it answers the 8 bytes of an
    /// `SSLRequest` with one byte (`S` or `N`). Not a bare connect: with a host list in
    /// `DATABASE_URL` the process talks to its own forwarder on 127.0.0.1 (``PrimaryRouter``),
    /// which accepts every connection and closes it when it finds no primary — a bare connect
    /// called that "back", and every request then waited its 30 s while all hosts were down.
    func accepts() async -> Bool {
        let answered = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: Bool.self)
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(1))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(FirstByte(answered)) }
                }
                .connect(host: host, port: port).get()
            var request = channel.allocator.buffer(capacity: 8)
            request.writeInteger(Int32(8))
            request.writeInteger(Int32(80_877_103))
            channel.writeAndFlush(request, promise: nil)
            channel.eventLoop.scheduleTask(in: .seconds(1)) { answered.succeed(false) }
            let result = try await answered.futureResult.get()
            try? await channel.close()
            return result
        } catch {
            answered.succeed(false)
            return false
        }
    }
}

/// Succeeds its promise with true on the first byte the server sends, false if it closes first.
private final class FirstByte: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    private let answered: EventLoopPromise<Bool>

    init(_ answered: EventLoopPromise<Bool>) {
        self.answered = answered
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        answered.succeed(unwrapInboundIn(data).readableBytes > 0)
    }

    func channelInactive(context: ChannelHandlerContext) {
        answered.succeed(false)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        answered.succeed(false)
        context.close(promise: nil)
    }
}
