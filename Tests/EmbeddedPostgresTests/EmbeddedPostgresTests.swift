import EmbeddedPostgres
import Foundation
import Logging
import PostgresNIO
import Testing

@Suite struct EmbeddedPostgresTests {
    let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    @Test func startsReusesAndStops() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ep-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let first = EmbeddedPostgres(configuration: .init(dataDirectory: folder, durability: .throwaway), logger: logger)
        let endpoint = try await first.start()
        #expect(endpoint.host == "127.0.0.1")
        try await query(endpoint, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('dữ liệu')".split(separator: ";").map(String.init))
        try await first.stop()
        #expect(first.endpoint == nil)

        // A folder that holds a cluster is reused with its data, not re-created.
        let second = EmbeddedPostgres(configuration: .init(dataDirectory: folder, durability: .throwaway), logger: logger)
        let again = try await second.start()
        let values = try await query(again, ["SELECT v FROM kept"])
        #expect(values == ["dữ liệu"])
        try await second.stop()
        #expect(!FileManager.default.fileExists(atPath: folder + "/postmaster.pid"))
    }

    @Test func missingBinariesNameTheFix() throws {
        let error = #expect(throws: EmbeddedPostgresError.self) {
            try PostgresBinaries.locate(path: "/nonexistent", extraSearchPaths: [])
        }
        #expect(error?.isMissingBinaries == true)
        #expect(error?.description.contains("apt-get install postgresql") == true)
    }

    @discardableResult
    private func query(_ endpoint: EmbeddedPostgres.Endpoint, _ statements: [String]) async throws -> [String] {
        let connection = try await PostgresConnection.connect(
            configuration: .init(host: endpoint.host, port: endpoint.port, username: "postgres", password: nil, database: "postgres", tls: .disable),
            id: 1, logger: logger)
        var values: [String] = []
        do {
            for statement in statements {
                for try await value in try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).decode(String.self) {
                    values.append(value)
                }
            }
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
        return values
    }
}
