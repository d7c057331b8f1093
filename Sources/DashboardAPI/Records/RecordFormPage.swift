import CreditWorkers

/// One staff form, drawn on the server and sent as a plain POST: it works without scripts. A
/// refused form comes back with what was typed, each problem next to its field and a summary on
/// top that links to them.
struct RecordFormPage {
    enum Control {
        case text(inputMode: String?)
        case textarea
        case select([(value: String, label: String)])
    }

    struct Field {
        var name: String
        var control: Control
        var value: String
        var required: Bool
    }

    var kind: RecordKind
    var unitName: String
    /// What the form is about, as label key and value (the loan, the report …).
    var facts: [(label: String, value: String)]
    var fields: [Field]
    var action: String
    var csrf: String
    var problems: FieldProblems?
    var back: String
    var texts: FormTexts
    var language: PageLanguage

    func render() -> String {
        let t = texts
        let title = t.titles[kind] ?? kind.rawValue
        var html = """
            <!doctype html>
            <html lang="\(language.rawValue)"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escapeHTML(title)) — \(escapeHTML(unitName))</title>
            <style>
            body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f5f5f5;color:#212121}
            header{background:#1565c0;color:#fff;padding:16px 24px} header h1{margin:0;font-size:1.3em} header a{color:#fff}
            main{max-width:640px;margin:16px auto;padding:0 12px}
            section{background:#fff;border-radius:8px;padding:16px;box-shadow:0 1px 3px rgba(0,0,0,.12);margin-bottom:16px}
            dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px;margin:0} dt{color:#616161} dd{margin:0}
            label{display:block;font-weight:600;margin-top:14px} .hint{color:#616161;font-size:.88em;margin:2px 0}
            input,select,textarea{font:inherit;padding:6px;border:1px solid #757575;border-radius:4px;width:100%;box-sizing:border-box;max-width:420px}
            textarea{min-height:5em} [aria-invalid=true]{border:2px solid #c62828}
            .error{color:#b71c1c;font-weight:600;margin:4px 0} .summary{border-left:6px solid #c62828}
            button{font:inherit;margin-top:18px;padding:8px 20px;background:#1565c0;color:#fff;border:0;border-radius:4px;cursor:pointer}
            a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}
            </style></head><body>
            <header><p><a href="\(back)">← \(escapeHTML(t.cancel)) · \(escapeHTML(unitName))</a></p><h1>\(escapeHTML(title))</h1></header>
            <main>
            """
        if let problems, !problems.problems.isEmpty {
            html += "<section class=\"summary\" role=\"alert\"><p class=\"error\">\(escapeHTML(t.notSaved))</p><ul>"
            for (field, problem) in problems.problems {
                html += "<li><a href=\"#f-\(field)\">\(escapeHTML(t.labels[field] ?? field)): \(escapeHTML(t.problem(problem)))</a></li>"
            }
            html += "</ul></section>"
        }
        if !facts.isEmpty {
            html += "<section><dl>"
            for fact in facts { html += "<dt>\(escapeHTML(t.labels[fact.label] ?? fact.label))</dt><dd>\(escapeHTML(fact.value))</dd>" }
            html += "</dl></section>"
        }
        html += "<section><form method=\"post\" action=\"\(action)\" novalidate><input type=\"hidden\" name=\"csrf\" value=\"\(escapeHTML(csrf))\">"
        for field in fields { html += render(field) }
        html += "<button type=\"submit\">\(escapeHTML(t.save))</button></form></section></main></body></html>"
        return html
    }

    private func render(_ field: Field) -> String {
        let id = "f-\(field.name)"
        let problem = problems?[field.name]
        var described: [String] = []
        var html = "<label for=\"\(id)\">\(escapeHTML(texts.labels[field.name] ?? field.name))"
        if !field.required { html += " <span class=\"hint\">(\(escapeHTML(texts.optional)))</span>" }
        html += "</label>"
        if let hint = texts.hints[field.name] {
            html += "<p class=\"hint\" id=\"\(id)-hint\">\(escapeHTML(hint))</p>"
            described.append("\(id)-hint")
        }
        if let problem {
            html += "<p class=\"error\" id=\"\(id)-error\">\(escapeHTML(texts.problem(problem)))</p>"
            described.append("\(id)-error")
        }
        var attributes = "id=\"\(id)\" name=\"\(field.name)\""
        if !described.isEmpty { attributes += " aria-describedby=\"\(described.joined(separator: " "))\"" }
        if problem != nil { attributes += " aria-invalid=\"true\"" }
        if field.required { attributes += " aria-required=\"true\"" }
        switch field.control {
        case .text(let inputMode):
            if let inputMode { attributes += " inputmode=\"\(inputMode)\"" }
            html += "<input type=\"text\" \(attributes) value=\"\(escapeHTML(field.value))\">"
        case .textarea:
            html += "<textarea \(attributes)>\(escapeHTML(field.value))</textarea>"
        case .select(let options):
            html += "<select \(attributes)><option value=\"\"></option>"
            for option in options {
                html += "<option value=\"\(escapeHTML(option.value))\"\(option.value == field.value ? " selected" : "")>\(escapeHTML(option.label))</option>"
            }
            html += "</select>"
        }
        return html
    }
}
