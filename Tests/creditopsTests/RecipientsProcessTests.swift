import Foundation
import TestSupport
import Testing

/// `creditops recipients` as staff use it: any common spelling of a number, one stored form, the
/// change in the audit trail, and a bad number refused with what is wrong.
@Suite struct RecipientsProcessTests {
    @Test func optOutListOptIn() async throws {
        try await TestDatabase.withDatabase { client, database in
            let environment = ["DATABASE_URL": database.url]
            let out = try await CreditOpsProcess.run(["recipients", "opt-out", "0912 345 678", "--note", "xin ngừng nhận tin"], environment: environment)
            #expect(out.status == 0, "\(out.stderr)")
            #expect(out.stdout == "+84912345678 opted out.\n")
            let again = try await CreditOpsProcess.run(["recipients", "opt-out", "+84912345678"], environment: environment)
            #expect(again.stdout == "+84912345678 was already opted out.\n")
            let list = try await CreditOpsProcess.run(["recipients", "list", "--json"], environment: environment)
            let entries = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]
            #expect(entries?.map { $0["phone"] as? String } == ["+84912345678"])
            #expect(entries?.first?["note"] as? String == "xin ngừng nhận tin")
            let back = try await CreditOpsProcess.run(["recipients", "opt-in", "84912345678"], environment: environment)
            #expect(back.stdout == "+84912345678 opted in again.\n")
            #expect(try await client.integer("SELECT count(*) FROM recipient_opt_outs") == 0)
            #expect(try await client.integer("""
                SELECT count(*) FROM audit_events WHERE action IN ('recipient.opt-out', 'recipient.opt-in') AND target = '+84912345678'
                """) == 3)
            let bad = try await CreditOpsProcess.run(["recipients", "opt-out", "024 3823 4567"], environment: environment)
            #expect(bad.status != 0)
            #expect(bad.stderr.contains("'024 3823 4567' is not a Vietnamese mobile number"), "\(bad.stderr)")
        }
    }
}
