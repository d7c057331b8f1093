import ArgumentParser

@main
struct CreditOpsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "creditops",
        abstract: "PostgreSQL job queues and workers for the Youth Union's entrusted policy-credit work.",
        discussion: """
            Every command that talks to the database reads DATABASE_URL (postgres://USER@HOST:PORT/DATABASE).
            `creditops demo` needs none: it starts a private PostgreSQL in .creditops/.
            """,
        subcommands: [
            MigrateCommand.self, DemoCommand.self, RunCommand.self, WorkerCommand.self, EnqueueCommand.self, JobsCommand.self,
            QueuesCommand.self, ImportCommand.self, SeedCommand.self, PlanCommand.self, LoansCommand.self, FollowupsCommand.self, AggregatesCommand.self, ServeCommand.self, TokensCommand.self, AuditCommand.self, SessionsCommand.self, ReportsCommand.self, RecipientsCommand.self, BenchCommand.self,
        ]
    )
}
