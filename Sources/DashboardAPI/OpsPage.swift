import CreditDomain
import CreditWorkers
import Foundation
import JobQueue

/// The operations page (`/ops`) for staff tokens: queues with their counts, the leader, a jobs
/// table with filters and paging, a job's page with its arguments and every attempt's error,
/// and forms to retry, cancel, pause, resume and enqueue. Server-rendered, Vietnamese labels,
/// no scripts; every form is a POST carrying the page's CSRF token.
struct OpsPage {
    static let stateLabels: [JobState: String] = [
        .available: "Chờ chạy", .scheduled: "Hẹn giờ", .waiting: "Chờ việc trước", .running: "Đang chạy", .retryable: "Chờ thử lại",
        .completed: "Hoàn thành", .discarded: "Bị loại", .cancelled: "Đã hủy",
    ]

    static func layout(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escapeHTML(title)) — Vận hành CreditOps</title>
        <style>
        body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#fafafa;color:#212121}
        header{background:#37474f;color:#fff;padding:12px 24px} header a{color:#fff}
        main{padding:16px 24px} table{border-collapse:collapse;width:100%;background:#fff;margin-bottom:16px}
        th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eee;font-size:.92em;vertical-align:top}
        th{color:#616161} form{display:inline} button{cursor:pointer} pre{background:#f0f0f0;padding:8px;white-space:pre-wrap}
        .muted{color:#757575} .error{color:#c62828} fieldset{background:#fff;border:1px solid #ddd;margin-bottom:16px}
        .chart-row{display:grid;grid-template-columns:8em 1fr 1fr;gap:12px;align-items:start;background:#fff;margin-bottom:8px;padding:4px 8px}
        .chart-row h3{font-size:1em;margin:8px 0} figure{margin:0} figcaption{font-size:.85em;color:#424242}
        @media (max-width:700px){.chart-row{grid-template-columns:1fr}}
        </style><script src="/ops/live.js" defer></script></head><body>
        <header><strong><a href="/ops">Vận hành hàng đợi</a></strong> · \(escapeHTML(title)) · <a href="/logout">Đăng xuất</a></header>
        <main>\(body)</main></body></html>
        """
    }

    /// Refreshes the queues' counts, the jobs table and the workers every few seconds without a
    /// reload (the page works without it): fetches the same address and swaps those parts in.
    /// Nothing while the tab is hidden; the filter and enqueue forms are never touched.
    static let liveScript = """
        (function () {
          var parts = ["queues", "charts", "jobs", "workers"];
          async function refresh() {
            if (document.hidden) return;
            try {
              var response = await fetch(location.href, { credentials: "same-origin", redirect: "error" });
              if (!response.ok) return;
              var page = new DOMParser().parseFromString(await response.text(), "text/html");
              parts.forEach(function (id) {
                var fresh = page.getElementById(id), current = document.getElementById(id);
                if (fresh && current && fresh.innerHTML !== current.innerHTML) current.innerHTML = fresh.innerHTML;
              });
            } catch (e) {
              // The server or the network is away for a moment: the next round tries again.
            }
          }
          setInterval(refresh, 3000);
        })();
        """

    static func button(_ label: String, action: String, csrf: String) -> String {
        """
        <form method="post" action="\(escapeHTML(action))"><input type="hidden" name="csrf" value="\(csrf)"><button type="submit">\(escapeHTML(label))</button></form>
        """
    }

    /// What happened to a job, in order: created, each failed attempt, the last start and by which
    /// worker, the end. (A snooze leaves no trace of its own: it shows as the next run time.)
    static func timeline(_ job: JobRecord) -> String {
        var events: [(at: Date, text: String)] = [(job.createdAt, "Tạo, hàng đợi \(job.queue)")]
        for error in job.errors { events.append((error.at, "Lần thử \(error.attempt) lỗi: \(error.error.prefix(200))")) }
        if let started = job.attemptedAt {
            events.append((started, "Lần thử \(job.attempt) bắt đầu" + (job.attemptedBy.map { " trên \($0)" } ?? "")))
        }
        if let finalized = job.finalizedAt { events.append((finalized, "Kết thúc: \(stateLabels[job.state] ?? job.state.rawValue)")) }
        let items = events.sorted { $0.at < $1.at }.map { "<li>\(time($0.at)) — \(escapeHTML($0.text))</li>" }.joined()
        return "<h3>Diễn biến</h3><ol class=\"timeline\">\(items)</ol>"
    }

    /// Asks before an action that stops work (cancel, pause): works without scripts, the answer
    /// is a second POST with `confirm=yes`.
    static func confirm(question: String, button: String, action: String, csrf: String, back: String) -> String {
        layout(title: "Xác nhận", body: """
            <h2>Xác nhận</h2><p>\(escapeHTML(question))</p>
            <form method="post" action="\(escapeHTML(action))"><input type="hidden" name="csrf" value="\(csrf)">\
            <input type="hidden" name="confirm" value="yes"><button type="submit">\(escapeHTML(button))</button></form>
            <p><a href="\(escapeHTML(back))">Quay lại, không làm gì</a></p>
            """)
    }

    /// `overview` is nil for an operator below the root, who sees its subtree's jobs only.
    static func overview(_ overview: OpsOverview?, jobs: [JobRecord], filter: JobFilter, kinds: [String], csrf: String, message: String?,
                         runnable: Set<String> = [], scope: AccessScope, search: String? = nil) -> String {
        var body = ""
        if let message { body += "<p class=\"error\" role=\"alert\">\(escapeHTML(message))</p>" }
        guard let overview else {
            body += "<p class=\"muted\">Công việc của \(escapeHTML(scope.unitCode)) và các đơn vị trực thuộc.</p>"
            return layout(title: "Tổng quan", body: body + jobsSection(jobs: jobs, filter: filter, search: search, csrf: csrf))
        }
        let (stats, leader, reminders) = (overview.stats, overview.leader, overview.reminders)
        body += "<h2>Hàng đợi</h2><p>Tiến trình điều phối (leader): \(leader.map { escapeHTML($0.id) } ?? "<span class=\"error\">không có</span>")</p>"
        body += "<div id=\"queues\"><table><thead><tr><th>Hàng đợi</th><th>Chờ chạy</th><th>Đang chạy</th><th>Hẹn giờ</th><th>Chờ thử lại</th><th>Bị loại</th><th>Hoàn thành 24 giờ</th><th>Việc chờ lâu nhất</th><th>Trạng thái</th><th></th></tr></thead><tbody>"
        for queue in stats {
            let age = queue.oldestAvailableAgeSeconds.map { String(format: "%.0f giây", $0) } ?? "—"
            let toggle = queue.paused
                ? button("Tiếp tục", action: "/ops/queues/\(queue.queue)/resume", csrf: csrf)
                : button("Tạm dừng", action: "/ops/queues/\(queue.queue)/pause", csrf: csrf)
            body += "<tr><td>\(escapeHTML(queue.queue))</td><td>\(queue.available)</td><td>\(queue.running)</td><td>\(queue.scheduled)</td>"
                + "<td>\(queue.retryable)</td><td>\(queue.discarded)</td><td>\(queue.completed)</td><td>\(age)</td><td>\(queue.paused ? "Tạm dừng" : "Đang chạy")</td><td>\(toggle)</td></tr>"
        }
        body += "</tbody></table></div>"
        let reminderStates = [("pending", "chờ gửi"), ("sent", "đã gửi"), ("late", "trong đó gửi muộn"), ("failed", "gửi lỗi"),
                              ("expired", "hết hạn, không gửi"), ("opted_out", "người nhận từ chối"), ("digested", "gộp vào tin tổng hợp")]
        body += "<p>Tin nhắc 30 ngày qua: " + reminderStates.map { "\($0.1) <strong>\(reminders[$0.0] ?? 0)</strong>" }.joined(separator: " · ") + "</p>"
        body += overview.charts
        body += jobsSection(jobs: jobs, filter: filter, search: search, csrf: csrf)
        body += workersSection(overview.workers)
        body += periodicSection(overview.periodicJobs, runnable: runnable, csrf: csrf)
        body += "<fieldset><legend>Thêm công việc</legend><form method=\"post\" action=\"/ops/jobs\">"
        body += "<input type=\"hidden\" name=\"csrf\" value=\"\(csrf)\"> <label>Loại <select name=\"kind\">"
        for kind in kinds { body += "<option>\(escapeHTML(kind))</option>" }
        body += "</select></label> <label>Tham số (JSON) <input name=\"args\" value=\"{}\" size=\"30\"></label> <label>Hàng đợi <input name=\"queue\" size=\"10\" placeholder=\"mặc định\"></label>"
        body += " <button type=\"submit\">Thêm vào hàng đợi</button></form></fieldset>"
        body += auditSection(overview.audit)
        return layout(title: "Tổng quan", body: body)
    }

    /// Who did what, newest first.
    static func auditSection(_ events: [AuditLog.Event]) -> String {
        var body = "<h2>Nhật ký thao tác</h2><table><thead><tr><th scope=\"col\">Lúc</th><th scope=\"col\">Ai</th><th scope=\"col\">Vai trò</th>"
            + "<th scope=\"col\">Địa chỉ</th><th scope=\"col\">Thao tác</th><th scope=\"col\">Đối tượng</th><th scope=\"col\">Kết quả</th></tr></thead><tbody>"
        for event in events {
            body += "<tr><td>\(time(event.at))</td><td>\(escapeHTML(event.tokenName))</td><td>\(escapeHTML(event.role))</td>"
                + "<td>\(escapeHTML(event.address))</td><td>\(escapeHTML(event.action))</td><td>\(escapeHTML(event.target))</td><td>\(escapeHTML(event.outcome))</td></tr>"
        }
        if events.isEmpty { body += "<tr><td colspan=\"7\" class=\"muted\">Chưa có thao tác nào.</td></tr>" }
        return body + "</tbody></table>"
    }

    /// The worker processes by their heartbeats; one silent for longer than its lease is marked.
    static func workersSection(_ workers: [WorkerInfo]) -> String {
        var body = "<h2>Tiến trình xử lý</h2><div id=\"workers\"><table><thead><tr><th scope=\"col\">Máy</th><th scope=\"col\">PID</th><th scope=\"col\">Hàng đợi</th>"
            + "<th scope=\"col\">Song song</th><th scope=\"col\">Đang chạy</th><th scope=\"col\">Bắt đầu</th><th scope=\"col\">Lần cuối báo</th>"
            + "<th scope=\"col\">Tình trạng</th></tr></thead><tbody>"
        for worker in workers {
            body += "<tr><td>\(escapeHTML(worker.host))</td><td>\(worker.pid)</td><td>\(escapeHTML(worker.queues.joined(separator: ", ")))</td>"
                + "<td>\(worker.concurrency)</td><td>\(worker.running)</td><td>\(time(worker.startedAt))</td><td>\(time(worker.lastSeenAt))</td>"
                + "<td>\(worker.stale ? "<span class=\"error\">mất liên lạc</span>" : "hoạt động")</td></tr>"
        }
        if workers.isEmpty { body += "<tr><td colspan=\"8\" class=\"muted\">Không có tiến trình nào đang chạy.</td></tr>" }
        return body + "</tbody></table></div>"
    }

    /// The periodic jobs with their schedule, the period last enqueued and its job, and the next run.
    static func periodicSection(_ jobs: [PeriodicJobInfo], runnable: Set<String>, csrf: String) -> String {
        var body = "<h2>Việc định kỳ</h2><table><thead><tr><th scope=\"col\">Tên</th><th scope=\"col\">Lịch (cron)</th>"
            + "<th scope=\"col\">Lần gần nhất</th><th scope=\"col\">Công việc đã tạo</th><th scope=\"col\">Lần tới</th><th scope=\"col\"></th></tr></thead><tbody>"
        for job in jobs {
            let made = job.lastJobID.map { id in
                "<a href=\"/ops/jobs/\(id)\">\(id)</a>" + (job.lastJobState.map { " (\(stateLabels[$0] ?? $0.rawValue))" } ?? "")
            } ?? "—"
            body += "<tr><td>\(escapeHTML(job.name))</td><td><code>\(escapeHTML(job.schedule))</code></td>"
                + "<td>\(job.lastScheduledAt.map(time) ?? "—")</td><td>\(made)</td><td>\(job.nextRunAt.map(time) ?? "—")</td>"
                + "<td>\(runnable.contains(job.name) ? button("Chạy ngay", action: "/ops/periodic/\(queryValue(job.name))/run", csrf: csrf) : "")</td></tr>"
        }
        if jobs.isEmpty { body += "<tr><td colspan=\"6\" class=\"muted\">Chưa có việc định kỳ nào được lên lịch.</td></tr>" }
        return body + "</tbody></table>"
    }

    /// A moment in Vietnam's time (UTC+7, no daylight saving), the UTC one on hover and in `datetime`.
    static func time(_ date: Date) -> String {
        let utc = WallTime.isoUTC(date), local = WallTime(date)
        return "<time datetime=\"\(utc)\" title=\"\(utc) (UTC)\">\(local.clock) \(local.day.vietnamese)</time>"
    }

    /// A moment as a date-and-time field shows it: Vietnam's wall time, seconds only when needed.
    static func localInput(_ date: Date) -> String {
        let local = WallTime(date)
        return "\(local.day.iso)T" + (local.second == 0 ? local.hoursAndMinutes : local.clock)
    }

    /// The filter (and search) as query parameters, for the next page and the bulk actions.
    static func filterQuery(_ filter: JobFilter, search: String?) -> [String] {
        var query: [String] = []
        if let search { query.append("q=\(queryValue(search))") }
        if let state = filter.state { query.append("state=\(state.rawValue)") }
        if let queue = filter.queue { query.append("queue=\(queryValue(queue))") }
        if let kind = filter.kind { query.append("kind=\(queryValue(kind))") }
        for tag in filter.tags { query.append("tag=\(queryValue(tag))") }
        for (key, value) in filter.metaMatches.sorted(by: { $0.key < $1.key }) { query.append("meta.\(queryValue(key))=\(queryValue(value))") }
        if let after = filter.createdAfter { query.append("created_after=\(queryValue(localInput(after)))") }
        if let before = filter.createdBefore { query.append("created_before=\(queryValue(localInput(before)))") }
        return query
    }

    static func jobsSection(jobs: [JobRecord], filter: JobFilter, search: String? = nil, csrf: String = "") -> String {
        var body = ""
        body += "<h2>Công việc</h2><form method=\"get\" action=\"/ops\" role=\"search\"><label for=\"ops-q\">Tìm (mã công việc, hoặc mã trong tham số như mã món vay)</label> "
        body += "<input id=\"ops-q\" name=\"q\" value=\"\(escapeHTML(search ?? ""))\" size=\"24\"> <button type=\"submit\">Tìm</button></form>"
        body += "<form method=\"get\" action=\"/ops\"><label for=\"ops-state\">Trạng thái</label> <select id=\"ops-state\" name=\"state\"><option value=\"\">tất cả</option>"
        for state in JobState.allCases {
            body += "<option value=\"\(state.rawValue)\"\(filter.state == state ? " selected" : "")>\(stateLabels[state] ?? state.rawValue)</option>"
        }
        body += "</select> <label for=\"ops-queue\">Hàng đợi</label> <input id=\"ops-queue\" name=\"queue\" value=\"\(escapeHTML(filter.queue ?? ""))\" size=\"10\">"
        body += " <label for=\"ops-kind\">Loại</label> <input id=\"ops-kind\" name=\"kind\" value=\"\(escapeHTML(filter.kind ?? ""))\" size=\"18\">"
        body += " <label for=\"ops-tag\">Nhãn</label> <input id=\"ops-tag\" name=\"tag\" value=\"\(escapeHTML(filter.tags.first ?? ""))\" size=\"12\">"
        body += " <label for=\"ops-unit\">Đơn vị</label> <input id=\"ops-unit\" name=\"meta.unit\" value=\"\(escapeHTML(filter.metaMatches["unit"] ?? ""))\" size=\"10\">"
        body += " <label for=\"ops-after\">Tạo từ</label> <input id=\"ops-after\" type=\"datetime-local\" step=\"1\" name=\"created_after\" value=\"\(filter.createdAfter.map(localInput) ?? "")\">"
        body += " <label for=\"ops-before\">đến trước</label> <input id=\"ops-before\" type=\"datetime-local\" step=\"1\" name=\"created_before\" value=\"\(filter.createdBefore.map(localInput) ?? "")\">"
        body += " <button type=\"submit\">Lọc</button></form>"
        body += "<div id=\"jobs\"><table><thead><tr><th>Mã</th><th>Loại</th><th>Hàng đợi</th><th>Trạng thái</th><th>Lần thử</th><th>Chạy lúc</th><th>Nhãn</th><th>Lỗi gần nhất</th></tr></thead><tbody>"
        for job in jobs {
            let lastError = job.errors.last.map { escapeHTML(String($0.error.prefix(80))) } ?? ""
            body += "<tr><td><a href=\"/ops/jobs/\(job.id)\">\(job.id)</a></td><td>\(escapeHTML(job.kind))</td><td>\(escapeHTML(job.queue))</td>"
                + "<td>\(stateLabels[job.state] ?? job.state.rawValue)</td><td>\(job.attempt)/\(job.maxAttempts)</td>"
                + "<td>\(time(job.runAt))</td><td>\(escapeHTML(job.tags.joined(separator: ", ")))</td>"
                + "<td class=\"error\">\(lastError)</td></tr>"
        }
        if jobs.isEmpty { body += "<tr><td colspan=\"8\" class=\"muted\">Không có công việc nào.</td></tr>" }
        body += "</tbody></table></div>"
        let query = filterQuery(filter, search: search)
        if jobs.count == filter.limit, let last = jobs.last {
            body += "<p><a href=\"/ops?\(escapeHTML((["before=\(last.id)"] + query).joined(separator: "&")))\">Trang sau →</a></p>"
        }
        if !query.isEmpty, !jobs.isEmpty {
            // Every job the filter matches, not only this page's: the count comes on the page that asks.
            let address = "?" + query.joined(separator: "&")
            body += "<fieldset><legend>Với mọi công việc khớp bộ lọc</legend>"
                + button("Chạy lại tất cả", action: "/ops/bulk/retry\(address)", csrf: csrf) + " "
                + button("Hủy tất cả", action: "/ops/bulk/cancel\(address)", csrf: csrf) + " "
                + button("Xóa tất cả việc đã kết thúc", action: "/ops/bulk/delete\(address)", csrf: csrf) + "</fieldset>"
        }
        return body
    }

    /// A value inside a query string: `&`, `=`, `+` and `#` too are escaped, which `.urlQueryAllowed` leaves alone.
    static func queryValue(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
    }

    static func job(_ job: JobRecord, csrf: String, message: String? = nil) -> String {
        var body = message.map { "<p class=\"error\" role=\"alert\">\(escapeHTML($0))</p>" } ?? ""
        body += "<h2>Công việc \(job.id): \(escapeHTML(job.kind))</h2><table>"
        let rows: [(String, String)] = [
            ("Hàng đợi", job.queue), ("Trạng thái", stateLabels[job.state] ?? job.state.rawValue),
            ("Lần thử", "\(job.attempt)/\(job.maxAttempts)"), ("Tiến trình", job.attemptedBy ?? "—"),
            ("Khóa duy nhất", job.uniqueKey ?? "—"), ("Nhãn", job.tags.isEmpty ? "—" : job.tags.joined(separator: ", ")),
        ]
        for (label, value) in rows { body += "<tr><th>\(label)</th><td>\(escapeHTML(value))</td></tr>" }
        body += "<tr><th>Chạy lúc</th><td>\(time(job.runAt))</td></tr><tr><th>Tạo lúc</th><td>\(time(job.createdAt))</td></tr>"
        body += "<tr><th>Độ ưu tiên</th><td>\(job.priority)</td></tr><tr><th>Đơn vị</th><td>\(escapeHTML(job.meta["unit"] ?? "—"))</td></tr>"
        let otherMeta = job.meta.filter { $0.key != "unit" }.sorted { $0.key < $1.key }
        if !otherMeta.isEmpty {
            body += "<tr><th>Meta</th><td>\(escapeHTML(otherMeta.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")))</td></tr>"
        }
        if !job.dependsOn.isEmpty {
            let links = job.dependsOn.map { "<a href=\"/ops/jobs/\($0)\">\($0)</a>" }.joined(separator: ", ")
            body += "<tr><th>Chờ các việc</th><td>\(links)</td></tr>"
        }
        body += "</table>" + timeline(job) + "<h3>Tham số</h3><pre>\(escapeHTML(job.args))</pre><h3>Lỗi các lần thử</h3>"
        if job.errors.isEmpty {
            body += "<p class=\"muted\">Không có lỗi.</p>"
        } else {
            body += "<table><thead><tr><th>Lần</th><th>Lúc</th><th>Lỗi</th></tr></thead><tbody>"
            for error in job.errors {
                body += "<tr><td>\(error.attempt)</td><td>\(time(error.at))</td><td class=\"error\">\(escapeHTML(error.error))</td></tr>"
            }
            body += "</tbody></table>"
        }
        body += "<p>"
        // The states JobQueue.retry accepts: a completed job has nothing to run again.
        if [.discarded, .cancelled, .retryable, .scheduled].contains(job.state) {
            body += button("Chạy lại", action: "/ops/jobs/\(job.id)/retry", csrf: csrf) + " "
        }
        if [.available, .scheduled, .retryable, .running].contains(job.state) {
            body += button("Hủy", action: "/ops/jobs/\(job.id)/cancel", csrf: csrf)
        }
        body += "</p>"
        return layout(title: "Công việc \(job.id)", body: body)
    }
}
