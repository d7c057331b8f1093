import ArgumentParser
import CreditWorkers
import EmbeddedPostgres
import JobQueue
import Logging
import PostgresNIO

/// An error for the person at the terminal: printed as one line, then a non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Runs a command's body and turns any error into one line on stderr and exit code 1 (2 for
/// bad input the command could have caught), never a stack trace.
func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        printError("creditops: \(clippingLongLines(describe(error)))")
        throw ExitCode(1)
    }
}

func printError(_ message: String) {
    var standardError = StandardError()
    print(message, to: &standardError)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandleWriter.write(string, to: 2)
    }
}

enum FileHandleWriter {
    static func write(_ string: String, to descriptor: Int32) {
        var bytes = Array(string.utf8)
        _ = bytes.withUnsafeMutableBytes { buffer in
            #if canImport(Glibc)
            Glibc.write(descriptor, buffer.baseAddress, buffer.count)
            #endif
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// One line describing an error, with the server's own message for database errors.
func describe(_ error: any Error) -> String {
    switch error {
    case let error as PSQLError:
        if let message = error.serverInfo?[.message] {
            let detail = error.serverInfo?[.detail].map { " (\($0))" } ?? ""
            return "database error: \(message)\(detail)"
        }
        if let underlying = error.underlying {
            return "database connection failed: \(underlying)"
        }
        return "database error: \(error.code)"
    case let error as PostgresTransactionError:
        return describe(error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError ?? CLIError("transaction failed"))
    case let error as any CustomStringConvertible:
        return error.description
    default:
        return String(describing: error)
    }
}

extension FieldProblems {
    /// The problems as a usage error, each named by the option it came from (`promised_on` is `--promised-on`).
    func validationError() -> ValidationError {
        ValidationError(problems.map { field, problem in
            "--\(field.split(separator: "_").joined(separator: "-")) \(problem.english)"
        }.joined(separator: "; "))
    }
}

/// A staff write's options read through its shared rule (`CreditWorkers/Records`): a problem is a usage error.
func parsedOptions<Input>(_ parse: () throws(FieldProblems) -> Input) throws -> Input {
    do {
        return try parse()
    } catch {
        throw error.validationError()
    }
}

/// A staff write from the command line: recorded in the audit trail under the operating system's
/// user, an unknown record said in one line.
@discardableResult
func recordedWrite<Result: Sendable>(_ database: DatabaseOptions, _ logger: Logger, action: String, target: String,
                                     _ write: @escaping @Sendable (PostgresClient) async throws -> Result) async throws -> Result {
    try await database.withClient(logger: logger.quieter()) { client in
        do {
            return try await AuditLog(client: client, logger: logger).recording(.commandLine, action: action, target: target) {
                try await write(client)
            }
        } catch let failure as RecordWrites.Failure {
            throw CLIError(failure.description)
        } catch let failure as SessionMoves.Failure {
            throw CLIError(failure.description)
        }
    }
}
