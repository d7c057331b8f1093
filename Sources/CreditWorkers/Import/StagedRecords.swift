import Foundation
import NIOCore
import PostgresNIO

/// Records checked and written as COPY text to a temporary file ahead of their import, so that
/// the seed checks and writes out one kind on a thread of its own while the server merges the
/// previous one (on two cores, the seed's own work and the server's then overlap).
public struct StagedRecords: Sendable {
    public let kind: ImportKind
    let stager: Stager
    private let path: String

    /// Checks `records` (made on a thread of its own) and writes the good ones to a temporary file.
    public static func stage(
        _ kind: ImportKind, _ records: @escaping @Sendable () -> some Sequence<[String]>
    ) async throws -> StagedRecords {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try write(kind, numbered(records())) })
            }
        }
    }

    /// Deletes the file.
    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    static func numbered(_ records: some Sequence<[String]>) -> some Sequence<CSVRecord> {
        // `.lazy` after `enumerated()`: an eager map would hold every record in memory at once.
        records.enumerated().lazy.map { CSVRecord(line: $0.offset + 2, fields: $0.element, problem: nil) }
    }

    private static func write(_ kind: ImportKind, _ records: some Sequence<CSVRecord>) throws -> StagedRecords {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("creditops-\(kind.rawValue)-\(UUID().uuidString).copy").path
        guard let file = fopen(path, "w") else {
            throw ImportError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        do {
            var stager = Stager(kind: kind)
            var pending = ByteBuffer()
            pending.reserveCapacity(Stager.flushSize + 4096)
            for record in records {
                stager.stage(record, into: &pending)
                if pending.readableBytes >= Stager.flushSize {
                    try flush(&pending, to: file, path: path)
                }
            }
            try flush(&pending, to: file, path: path)
            return StagedRecords(kind: kind, stager: stager, path: path)
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }

    private static func flush(_ pending: inout ByteBuffer, to file: UnsafeMutablePointer<FILE>, path: String) throws {
        let written = pending.withUnsafeReadableBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        guard written == pending.readableBytes else {
            throw ImportError.unreadable(path: path, reason: "cannot write: \(String(cString: strerror(errno)))")
        }
        pending.clear()
    }

    /// Streams the file into COPY.
    func copy(to writer: PostgresCopyFromWriter) async throws {
        guard let file = fopen(path, "r") else {
            throw ImportError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        var chunk = ByteBuffer()
        while true {
            chunk.clear(minimumCapacity: Stager.flushSize)
            let read = chunk.writeWithUnsafeMutableBytes(minimumWritableBytes: Stager.flushSize) {
                fread($0.baseAddress, 1, $0.count, file)
            }
            if read == 0 { break }
            try await writer.write(chunk)
        }
        guard ferror(file) == 0 else { throw ImportError.unreadable(path: path, reason: "read error") }
    }
}
