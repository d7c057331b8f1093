public import Foundation
public import JobQueue

extension CronSchedule {
    /// Asia/Ho_Chi_Minh (UTC+7, no daylight saving): every CreditOps schedule is local time.
    public static let vietnam = TimeZone(identifier: "Asia/Ho_Chi_Minh")!

    /// A schedule read in Vietnam's time, as sessions, deadlines and reminders are.
    public init(vietnam expression: String) throws {
        try self.init(expression, timeZone: Self.vietnam)
    }
}
