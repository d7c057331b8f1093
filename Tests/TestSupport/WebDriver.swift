import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1

/// A headless Chromium driven over the W3C WebDriver protocol (Debian's `chromium` and
/// `chromium-driver`): enough to open pages, read them and click buttons as a user would.
public final class Browser: Sendable {
    private let driver: CreditOpsProcess.Running
    private let base: String
    private let session: String

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts chromedriver and a headless browser session.
    public static func start() async throws -> Browser {
        guard let chromedriver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].first(where: {
            FileManager.default.isExecutableFile(atPath: $0)
        }) else {
            throw Failure(description: "chromedriver not found: apt-get install chromium chromium-driver (.ci/run does)")
        }
        let port = try freePort()
        let driver = try CreditOpsProcess.start(executable: chromedriver, ["--port=\(port)"])
        let base = "http://127.0.0.1:\(port)"
        var session: String?
        let deadline = ContinuousClock.now + .seconds(20)
        while session == nil && ContinuousClock.now < deadline {
            session = try? await Self.newSession(base)
            if session == nil { try await Task.sleep(for: .milliseconds(200)) }
        }
        guard let session else {
            driver.kill(signal: SIGKILL)
            throw Failure(description: "no WebDriver session within 20 s: \(driver.stderr())")
        }
        return Browser(driver: driver, base: base, session: session)
    }

    private init(driver: CreditOpsProcess.Running, base: String, session: String) {
        self.driver = driver
        self.base = base
        self.session = session
    }

    private static func newSession(_ base: String) async throws -> String {
        let binary = FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") ? "/usr/bin/chromium" : "/usr/bin/chromium-browser"
        let answer = try await call(base + "/session", method: .POST, json: [
            "capabilities": ["alwaysMatch": ["browserName": "chrome", "goog:chromeOptions": [
                "binary": binary, "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=vi-VN"],
                // As the district and commune staff's browsers ask: Vietnamese first (the pages
                // follow Accept-Language when no language was chosen).
                "prefs": ["intl.accept_languages": "vi-VN,vi"],
            ]]],
        ])
        guard let value = answer["value"] as? [String: Any], let id = value["sessionId"] as? String else {
            throw Failure(description: "no session: \(answer)")
        }
        return id
    }

    @discardableResult
    private static func call(_ url: String, method: HTTPMethod, json: [String: Any]? = nil) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 16 << 20)
        let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] ?? [:]
        if response.status.code >= 400 { throw Failure(description: "WebDriver \(response.status.code): \(object)") }
        return object
    }

    public func open(_ url: String) async throws {
        try await Self.call("\(base)/session/\(session)/url", method: .POST, json: ["url": url])
    }

    /// The page as the browser holds it now.
    public func source() async throws -> String {
        try await Self.call("\(base)/session/\(session)/source", method: .GET)["value"] as? String ?? ""
    }

    public func currentURL() async throws -> String {
        try await Self.call("\(base)/session/\(session)/url", method: .GET)["value"] as? String ?? ""
    }

    /// Clicks the first element matching a CSS selector.
    public func click(_ selector: String) async throws {
        let element = try await element(selector)
        try await Self.call("\(base)/session/\(session)/element/\(element)/click", method: .POST, json: [:])
    }

    /// Clicks what submits a form or follows a link, and waits (up to 20 s) until the next page
    /// has replaced this one: a click may return before the browser has even started to navigate.
    public func clickAndWaitForNextPage(_ selector: String) async throws {
        _ = try await execute("window.__creditopsOldPage = true; return 0")
        try await click(selector)
        for _ in 0..<200 {
            let replaced = try? await execute("return window.__creditopsOldPage === undefined && document.readyState === 'complete'") as? Bool
            if replaced == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Failure(description: "no new page within 20 s after clicking \(selector)")
    }

    /// Empties the first field matching a CSS selector, then types `text` into it key by key.
    public func type(_ selector: String, _ text: String) async throws {
        let element = try await element(selector)
        try await Self.call("\(base)/session/\(session)/element/\(element)/clear", method: .POST, json: [:])
        try await Self.call("\(base)/session/\(session)/element/\(element)/value", method: .POST, json: ["text": text])
    }

    private func element(_ selector: String) async throws -> String {
        let found = try await Self.call("\(base)/session/\(session)/element", method: .POST,
                                        json: ["using": "css selector", "value": selector])
        guard let element = (found["value"] as? [String: Any])?.values.first as? String else {
            throw Failure(description: "no element \(selector)")
        }
        return element
    }

    /// Saves a PNG of the viewport.
    public func screenshot(to path: String) async throws {
        let encoded = try await Self.call("\(base)/session/\(session)/screenshot", method: .GET)["value"] as? String ?? ""
        guard let data = Data(base64Encoded: encoded) else { throw Failure(description: "no screenshot") }
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// Resizes the window, e.g. to a phone's 360 px width.
    public func setWindowSize(width: Int, height: Int) async throws {
        try await Self.call("\(base)/session/\(session)/window/rect", method: .POST, json: ["width": width, "height": height])
    }

    /// Runs `script` (a function body: `return …`) in the page and gives back its value.
    public func execute(_ script: String) async throws -> Any? {
        try await Self.call("\(base)/session/\(session)/execute/sync", method: .POST, json: ["script": script, "args": [] as [Any]])["value"]
    }

    /// Runs `script` asynchronously: it ends by calling `arguments[arguments.length - 1](value)`.
    public func executeAsync(_ script: String) async throws -> Any? {
        try await Self.call("\(base)/session/\(session)/execute/async", method: .POST, json: ["script": script, "args": [] as [Any]])["value"]
    }

    /// axe-core's violations of WCAG 2 A and AA (and its best practices) on the open page, as (rule, impact, first element).
    /// axe-core comes from PyPI's axe-selenium-python in `.venv-tests` (made by `.ci/run`).
    public func accessibilityViolations() async throws -> [(rule: String, impact: String, target: String)] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let packages = root.appendingPathComponent(".venv-tests/lib")
        let python = try FileManager.default.contentsOfDirectory(atPath: packages.path).first { $0.hasPrefix("python3") }
        let axe = packages.appendingPathComponent("\(python ?? "python3")/site-packages/axe_selenium_python/node_modules/axe-core/axe.min.js")
        guard let source = try? String(contentsOf: axe, encoding: .utf8) else {
            throw Failure(description: "axe-core not found at \(axe.path): python3 -m venv .venv-tests && .venv-tests/bin/pip install axe-selenium-python (.ci/run does)")
        }
        _ = try await execute(source + "\nreturn true;")
        let found = try await executeAsync("""
            var done = arguments[arguments.length - 1];
            axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'best-practice']}})
              .then(function (r) { done(JSON.stringify(r.violations.map(function (v) {
                  return {rule: v.id, impact: v.impact || '', target: String((v.nodes[0] || {target: ['']}).target[0])}; }))); })
              .catch(function (e) { done(JSON.stringify([{rule: 'axe-failed', impact: 'critical', target: String(e)}])); });
            """) as? String ?? "[]"
        let list = try JSONSerialization.jsonObject(with: Data(found.utf8)) as? [[String: String]] ?? []
        return list.map { ($0["rule"] ?? "", $0["impact"] ?? "", $0["target"] ?? "") }
    }

    /// Saves a screenshot as `docs/NAME.png` when `CREDITOPS_SCREENSHOTS` names that folder (run
    /// by hand to refresh the README's pictures); otherwise nothing.
    public func screenshotForDocs(_ name: String) async throws {
        guard let folder = ProcessInfo.processInfo.environment["CREDITOPS_SCREENSHOTS"] else { return }
        try await screenshot(to: URL(fileURLWithPath: folder).appendingPathComponent("\(name).png").path)
    }

    public func close() async {
        _ = try? await Self.call("\(base)/session/\(session)", method: .DELETE)
        driver.kill(signal: SIGTERM)
        _ = await driver.wait(timeout: .seconds(5))
        driver.kill(signal: SIGKILL)
    }
}
