import Foundation
import TestSupport
import Testing
import Yams

/// What deploy/ ships parses and says what deploy/README.md promises. (The container image is
/// not built here: this machine has no Docker engine.)
@Suite struct DeployTests {
    static let deploy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy")

    static func documents(_ path: String) throws -> [[String: Any]] {
        let text = try String(contentsOf: deploy.appendingPathComponent(path), encoding: .utf8)
        return try Yams.load_all(yaml: text).compactMap { $0 as? [String: Any] }
    }

    @Test func composeRunsOneMigrationTwoWorkersAndTheAPI() throws {
        let compose = try Self.documents("compose.yaml")
        #expect(compose.count == 1)
        let services = compose.first?["services"] as? [String: Any] ?? [:]
        #expect(Set(services.keys) == ["postgres", "migrate", "worker", "serve"])
        let worker = services["worker"] as? [String: Any]
        #expect((worker?["deploy"] as? [String: Any])?["replicas"] as? Int == 2)
        #expect((services["migrate"] as? [String: Any])?["command"] as? [String] == ["migrate"])
        #expect((services["serve"] as? [String: Any])?["command"] as? [String] == ["serve"])
        let environment = (services["serve"] as? [String: Any])?["environment"] as? [String: Any]
        #expect((environment?["DATABASE_URL"] as? String)?.hasPrefix("postgres://") == true)
    }

    @Test func composeReplicaStreamsFromThePrimaryAndServeReadsThere() throws {
        let compose = try Self.documents("compose.replica.yaml")
        #expect(compose.count == 1)
        let services = compose.first?["services"] as? [String: Any] ?? [:]
        let replica = services["replica"] as? [String: Any]
        let script = (replica?["command"] as? [String])?.joined(separator: " ") ?? ""
        let words = script.split(whereSeparator: \.isWhitespace)
        #expect(words.contains("pg_basebackup") && words.contains("-R"), "\(script)")
        #expect(replica?["healthcheck"] != nil)
        func host(_ service: String, _ variable: String) -> String? {
            let environment = (services[service] as? [String: Any])?["environment"] as? [String: Any]
            return (environment?[variable] as? String).flatMap { URL(string: $0)?.host }
        }
        #expect(host("serve", "DATABASE_READ_URL") == "replica")
        #expect(host("serve", "DATABASE_URL") == "primary")
        #expect(host("worker", "DATABASE_URL") == "primary")
    }

    @Test func kubernetesHasTheMigrationJobWorkersAndAProbedAPI() throws {
        var kinds: [String: [[String: Any]]] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: Self.deploy.appendingPathComponent("kubernetes").path) where file.hasSuffix(".yaml") {
            for document in try Self.documents("kubernetes/" + file) {
                kinds[document["kind"] as? String ?? "?", default: []].append(document)
            }
        }
        #expect(kinds["Job"]?.count == 1)
        #expect(kinds["Deployment"]?.count == 2)
        #expect(kinds["Service"]?.count == 1)
        let api = kinds["Deployment"]?.first { (($0["metadata"] as? [String: Any])?["name"] as? String) == "creditops-api" }
        let container = (((api?["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])?["containers"] as? [[String: Any]]
        let liveness = (container?.first?["livenessProbe"] as? [String: Any])?["httpGet"] as? [String: Any]
        let readiness = (container?.first?["readinessProbe"] as? [String: Any])?["httpGet"] as? [String: Any]
        #expect(liveness?["path"] as? String == "/healthz")
        #expect(readiness?["path"] as? String == "/readyz")
        let workers = kinds["Deployment"]?.first { (($0["metadata"] as? [String: Any])?["name"] as? String) == "creditops-worker" }
        #expect(((workers?["spec"] as? [String: Any])?["replicas"] as? Int ?? 0) >= 2)
    }

    @Test func prometheusAlertsOnWhatOperatorsMustKnow() throws {
        let config = try Self.documents("prometheus/prometheus.yml").first
        #expect((config?["rule_files"] as? [String]) == ["alerts.yml"])
        let groups = try Self.documents("prometheus/alerts.yml").first?["groups"] as? [[String: Any]]
        let rules = groups?.flatMap { $0["rules"] as? [[String: Any]] ?? [] } ?? []
        let alerts = Dictionary(rules.map { ($0["alert"] as? String ?? "", $0["expr"] as? String ?? "") }, uniquingKeysWith: { a, _ in a })
        #expect(alerts["CreditOpsOldestRunnableJobTooOld"]?.contains("creditops_queue_oldest_available_seconds") == true)
        #expect(alerts["CreditOpsDiscardedJobsRising"]?.contains("creditops_jobs_discarded_total") == true)
        #expect(alerts["CreditOpsNoLeader"]?.contains("creditops_leader") == true)
        #expect(alerts["CreditOpsRemindersFailing"]?.contains("notifications.deliver") == true)
    }

    /// `systemd-analyze verify` on the units, with the binary and environment file paths pointed
    /// at this build (the rest of each unit is checked as shipped).
    /// Skipped, and shown as skipped, where systemd-analyze is missing; `.ci/run` installs it.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"),
                   "systemd-analyze is not installed (Debian's systemd package): the units cannot be verified"))
    func systemdUnitsVerify() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("creditops-units-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = Self.deploy.appendingPathComponent("systemd")
        try FileManager.default.copyItem(at: source.appendingPathComponent("creditops.env.example"), to: folder.appendingPathComponent("creditops.env"))
        for unit in ["creditops-migrate.service", "creditops-serve.service", "creditops-worker@.service"] {
            let text = try String(contentsOf: source.appendingPathComponent(unit), encoding: .utf8)
                .replacingOccurrences(of: "/usr/local/bin/creditops", with: CreditOpsProcess.binary.path)
                .replacingOccurrences(of: "/etc/creditops/creditops.env", with: folder.appendingPathComponent("creditops.env").path)
            let name = unit == "creditops-worker@.service" ? "creditops-worker@1.service" : unit
            try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let units = ["creditops-migrate.service", "creditops-serve.service", "creditops-worker@1.service"].map { folder.appendingPathComponent($0).path }
        let verify = try CreditOpsProcess.start(executable: "/usr/bin/systemd-analyze", ["verify"] + units)
        #expect(await verify.wait(timeout: .seconds(60)))
        #expect(verify.process.terminationStatus == 0, "\(verify.stderr())")
        #expect(verify.stderr().isEmpty, "\(verify.stderr())")
    }
}
