import ArgumentParser
import CreditWorkers
import Foundation

struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Create, list and revoke bearer tokens, and make one-time sign-in links for the dashboards.",
        subcommands: [Create.self, List.self, Revoke.self, Link.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token that sees a unit and every unit below it (printed once, alone on the last line).",
            discussion: """
                Only a hash of the token is stored: keep the printed token, it cannot be shown again.
                Roles: viewer (dashboards and the read API), officer (a viewer that records follow-ups,
                loan-use checks, reports and session moves), operator (jobs and /ops; queue-wide actions
                need an operator of the root unit). --staff is --role operator.

                Example:
                  creditops tokens create --unit T01-H03 --role viewer --name "Huyện đoàn Phú Xuân" --expires-in 90d
                """
        )

        @Option(help: "The unit's code.") var unit: String
        @Option(help: "viewer, officer or operator (default: viewer).") var role: String?
        @Flag(help: "The same as --role operator (kept for older scripts).") var staff = false
        @Option(help: "Who the token is for.") var name = ""
        @Option(name: .customLong("expires-in"), help: "Lifetime: 90d (the default), 12h, 30m; at most 365d.") var expiresIn = "90d"
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            let role = try parsedRole(self.role)
            if staff, let role, role != .operator { throw ValidationError("--staff means --role operator, not --role \(role.rawValue)") }
            guard name.count <= 200 else { throw ValidationError("--name must be at most 200 characters (got \(name.count))") }
            do {
                _ = try AccessTokens.parseLifetime(expiresIn)
            } catch {
                throw ValidationError("--expires-in: \(error)")
            }
        }

        func run() async throws {
            try await reportingErrors {
                let logger = logging.logger()
                let role = try parsedRole(self.role) ?? (staff ? .operator : .viewer)
                let lifetime = try AccessTokens.parseLifetime(expiresIn)
                let (id, token) = try await database.withClient(logger: logger.quieter()) { client in
                    do {
                        let created = try await AccessTokens(client: client, logger: logger).create(
                            unitCode: unit, role: role, name: name, lifetime: lifetime)
                        await AuditLog(client: client, logger: logger).record(
                            .commandLine, action: "token.create", target: "token \(created.id) (\(role.rawValue), \(unit))", outcome: "ok")
                        return created
                    } catch let error as AccessTokens.Failure {
                        throw CLIError(error.description)
                    }
                }
                printError("Token \(id) for \(unit), role \(role.rawValue), expires in \(expiresIn); it is shown only now:")
                print(token)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every token: id, name, unit, role, created, expires, last used, revoked (never the token itself).",
            discussion: """
                Example:
                  creditops tokens list --json
                """
        )

        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            try await reportingErrors {
                let logger = logging.logger()
                let tokens = try await database.withClient(logger: logger.quieter()) { client in
                    try await AccessTokens(client: client, logger: logger).list()
                }
                if json { return try printJSON(tokens) }
                printTable(["ID", "NAME", "UNIT", "ROLE", "CREATED", "EXPIRES", "LAST USED", "REVOKED"], tokens.map {
                    ["\($0.id)", Display.clip($0.name, 30), $0.unit, $0.role.rawValue, Display.time($0.createdAt), Display.time($0.expiresAt),
                     $0.lastUsedAt.map(Display.time) ?? "—", $0.revokedAt.map(Display.time) ?? "—"]
                })
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token: every process refuses it within 5 seconds, and its browser sessions end.",
            discussion: """
                Example:
                  creditops tokens revoke 42
                """
        )

        @Argument(help: "The token's id (see `tokens list`).") var id: Int64
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            try await reportingErrors {
                let logger = logging.logger()
                let revoked = try await database.withClient(logger: logger.quieter()) { client in
                    let audit = AuditLog(client: client, logger: logger)
                    do {
                        let revoked = try await AccessTokens(client: client, logger: logger).revoke(id: id)
                        await audit.record(.commandLine, action: "token.revoke", target: "token \(id)", outcome: revoked ? "ok" : "already revoked")
                        return revoked
                    } catch let error as AccessTokens.Failure {
                        await audit.record(.commandLine, action: "token.revoke", target: "token \(id)", outcome: "refused: \(error)")
                        throw CLIError(error.description)
                    }
                }
                print(revoked ? "Token \(id) revoked." : "Token \(id) was already revoked.")
            }
        }
    }

    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a one-time sign-in link (valid 15 minutes) that opens the unit's dashboard in a browser.",
            discussion: """
                Opening the link starts a browser session (8 hours idle, 7 days at most) of a new token of
                its own, which `tokens list` shows and `tokens revoke` ends. A used or expired link shows a page
                saying so. Send it by a channel you trust: whoever opens it first is signed in.

                Example:
                  creditops tokens link --unit T01-H03 --role officer --base-url https://creditops.example.vn
                """
        )

        @Option(help: "The unit's code.") var unit: String
        @Option(help: "viewer, officer or operator.") var role = "viewer"
        @Option(help: "Who the link is for.") var name = ""
        @Option(name: .customLong("base-url"), help: "The server's address as users reach it (default: $CREDITOPS_PUBLIC_URL, else http://$CREDITOPS_HTTP).")
        var baseURL: String?
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            _ = try parsedRole(role)
            guard name.count <= 200 else { throw ValidationError("--name must be at most 200 characters (got \(name.count))") }
        }

        func run() async throws {
            try await reportingErrors {
                let logger = logging.logger()
                let base = try PublicURL.resolve(baseURL)
                let role = try parsedRole(role) ?? .viewer
                let (tokenID, code) = try await database.withClient(logger: logger.quieter()) { client in
                    do {
                        let link = try await WebSessions(client: client, logger: logger).createLink(
                            unitCode: unit, role: role, name: name.isEmpty ? "sign-in link" : name)
                        await AuditLog(client: client, logger: logger).record(
                            .commandLine, action: "link.create", target: "token \(link.tokenID) (\(role.rawValue), \(unit))", outcome: "ok")
                        return link
                    } catch let error as AccessTokens.Failure {
                        throw CLIError(error.description)
                    }
                }
                printError("One-time sign-in link for \(unit), role \(role.rawValue) (token \(tokenID)), valid 15 minutes:")
                print("\(base)/login/\(code)")
            }
        }
    }
}

/// `--role`, refused with a short message that does not echo a huge value.
func parsedRole(_ text: String?) throws -> AccessRole? {
    guard let text else { return nil }
    guard let role = AccessRole(rawValue: text) else {
        throw ValidationError("--role '\(shown(text))' is not a role: viewer, officer or operator")
    }
    return role
}

/// The address users reach the server at, for links: `--base-url`, `CREDITOPS_PUBLIC_URL`, or
/// the listening address.
enum PublicURL {
    static func resolve(_ given: String?) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let text = given ?? environment["CREDITOPS_PUBLIC_URL"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "http://" + (environment["CREDITOPS_HTTP"].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1:8080")
        guard let url = URLComponents(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host?.isEmpty == false else {
            throw CLIError("the base URL '\(shown(text))' is not an http(s) address such as https://creditops.example.vn")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    /// Whether cookies must be `Secure` because users reach the server over https.
    static var isHTTPS: Bool {
        ProcessInfo.processInfo.environment["CREDITOPS_PUBLIC_URL"]?.lowercased().hasPrefix("https://") == true
    }
}
