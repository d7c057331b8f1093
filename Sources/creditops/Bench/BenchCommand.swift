import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure CreditOps (figures for BENCHMARKS.md).",
        subcommands: [QueueBenchCommand.self, PruningBenchCommand.self, FreshnessBenchCommand.self, RemindersBenchCommand.self, SoakBenchCommand.self, SoakWorkerCommand.self]
    )
}
