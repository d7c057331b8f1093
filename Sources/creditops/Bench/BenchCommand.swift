import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure CreditOps (figures for BENCHMARKS.md).",
        subcommands: [QueueBenchCommand.self, FreshnessBenchCommand.self, RemindersBenchCommand.self]
    )
}
