@testable import CreditWorkers
import NIOCore
import NIOPosix
import Testing

/// The forwarder behind `PrimaryRouter`: when one side of a forwarded connection closes, the other
/// must close too, or the connection pool on that side waits for an answer that never comes.
@Suite struct ByteForwarderTests {
    @Test func aSideThatClosesTakesItsPartnerWithIt() async throws {
        try await withConnectedPair { side, partner in
            try await side.pipeline.addHandler(ByteForwarder(to: partner)).get()
            try await side.close()
            #expect(try await closes(partner))
        }
    }

    /// The router adds its forwarders after both sides are connected; the primary's side may close
    /// in between (the primary killed at that moment), and its `channelInactive` is then gone.
    @Test func aSideThatClosedBeforeTheForwarderWasAddedStillClosesItsPartner() async throws {
        try await withConnectedPair { side, partner in
            try await side.eventLoop.submit {
                // Within one turn of the event loop: closed, inactive, and its pipeline not yet torn down.
                side.close(promise: nil)
                try side.pipeline.syncOperations.addHandler(ByteForwarder(to: partner))
            }.get()
            #expect(try await closes(partner), "the partner of a side closed before the forwarder came stays open")
        }
    }

    /// Two client connections to a listener on loopback, the listener keeping its accepted ends open.
    private func withConnectedPair(_ body: (any Channel, any Channel) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let listener = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        defer { listener.close(promise: nil) }
        let port = try #require(listener.localAddress?.port)
        let side = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get()
        let partner = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get()
        defer {
            side.close(promise: nil)
            partner.close(promise: nil)
        }
        try await body(side, partner)
    }

    /// Whether `channel` closes within 5 s.
    private func closes(_ channel: any Channel) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(5)
        while channel.isActive, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        return !channel.isActive
    }
}
