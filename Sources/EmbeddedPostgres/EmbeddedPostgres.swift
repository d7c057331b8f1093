public import Logging
public import ServiceLifecycle
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL cluster, started from the system's own server binaries, for the demo and
/// the tests.
///
/// The cluster lives in ``Configuration/dataDirectory``: a folder that already holds a cluster is
/// reused (its data kept), an empty or missing one is initialised with `initdb`. The server
/// listens on 127.0.0.1 only, on a free port unless one is given, and accepts the `postgres`
/// role without a password (trust), which is safe only because nothing but this machine can
/// reach it.
///
/// Use it as a `Service` in a `ServiceGroup` (it starts in `run()` and stops on graceful
/// shutdown), or call ``start()`` and ``stop()`` yourself.
///
/// > Warning: `initdb` refuses to run as root. Running as root, the cluster belongs to the
/// > unprivileged ``Configuration/serverUser`` (default `postgres`), and the server runs as that user.
public final class EmbeddedPostgres: Service, Sendable {
    /// How the cluster is set up and started.
    public struct Configuration: Sendable {
        /// How much the server may trade durability for speed.
        public enum Durability: Sendable {
            /// PostgreSQL's defaults: fsync, synchronous commit and full page writes on.
            case durable
            /// fsync, synchronous commit and full page writes off: for throwaway test clusters only.
            /// A crash of the machine can corrupt such a cluster.
            case throwaway
            /// fsync off, synchronous commit on: a commit is written to the operating system before
            /// it is acknowledged, so a crash of PostgreSQL itself (`kill -9`, `-m immediate`) loses
            /// nothing committed, and a commit's WAL reaches a standby at once; a crash of the
            /// machine can corrupt it. For test clusters that crash PostgreSQL on purpose, without
            /// the disk flushes that slow every other test on the machine.
            case survivesServerCrash
        }

        /// The cluster's folder. Default: `.creditops/postgres` in the current directory.
        public var dataDirectory: String
        /// The TCP port on 127.0.0.1; `nil` picks a free one at each start. Default: `nil`.
        public var port: Int?
        /// Default: ``Durability/durable``.
        public var durability: Durability
        /// The operating-system user that owns the cluster when this process runs as root.
        /// Default: `postgres`.
        public var serverUser: String
        /// How long to wait for the server to accept connections. Default: 60 seconds.
        public var startTimeout: Duration
        /// Folders searched for `initdb`, `pg_ctl` and `postgres` after `PATH`.
        /// Default: `/usr/lib/postgresql/*/bin`, newest version first.
        public var extraSearchPaths: [String]
        /// Stop the server and delete its folder once this process exits, however it exits (even
        /// when killed): a watchdog process waits for it. For test clusters. Default: `false`.
        public var removeWhenProcessExits: Bool
        /// `max_connections` for a newly initialised cluster. Default: 200.
        public var maxConnections: Int
        /// Make a new cluster a streaming standby of this primary instead of an empty one: its
        /// folder is a copy of the primary's (`pg_basebackup -R`), and it replays the primary's
        /// changes from then on. Default: `nil`, a primary.
        public var standbyOf: Standby?

        /// Creates a configuration; every parameter has the default stated on its property.
        public init(
            dataDirectory: String = ".creditops/postgres",
            port: Int? = nil,
            durability: Durability = .durable,
            serverUser: String = "postgres",
            startTimeout: Duration = .seconds(60),
            extraSearchPaths: [String] = PostgresBinaries.debianSearchPaths(),
            removeWhenProcessExits: Bool = false,
            maxConnections: Int = 200,
            standbyOf: Standby? = nil
        ) {
            self.dataDirectory = dataDirectory
            self.port = port
            self.durability = durability
            self.serverUser = serverUser
            self.startTimeout = startTimeout
            self.extraSearchPaths = extraSearchPaths
            self.removeWhenProcessExits = removeWhenProcessExits
            self.maxConnections = maxConnections
            self.standbyOf = standbyOf
        }
    }

    /// Where a standby copies from and streams from.
    public struct Standby: Sendable {
        /// The running primary.
        public var primary: Endpoint
        /// The standby's name on the primary (its `cluster_name`, which its WAL receiver gives as
        /// `application_name`): what the primary's `synchronous_standby_names` names to wait for it.
        public var name: String

        public init(primary: Endpoint, name: String = "creditops_standby") {
            self.primary = primary
            self.name = name
        }
    }

    /// How ``stop(_:)`` ends the server.
    public enum StopMode: String, Sendable {
        /// Sessions are ended, then a checkpoint: a clean stop.
        case fast
        /// No checkpoint: the next start recovers from the WAL, as after a crash.
        case immediate
    }

    /// Where a started cluster can be reached.
    public struct Endpoint: Sendable, Hashable {
        /// Always 127.0.0.1.
        public var host: String
        /// The TCP port the server listens on.
        public var port: Int
        /// The superuser role, `postgres`.
        public var user: String
        /// The database to connect to, `postgres`.
        public var database: String

        /// `postgres://postgres@127.0.0.1:PORT/postgres`
        public var url: String { "postgres://\(user)@\(host):\(port)/\(database)" }

        /// The same endpoint, pointed at another database.
        public func with(database: String) -> Endpoint {
            var copy = self
            copy.database = database
            return copy
        }
    }

    private struct State: Sendable {
        var endpoint: Endpoint?
        /// False when the server was already running and this process merely adopted it.
        var startedHere = false
    }

    /// The configuration this cluster was created with.
    public let configuration: Configuration
    private let logger: Logger
    private let state = Mutex(State())

    /// Creates the handle; nothing happens until ``start()`` or `run()`.
    public init(configuration: Configuration = .init(), logger: Logger) {
        var configuration = configuration
        configuration.dataDirectory = URL(fileURLWithPath: configuration.dataDirectory).standardizedFileURL.path
        self.configuration = configuration
        self.logger = logger
    }

    /// Where the server listens, once started.
    public var endpoint: Endpoint? { state.withLock { $0.endpoint } }

    /// Initialises the cluster if its folder holds none, starts the server and waits until it
    /// accepts connections. Returns at once when this handle already started it.
    @discardableResult
    public func start() async throws -> Endpoint {
        if let endpoint = self.endpoint { return endpoint }
        let binaries = try PostgresBinaries.locate(extraSearchPaths: configuration.extraSearchPaths)
        let runner = ProcessRunner(serverUser: geteuid() == 0 ? configuration.serverUser : nil)
        let dataDirectory = configuration.dataDirectory

        if let running = try await runningPort(binaries: binaries, runner: runner) {
            let endpoint = Endpoint(host: "127.0.0.1", port: running, user: "postgres", database: "postgres")
            logger.info("Reusing the PostgreSQL server already running", metadata: ["postgres.data": "\(dataDirectory)", "postgres.port": "\(running)"])
            state.withLock { $0 = State(endpoint: endpoint, startedHere: false) }
            return endpoint
        }

        if !FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") {
            if let standby = configuration.standbyOf {
                try await copyPrimary(standby, binaries: binaries, runner: runner)
            } else {
                try await initialise(binaries: binaries, runner: runner)
            }
        }

        let port = try configuration.port ?? FreePort.find()
        logger.info("Starting PostgreSQL", metadata: ["postgres.data": "\(dataDirectory)", "postgres.port": "\(port)"])
        let timeoutSeconds = max(1, Int(configuration.startTimeout.components.seconds))
        let result = try await runner.run(
            binaries.pgCtl,
            [
                "-D", dataDirectory, "-l", dataDirectory + "/server.log", "-w", "-t", "\(timeoutSeconds)",
                "-o", "-p \(port)", "start",
            ],
            timeout: configuration.startTimeout + .seconds(5)
        )
        guard result.status == 0 else {
            throw EmbeddedPostgresError.startFailed(
                "pg_ctl start failed (exit \(result.status)): \(result.output.lastLines(5)) — see \(dataDirectory)/server.log"
            )
        }
        let endpoint = Endpoint(host: "127.0.0.1", port: port, user: "postgres", database: "postgres")
        state.withLock { $0 = State(endpoint: endpoint, startedHere: true) }
        if configuration.removeWhenProcessExits {
            try startWatchdog(binaries: binaries)
        }
        return endpoint
    }

    /// Stops the server (by default a fast shutdown: open sessions are ended) if this handle started it.
    public func stop(_ mode: StopMode = .fast) async throws {
        let startedHere = state.withLock { state -> Bool in
            defer { state = State() }
            return state.startedHere
        }
        guard startedHere else { return }
        let binaries = try PostgresBinaries.locate(extraSearchPaths: configuration.extraSearchPaths)
        let runner = ProcessRunner(serverUser: geteuid() == 0 ? configuration.serverUser : nil)
        logger.info("Stopping PostgreSQL", metadata: ["postgres.data": "\(configuration.dataDirectory)"])
        let result = try await runner.run(
            binaries.pgCtl, ["-D", configuration.dataDirectory, "-m", mode.rawValue, "-w", "-t", "60", "stop"],
            timeout: .seconds(70)
        )
        guard result.status == 0 else {
            throw EmbeddedPostgresError.stopFailed("pg_ctl stop failed (exit \(result.status)): \(result.output.lastLines(5))")
        }
    }

    /// Kills the server's postmaster with SIGKILL, as a crash or the out-of-memory killer would,
    /// and waits (at most 30 s) until none of its processes is left, so that a new start finds
    /// its shared memory free. The next ``start()`` recovers from the WAL.
    public func kill() async throws {
        guard state.withLock({ $0.startedHere }) else { return }
        let pidFile = configuration.dataDirectory + "/postmaster.pid"
        guard let contents = try? String(contentsOfFile: pidFile, encoding: .utf8),
              let line = contents.split(separator: "\n").first, let pid = pid_t(line.trimmingCharacters(in: .whitespaces)) else {
            throw EmbeddedPostgresError.stopFailed("no postmaster.pid in \(configuration.dataDirectory): is the server running?")
        }
        Glibc.kill(pid, SIGKILL)
        state.withLock { $0 = State() }
        // The backends notice their postmaster's death and exit; the last one frees the shared memory.
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, Self.processesAttached(to: configuration.dataDirectory) > 0 {
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Turns this standby into a primary (`pg_ctl promote`), waiting until it accepts writes.
    public func promote() async throws {
        let binaries = try PostgresBinaries.locate(extraSearchPaths: configuration.extraSearchPaths)
        let runner = ProcessRunner(serverUser: geteuid() == 0 ? configuration.serverUser : nil)
        let result = try await runner.run(
            binaries.pgCtl, ["-D", configuration.dataDirectory, "-w", "-t", "60", "promote"], timeout: .seconds(70))
        guard result.status == 0 else {
            throw EmbeddedPostgresError.startFailed("pg_ctl promote failed (exit \(result.status)): \(result.output.lastLines(5))")
        }
    }

    /// Starts the server, waits for graceful shutdown, then stops it.
    public func run() async throws {
        try await start()
        try? await gracefulShutdown()
        try await stop()
    }

    // MARK: - Steps

    private func initialise(binaries: PostgresBinaries, runner: ProcessRunner) async throws {
        let dataDirectory = configuration.dataDirectory
        logger.info("Initialising a new PostgreSQL cluster", metadata: ["postgres.data": "\(dataDirectory)"])
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        if let user = runner.serverUser {
            try ProcessRunner.chown(path: dataDirectory, user: user)
        }
        let result = try await runner.run(
            binaries.initdb,
            ["-D", dataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-instructions"]
        )
        guard result.status == 0 else {
            throw EmbeddedPostgresError.initFailed("initdb failed (exit \(result.status)): \(result.output.lastLines(5))")
        }
        var settings = """

            # Written by CreditOps' EmbeddedPostgres: a private server reachable from this machine only.
            listen_addresses = '127.0.0.1'
            unix_socket_directories = ''
            max_connections = \(configuration.maxConnections)
            shared_buffers = 128MB

            """
        switch configuration.durability {
        case .durable:
            break
        case .throwaway:
            settings += """
                # A throwaway test cluster: speed over durability.
                fsync = off
                synchronous_commit = off
                full_page_writes = off

                """
        case .survivesServerCrash:
            settings += """
                # A test cluster that survives its server's crash, not the machine's.
                fsync = off

                """
        }
        try append(settings, to: dataDirectory + "/postgresql.conf")
    }

    /// A standby's first copy: the primary's files as of now, with the settings to stream from it.
    private func copyPrimary(_ standby: Standby, binaries: PostgresBinaries, runner: ProcessRunner) async throws {
        let dataDirectory = configuration.dataDirectory
        logger.info("Copying the primary for a new standby", metadata: ["postgres.data": "\(dataDirectory)", "postgres.primary": "\(standby.primary.port)"])
        let parent = URL(fileURLWithPath: dataDirectory).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        if let user = runner.serverUser { try ProcessRunner.chown(path: parent, user: user) }
        let result = try await runner.run(
            binaries.pgBasebackup,
            ["-h", standby.primary.host, "-p", "\(standby.primary.port)", "-U", standby.primary.user, "-D", dataDirectory,
             "-R", "-X", "stream", "--checkpoint=fast"],
            timeout: .seconds(300))
        guard result.status == 0 else {
            throw EmbeddedPostgresError.initFailed("pg_basebackup failed (exit \(result.status)): \(result.output.lastLines(5))")
        }
        // The copy holds the primary's log too: start the standby's own.
        try Data().write(to: URL(fileURLWithPath: dataDirectory + "/server.log"))
        try append("\n# Written by CreditOps' EmbeddedPostgres: a standby streaming from port \(standby.primary.port).\ncluster_name = '\(standby.name)'\n",
                   to: dataDirectory + "/postgresql.conf")
    }

    private func append(_ text: String, to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    /// How many processes still have a file open in the cluster's folder (their current directory):
    /// the postmaster's children run there.
    private static func processesAttached(to dataDirectory: String) -> Int {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return pids.filter { Int($0) != nil }.count { pid in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")) == dataDirectory
        }
    }

    /// The port of a server already running on this folder, if any: a second `demo` in the same
    /// folder shares the first one's server instead of failing on the lock.
    private func runningPort(binaries: PostgresBinaries, runner: ProcessRunner) async throws -> Int? {
        let pidFile = configuration.dataDirectory + "/postmaster.pid"
        guard FileManager.default.fileExists(atPath: pidFile) else { return nil }
        let status = try await runner.run(binaries.pgCtl, ["-D", configuration.dataDirectory, "status"])
        guard status.status == 0, let contents = try? String(contentsOfFile: pidFile, encoding: .utf8) else {
            return nil
        }
        // postmaster.pid: pid, data directory, start time, port, …
        let lines = contents.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > 3 else { return nil }
        return Int(lines[3].trimmingCharacters(in: .whitespaces))
    }

    /// A detached shell that outlives a crashed test process: once this process is gone it stops
    /// the server and removes the folder, so no test run leaves a server behind. Its wait is
    /// bounded (12 hours) like every loop here.
    private func startWatchdog(binaries: PostgresBinaries) throws {
        let pid = getpid()
        let dataDirectory = configuration.dataDirectory
        let pgCtl = geteuid() == 0
            ? "runuser -u \(shellQuote(configuration.serverUser)) -- \(shellQuote(binaries.pgCtl))"
            : shellQuote(binaries.pgCtl)
        let script = """
            i=0
            while [ $i -lt 86400 ] && kill -0 \(pid) 2>/dev/null; do sleep 0.5; i=$((i+1)); done
            \(pgCtl) -D \(shellQuote(dataDirectory)) -m immediate -w -t 30 stop >/dev/null 2>&1
            rm -rf \(shellQuote(dataDirectory))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        process.arguments = ["/bin/sh", "-c", script]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }
}

func shellQuote(_ value: String) -> String {
    "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

extension String {
    func lastLines(_ count: Int) -> String {
        split(separator: "\n").suffix(count).joined(separator: " | ")
    }
}
