public import ArgumentParser
import CreditWorkers

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a CSV file of units, points, groups, borrowers, loans, inspections or reports.",
        discussion: """
            The file is UTF-8 with a header row naming exactly the kind's columns:
              units        code,name,level,parent_code,contact_name,contact_phone
              points       code,commune_code,session_day,session_time,location
              groups       code,name,commune_code,leader_name,leader_phone,point_code
              borrowers    code,name,group_code,phone,savings_balance
              loans        code,borrower_code,program,principal,outstanding,disbursed_on,due_on
              inspections  inspection_code,inspector_unit_code,inspected_on,group_code,borrower_code
              reports      report_code,unit_code,due_on,submitted_on
            Dates are YYYY-MM-DD, money whole đồng. Rows are matched by code: importing a file again
            updates what changed and adds nothing twice. A file with any bad row is rejected whole:
            every bad row is listed (the first 50, and how many) and nothing is written. Import in
            the order above: a row may only name records that already exist or are in the same file.

            Example:
              creditops import units units.csv
              creditops import borrowers borrowers.csv --json
            """
    )

    @Argument(help: "What the file holds: \(ImportKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var kind: ImportKind

    @Argument(help: "The CSV file.")
    var file: String

    @Flag(help: "Print the counts as JSON.")
    var json = false

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        try await reportingErrors {
            let logger = logging.logger()
            let bar = ProgressBar(label: file, show: !json)
            defer { bar.finish() }
            let summary = try await database.withClient(logger: logger.quieter()) { client in
                let audit = AuditLog(client: client, logger: logger)
                return try await audit.recording(.commandLine, action: "import.\(kind.rawValue)", target: String(file.suffix(200))) {
                    try await Importer(client: client, logger: logger.quieter()).importFile(kind, path: file) { progress in
                        switch progress {
                        case .reading(let bytes, let total):
                            // A bar is only worth drawing for files of more than a few thousand rows.
                            if total > 256 * 1024 { bar.update(done: bytes, of: total) }
                        case .checking: bar.phase("checking…")
                        case .writing: bar.phase("writing…")
                        }
                    }
                }
            }
            bar.finish()
            if json {
                try printJSON(summary)
            } else {
                print("\(summary.description) in \(Display.seconds(summary.seconds)).")
            }
        }
    }
}

extension ImportKind: ExpressibleByArgument {}
