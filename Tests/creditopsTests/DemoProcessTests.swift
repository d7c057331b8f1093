import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TestSupport
import Testing

/// `creditops demo` as a newcomer runs it: in an empty folder, it starts PostgreSQL, seeds, serves
/// the dashboard at the address it prints, and stops cleanly on Ctrl-C.
@Suite struct DemoProcessTests {
    @Test func theDemoServesThePrintedDashboardAndStopsOnControlC() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("creditops-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let port = try freePort()
        let dataDirectory = folder.appendingPathComponent("postgres").path
        let demo = try CreditOpsProcess.start(["demo", "--data-dir", dataDirectory, "--http", "127.0.0.1:\(port)", "--log-level", "warning"])
        defer { demo.kill(signal: SIGKILL) }

        @Sendable func printedDashboard() -> String? {
            demo.stdout().split(separator: "\n").first { $0.contains("Dashboard of a district:") }
                .flatMap { $0.split(separator: " ").last.map(String.init) }
        }
        let printed = try await eventually(timeout: .seconds(180)) { printedDashboard() != nil }
        let dashboard = printedDashboard()
        #expect(printed, "stdout: \(demo.stdout().suffix(2000)) stderr: \(demo.stderr().suffix(2000))")
        guard let dashboard else { return }
        // A one-time sign-in link, not a token in the address.
        #expect(dashboard.hasPrefix("http://127.0.0.1:\(port)/login/"))
        #expect(!dashboard.contains("co_"))

        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        do {
            let ready = try await eventually(timeout: .seconds(30)) {
                let response = try? await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/readyz"), timeout: .seconds(2))
                return response?.status == .ok
            }
            #expect(ready)
            // Opening the printed link starts a session and leads to the district's dashboard.
            let first = try await client.execute(HTTPClientRequest(url: dashboard), timeout: .seconds(10))
            #expect(first.status == .seeOther)
            let location = first.headers["Location"].first ?? ""
            #expect(location.hasPrefix("/dashboard/"))
            let cookie = first.headers["Set-Cookie"].first?.split(separator: ";").first.map(String.init) ?? ""
            #expect(cookie.hasPrefix("creditops_session="))
            var page = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(location)")
            page.headers.add(name: "Cookie", value: cookie)
            let response = try await client.execute(page, timeout: .seconds(10))
            #expect(response.status == .ok)
            let html = String(buffer: try await response.body.collect(upTo: 4 << 20))
            #expect(html.contains("Huyện đoàn"))
            // The link worked once; opening it again says so.
            let again = try await client.execute(HTTPClientRequest(url: dashboard), timeout: .seconds(10))
            #expect(again.status == .gone)
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()

        let stopAsked = ContinuousClock.now
        demo.kill(signal: SIGINT)
        #expect(await demo.wait(timeout: .seconds(10)), "the demo did not stop within 10 s of Ctrl-C")
        #expect(ContinuousClock.now - stopAsked < .seconds(10))
        #expect(demo.process.terminationStatus == 0, "\(demo.stderr().suffix(2000))")
        #expect(!FileManager.default.fileExists(atPath: dataDirectory + "/postmaster.pid"), "PostgreSQL was left running")
    }
}

extension DemoProcessTests {
    @Test func aTakenPortIsNamedWithHowToChooseAnother() async throws {
        // Hold a port the way another server would.
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(bound == 0)
        #expect(listen(descriptor, 1) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("creditops-demo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = try await CreditOpsProcess.run(["demo", "--data-dir", folder.path, "--http", "127.0.0.1:\(port)"], timeout: .seconds(30))
        #expect(output.status == 1)
        #expect(output.stderr.contains("127.0.0.1:\(port) is taken"))
        #expect(output.stderr.contains("--http 127.0.0.1:8081"))
        #expect(!FileManager.default.fileExists(atPath: folder.path), "nothing should have been started")
    }
}
