import NIOCore
import NIOPosix
import Synchronization

/// Listens where a stopped PostgreSQL listened and notes when a client starts a session there
/// (a `StartupMessage`, protocol 3.0), closing every connection as a server that is away would:
/// it shows when the API's pool tries again, which nothing outside the process otherwise can.
/// Other first messages (the API's probe sends an `SSLRequest`) are closed unanswered.
final class StartupAttempts: Sendable {
    private let listener: any Channel
    private let notes: Notes

    /// Shared by the connections' handlers, on their event loops, and the test.
    private final class Notes: Sendable {
        let times = Mutex<[ContinuousClock.Instant]>([])
    }

    private init(listener: any Channel, notes: Notes) {
        self.listener = listener
        self.notes = notes
    }

    static func listen(port: Int) async throws -> StartupAttempts {
        let notes = Notes()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(FirstMessage { isStartup in
                        if isStartup { notes.times.withLock { $0.append(.now) } }
                    })
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        return StartupAttempts(listener: listener, notes: notes)
    }

    /// When each session was started, oldest first.
    var times: [ContinuousClock.Instant] { notes.times.withLock { $0 } }

    func stop() async {
        try? await listener.close()
    }
}

/// Reads a connection's first 8 bytes (length, then protocol or request code), tells whether
/// they start a session, and closes the connection.
private final class FirstMessage: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    /// `StartupMessage`'s protocol version 3.0; an `SSLRequest` carries 80877103 there instead.
    static let protocol3: Int32 = 196_608
    let seen: @Sendable (_ isStartup: Bool) -> Void

    init(_ seen: @escaping @Sendable (_ isStartup: Bool) -> Void) {
        self.seen = seen
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        let code = bytes.getInteger(at: bytes.readerIndex + 4, as: Int32.self)
        seen(code == Self.protocol3)
        bytes.moveReaderIndex(forwardBy: bytes.readableBytes)
        context.close(promise: nil)
    }
}
