public import Logging
import Synchronization

/// Keeps what a logger logs, for a test that checks what a component says it did.
public final class RecordedLogs: Sendable {
    public struct Entry: Sendable {
        public let message: String
        public let metadata: [String: String]
    }

    private let entries = Mutex<[Entry]>([])

    public init() {}

    /// A logger whose entries (every level) this records.
    public var logger: Logger {
        Logger(label: "recorded") { _ in Handler(recorded: self) }
    }

    public var all: [Entry] { entries.withLock { $0 } }

    /// The value of `key` in each entry with `message`, in order.
    public func values(of key: String, where message: String) -> [String] {
        all.filter { $0.message == message }.compactMap { $0.metadata[key] }
    }

    private struct Handler: LogHandler {
        let recorded: RecordedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            recorded.entries.withLock {
                $0.append(Entry(message: event.message.description, metadata: merged.mapValues { "\($0)" }))
            }
        }
    }
}
