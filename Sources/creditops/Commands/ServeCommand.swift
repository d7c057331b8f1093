import ArgumentParser
import CreditWorkers

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the JSON API, the dashboards, /metrics, /healthz and /readyz until SIGTERM or SIGINT.",
        discussion: """
            Example:
              CREDITOPS_HTTP=0.0.0.0:8080 creditops serve
              curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/v1/units/T01-H03/summary
            """
    )

    @OptionGroup var http: HTTPOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        try await reportingErrors {
            let logger = logging.logger()
            _ = HTTPOptions.prometheus
            let configuration = try database.configuration()
            try await withDatabase(configuration, logger: logger) { client in
                let registry = JobKinds.registry(client: client, logger: logger)
                try await runServices(try http.services(client: client, database: configuration, registry: registry, logger: logger), logger: logger)
            }
        }
    }
}
