import ArgumentParser
import CreditDomain
import CreditWorkers
import Foundation

struct RecipientsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipients",
        abstract: "Numbers that get no reminders: opt a person out (at their request) or back in.",
        subcommands: [OptOut.self, OptIn.self, List.self]
    )

    /// A phone argument read as ``VietnamesePhone``: any common spelling, one stored form.
    static func phone(_ text: String) throws -> VietnamesePhone {
        do {
            return try VietnamesePhone(text)
        } catch {
            throw ValidationError("PHONE: \(error.description)")
        }
    }

    struct OptOut: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "opt-out",
            abstract: "Send this number nothing more; reminders already planned for it are withheld.",
            discussion: """
                The planner records what it would have sent as opted out (counted on the dashboard and /ops).

                Example:
                  creditops recipients opt-out 0912345678 --note "xin ngừng nhận tin, 30/11"
                """
        )

        @Argument(help: "The phone number (0912345678, +84 912 345 678, …).") var phone: String
        @Option(help: "Why, or who asked (kept with the number).") var note = ""
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            _ = try RecipientsCommand.phone(phone)
            guard note.count <= 200 else { throw ValidationError("--note must be at most 200 characters") }
        }

        func run() async throws {
            try await reportingErrors {
                let logger = logging.logger()
                let number = try RecipientsCommand.phone(phone)
                let change = try await database.withClient(logger: logger.quieter()) { client in
                    try await AuditLog(client: client, logger: logger).recording(.commandLine, action: "recipient.opt-out", target: number.e164) {
                        try await RecipientOptOuts(client: client, logger: logger).optOut(number, note: note)
                    }
                }
                print(change.changed ? "\(change.phone) opted out" : "\(change.phone) was already opted out", terminator: "")
                print(change.withheld > 0 ? "; \(change.withheld) planned reminders withheld." : ".")
            }
        }
    }

    struct OptIn: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "opt-in",
            abstract: "Send this number reminders again, from the next planning on.",
            discussion: """
                Example:
                  creditops recipients opt-in 0912345678
                """
        )

        @Argument(help: "The phone number.") var phone: String
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws { _ = try RecipientsCommand.phone(phone) }

        func run() async throws {
            try await reportingErrors {
                let logger = logging.logger()
                let number = try RecipientsCommand.phone(phone)
                let change = try await database.withClient(logger: logger.quieter()) { client in
                    try await AuditLog(client: client, logger: logger).recording(.commandLine, action: "recipient.opt-in", target: number.e164) {
                        try await RecipientOptOuts(client: client, logger: logger).optIn(number)
                    }
                }
                print(change.changed ? "\(change.phone) opted in again." : "\(change.phone) was not opted out.")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The numbers opted out, newest first.")

        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            try await reportingErrors {
                let logger = logging.logger()
                let entries = try await database.withClient(logger: logger.quieter()) { client in
                    try await RecipientOptOuts(client: client, logger: logger).list()
                }
                if json { return try printJSON(entries) }
                printTable(["PHONE", "SINCE", "NOTE"], entries.map { [$0.phone, Display.time($0.optedOutAt), Display.clip($0.note, 50)] })
            }
        }
    }
}
