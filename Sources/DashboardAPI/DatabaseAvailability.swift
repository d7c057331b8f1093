import NIOCore
import NIOPosix
import Synchronization

/// Whether the primary was found away by a request, until it accepts connections again: while it
/// is away, ``DatabaseUnavailableMiddleware`` answers at once instead of letting each request wait
/// for the pool (which queues queries while it reconnects).
///
/// A request that found the database away starts one probe, a bare TCP connect every half second:
/// not through the pool, whose back-off between attempts grows to seconds. A server that accepts
/// connections but is still starting answers the next request with 57P03, which marks it away again.
public final class DatabaseAvailability: Sendable {
    let host: String
    let port: Int
    private let state = Mutex(State())

    private struct State {
        var away = false
        var probing = false
    }

    /// How often the probe tries, and for how long at most (a loop here is bounded like every other).
    static let probeInterval = Duration.milliseconds(500)
    static let probeLimit = Duration.seconds(24 * 3600)

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    var isAway: Bool { state.withLock { $0.away } }

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
        while ContinuousClock.now < deadline {
            try? await Task.sleep(for: Self.probeInterval)
            if await accepts() { break }
        }
        state.withLock { $0 = State() }
    }

    /// Whether the server accepts a TCP connection within a second.
    func accepts() async -> Bool {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(1))
                .connect(host: host, port: port).get()
            try? await channel.close()
            return true
        } catch {
            return false
        }
    }
}
