import ArgumentParser
import CreditWorkers
import DashboardAPI
import Foundation
import Hummingbird
import HummingbirdTLS
import HummingbirdCore
import NIOSSL
import JobQueue
import Logging
import Metrics
import PostgresNIO
import Prometheus
import ServiceLifecycle

/// Where the API listens: `--http`, else `CREDITOPS_HTTP`, else 127.0.0.1:8080; and whether it
/// speaks TLS itself (`--tls-cert`/`--tls-key`, else `CREDITOPS_TLS_CERT`/`CREDITOPS_TLS_KEY`).
struct HTTPOptions: ParsableArguments {
    @Option(name: .customLong("http"), help: "host:port for the API and dashboards (default: $CREDITOPS_HTTP or 127.0.0.1:8080).")
    var address: String?
    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve https (default: $CREDITOPS_TLS_CERT).")
    var tlsCertificate: String?
    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert (default: $CREDITOPS_TLS_KEY).")
    var tlsKey: String?
    @Option(name: .customLong("database-read-url"),
            help: "A streaming replica for the dashboards, the read API and exports (default: $DATABASE_READ_URL; none: the primary).")
    var databaseReadURL: String?
    @Option(name: .customLong("database-read-max-lag"),
            help: "Seconds the replica may lag before the primary answers instead (default: $DATABASE_READ_MAX_LAG_SECONDS or 30).")
    var databaseReadMaxLag: Int?

    /// A keep-alive connection with no request for this long is closed, so idle sockets cannot pile up.
    static let idleTimeout = TimeAmount.seconds(30)

    func hostAndPort() throws -> (host: String, port: Int) {
        let text = address ?? ProcessInfo.processInfo.environment["CREDITOPS_HTTP"].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1:8080"
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port),
            colon > text.startIndex
        else {
            throw CLIError("the HTTP address '\(shown(text))' is not host:port, e.g. 127.0.0.1:8080")
        }
        return (String(text[..<colon]), port)
    }

    /// The certificate and key files, when TLS is asked for; both or neither.
    func tlsFiles() throws -> (certificate: String, key: String)? {
        let environment = ProcessInfo.processInfo.environment
        let certificate = tlsCertificate ?? environment["CREDITOPS_TLS_CERT"].flatMap { $0.isEmpty ? nil : $0 }
        let key = tlsKey ?? environment["CREDITOPS_TLS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch (certificate, key) {
        case (nil, nil): return nil
        case let (certificate?, key?): return (certificate, key)
        default: throw CLIError("TLS needs both a certificate (--tls-cert or CREDITOPS_TLS_CERT) and its key (--tls-key or CREDITOPS_TLS_KEY)")
        }
    }

    /// The replica the dashboards read from, when one is named; nil: they read from the primary.
    func readReplica(primary: PostgresClient, logger: Logger) throws -> ReadReplica? {
        let environment = ProcessInfo.processInfo.environment
        guard let url = databaseReadURL ?? environment["DATABASE_READ_URL"].flatMap({ $0.isEmpty ? nil : $0 }) else { return nil }
        let configuration: PostgresClient.Configuration
        do {
            configuration = try DatabaseURL.configuration(url)
        } catch let error as DatabaseURLError {
            throw CLIError(error.description.replacingOccurrences(of: "DATABASE_URL", with: "DATABASE_READ_URL"))
        }
        var maxLag = databaseReadMaxLag
        if maxLag == nil, let text = environment["DATABASE_READ_MAX_LAG_SECONDS"], !text.isEmpty {
            guard let seconds = Int(text) else {
                throw CLIError("DATABASE_READ_MAX_LAG_SECONDS must be a whole number of seconds, not '\(text.prefix(20))'")
            }
            maxLag = seconds
        }
        guard (0...86_400).contains(maxLag ?? 30) else {
            throw CLIError("the replica's maximum lag must be within 0...86400 seconds, not \(maxLag ?? 30)")
        }
        let replica = PostgresClient(configuration: configuration, backgroundLogger: logger.quieter())
        return ReadReplica(primary: primary, replica: replica, configuration: .init(maxLag: .seconds(maxLag ?? 30)), logger: logger)
    }

    /// The API as services: the read replica's lag check first when there is one (it starts
    /// before the API and stops after it), then the API, with the process's metrics on /metrics.
    func services(
        client: PostgresClient, database: PostgresClient.Configuration, registry: JobRegistry, workers: [any Service] = [], logger: Logger
    ) throws -> [any Service] {
        let replica = try readReplica(primary: client, logger: logger)
        let (host, port) = try hostAndPort()
        let tls = try tlsFiles()
        let environment = ProcessInfo.processInfo.environment
        let security = DashboardServer.Security(
            secureCookies: tls != nil || PublicURL.isHTTPS,
            metricsToken: environment["CREDITOPS_METRICS_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
        var server = DashboardServer(client: client, registry: registry, prometheus: Self.prometheus, logger: logger, security: security)
        server.workers = workers.compactMap { $0 as? WorkerService }
        server.readReplica = replica
        server.periodicJobs = JobKinds.periodicJobs()
        if let text = environment["CREDITOPS_DASHBOARD_REUSE_MS"], !text.isEmpty {
            guard let milliseconds = Int(text), (0...60_000).contains(milliseconds) else {
                throw CLIError("CREDITOPS_DASHBOARD_REUSE_MS must be a number of milliseconds within 0...60000, not '\(text.prefix(20))'")
            }
            server.resultLifetime = .milliseconds(milliseconds)
        }
        let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: Self.idleTimeout))
        let builder: HTTPServerBuilder
        if let tls {
            do {
                let configuration = TLSConfiguration.makeServerConfiguration(
                    certificateChain: try NIOSSLCertificate.fromPEMFile(tls.certificate).map { .certificate($0) },
                    privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.key, format: .pem)))
                builder = try .tls(http1, tlsConfiguration: configuration)
            } catch {
                throw CLIError("cannot use the TLS certificate \(tls.certificate) and key \(tls.key): \(error)")
            }
        } else {
            builder = http1
        }
        let scheme = tls == nil ? "http" : "https"
        func application(_ responder: some HTTPResponder<CreditOpsRequestContext>) -> some Service {
            Application(responder: responder, server: builder,
                        configuration: .init(address: .hostname(host, port: port), serverName: "creditops"),
                        onServerRunning: { channel in
                            logger.notice("API listening", metadata: [
                                "address": "\(channel.localAddress?.description ?? "\(host):\(port)")", "scheme": "\(scheme)",
                            ])
                        },
                        logger: logger)
        }
        // A server on a Unix socket is not probed: its requests each try it, on the one pool.
        guard let primaryHost = database.host, let primaryPort = database.port else {
            return (replica.map { [$0] } ?? []) + [application(server.router().buildResponder())]
        }
        let availability = DatabaseAvailability(host: primaryHost, port: primaryPort)
        server.databaseAvailability = availability
        let renewal = PoolRenewal(server: server, availability: availability, logger: logger) {
            PostgresClient(configuration: database, backgroundLogger: logger.quieter())
        }
        return (replica.map { [$0] } ?? []) + [renewal, application(renewal.responder)]
    }

    /// Installed once per process, before any metric is created.
    static let prometheus: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()
}
