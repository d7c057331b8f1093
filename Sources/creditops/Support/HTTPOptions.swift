import ArgumentParser
import CreditWorkers
import DashboardAPI
import Foundation
import Hummingbird
import JobQueue
import Logging
import Metrics
import PostgresNIO
import Prometheus
import ServiceLifecycle

/// Where the API listens: `--http`, else `CREDITOPS_HTTP`, else 127.0.0.1:8080.
struct HTTPOptions: ParsableArguments {
    @Option(name: .customLong("http"), help: "host:port for the API and dashboards (default: $CREDITOPS_HTTP or 127.0.0.1:8080).")
    var address: String?

    func hostAndPort() throws -> (host: String, port: Int) {
        let text = address ?? ProcessInfo.processInfo.environment["CREDITOPS_HTTP"].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1:8080"
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port),
            colon > text.startIndex
        else {
            throw CLIError("the HTTP address '\(shown(text))' is not host:port, e.g. 127.0.0.1:8080")
        }
        return (String(text[..<colon]), port)
    }

    /// The API as a service, with the process's metrics exported on /metrics.
    func service(client: PostgresClient, registry: JobRegistry, logger: Logger) throws -> any Service {
        let (host, port) = try hostAndPort()
        let server = DashboardServer(client: client, registry: registry, prometheus: Self.prometheus, logger: logger)
        return Application(router: server.router(), configuration: .init(address: .hostname(host, port: port), serverName: "creditops"),
                           onServerRunning: { channel in
                               logger.notice("API listening", metadata: ["address": "\(channel.localAddress?.description ?? "\(host):\(port)")"])
                           },
                           logger: logger)
    }

    /// Installed once per process, before any metric is created.
    static let prometheus: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()
}
