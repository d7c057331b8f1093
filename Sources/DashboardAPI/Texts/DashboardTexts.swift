import CreditDomain

/// Every label of the dashboard in one language: one catalogue per language
/// (`DashboardTexts+Vietnamese.swift`, `DashboardTexts+English.swift`). Names of units, groups
/// and people are data and stay as they are.
struct DashboardTexts: Sendable {
    var language: PageLanguage
    /// The link to the other language, and its label (in that language).
    var switchLabel: String
    var title: @Sendable (_ unit: String, _ year: Int) -> String
    var levels: [String: String]
    var unitLine: @Sendable (_ level: String, _ code: String, _ year: Int) -> String
    var breadcrumb: String
    var year: String
    var show: String
    var computedAt: @Sendable (_ when: String) -> String
    var notComputed: String
    /// Read from a replica that lags: how old the figures are.
    var replicaLag: @Sendable (_ seconds: Int) -> String
    var time: @Sendable (_ hours: Int, _ minutes: Int, _ day: CalendarDate) -> String
    var date: @Sendable (CalendarDate) -> String
    var number: @Sendable (Int) -> String
    var money: @Sendable (Int) -> String
    var statuses: [String: String]
    var rules: [String: String]
    var coverageTitle: @Sendable (Int) -> String
    var noFigures: String
    var meetTheRule: @Sendable (_ percent: String) -> String
    var shareMeeting: @Sendable (_ percent: String) -> String
    var notApplicable: @Sendable (Int) -> String
    var missing: String
    var andMore: @Sendable (Int) -> String
    var subtreeCompliant: @Sendable (_ compliant: Int, _ units: Int) -> String
    var childrenTitle: String
    var childrenColumns: [String]
    var loansTitle: String
    var loansShortTitle: String
    var loanCount: String
    var outstanding: String
    var overdue: String
    var overdueValue: @Sendable (_ loans: String, _ amount: String) -> String
    var overdueRatio: String
    var savers: String
    var savingsShare: @Sendable (String) -> String
    var sessionsTitle: String
    var none: String
    var sessionColumns: [String]
    var activityTitle: String
    var openFollowups: String
    var openReports: String
    var openReportsValue: @Sendable (_ open: Int, _ late: Int) -> String
    var submittedThisYear: String
    var remindersSent: String
    var remindersFailed: String
    var remindersExpired: String
    var remindersLate: String
    var remindersOptedOut: String
    var reportsTitle: String
    var reportColumns: [String]
    var daysLate: @Sendable (Int) -> String
    /// The link to a table's downloads.
    var download: String
    var exportTitle: @Sendable (_ table: String, _ unit: String, _ code: String, _ year: Int, _ moment: String) -> String
    var childrenExportColumns: [String]
    var groupsTitle: String
    var groupColumns: [String]
    var stillNeeds: @Sendable (Int) -> String
    var nothingNeeded: String
    var overdueLoansTitle: String
    var overdueLoanColumns: [String]
    var daysOverdue: @Sendable (Int) -> String
    var step: @Sendable (Int) -> String
    var outcomes: [String: String]
    var promisedBy: @Sendable (String) -> String
    var noOutcome: String
    var loanStatuses: [String: String]
    var moreOverdue: @Sendable (Int) -> String
    var actionsTitle: String
    var actionTitles: [String: String]
    var actionColumns: [String: [String]]
    var reminderKinds: [String: String]
    var reminderStates: [String: String]
    var open: String
    var backTo: @Sendable (String) -> String
    var nothingToDo: String
    var listLimit: @Sendable (Int) -> String
}
