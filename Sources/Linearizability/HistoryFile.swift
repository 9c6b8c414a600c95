/// A malformed line of a history file: its 1-based number and what is wrong.
package struct HistoryFileError: Error, Hashable, Sendable, CustomStringConvertible {
    package let line: Int
    package let problem: String
    package var description: String { "line \(line): \(problem)" }
}

/// What is wrong with one field of a line; `readHistory` adds the line number.
package struct LineProblem: Error, Hashable, Sendable {
    package let message: String
    package init(_ message: String) { self.message = message }
}

/// How one model's operations are written as JSON lines
/// `{"process":P,"type":"invoke|ok|fail|info","f":F,"key":K,"value":V}`.
package protocol HistoryLineFormat: Sendable {
    associatedtype M: Model
    var model: M { get }
    /// The operation of an `invoke` line. `value` is `nil` when the field is missing.
    func input(f: String, key: String, value: JSONValue?) throws(LineProblem) -> M.Input
    /// The result carried by an `ok` line completing `input`; `value` is `nil` when missing.
    func output(of input: M.Input, value: JSONValue?) throws(LineProblem) -> M.Output
}

/// Reads a JSON-lines history (Jepsen conventions): an invocation matches the next completion of
/// the same process; `fail` drops the operation; `info` or no completion leaves it unknown.
/// Blank lines are skipped; other members of a line (`time`, `index`…) are ignored. Positions are
/// line numbers. `process` may be an integer or a string; `key` a string (or an integer, taken as
/// its decimal text). A completion must repeat its invocation's `f` and `key`; its `value` matters
/// only for `ok` reads (the invocation's value defines a write or cas), but must still be a value.
package func readHistory<F: HistoryLineFormat>(_ text: String, format: F)
    throws(HistoryFileError) -> History<F.M>
{
    var history = History<F.M>()
    var pending: [ProcessID: (f: String, key: String, input: F.M.Input, line: Int)] = [:]
    let body = text.hasPrefix("\u{FEFF}") ? text.dropFirst() : text[...]  // a byte-order mark
    for (offset, rawLine) in body.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let number = offset + 1
        guard rawLine.contains(where: { !$0.isWhitespace }) else { continue }
        do throws(LineProblem) {
            let fields = try LineFields(rawLine)
            let open = pending[fields.process]
            if fields.type == "invoke" {
                if let open {
                    throw LineProblem(
                        "process \(fields.process) invokes again while its operation from line "
                            + "\(open.line) has not completed")
                }
                let input = try format.input(f: fields.f, key: fields.key, value: fields.value)
                pending[fields.process] = (fields.f, fields.key, input, number)
                try record { () throws(HistoryError) in
                    try history.invoke(process: fields.process, input, position: number)
                }
                continue
            }
            guard let open else {
                throw LineProblem("\(fields.type) for process \(fields.process), which has no pending invoke")
            }
            guard open.f == fields.f, open.key == fields.key else {
                throw LineProblem(
                    "\(fields.type) (f \"\(fields.f)\", key \"\(fields.key)\") does not match the invoke on "
                        + "line \(open.line) (f \"\(open.f)\", key \"\(open.key)\")")
            }
            pending[fields.process] = nil
            switch fields.type {
            case "ok":
                let output = try format.output(of: open.input, value: fields.value)
                try record { () throws(HistoryError) in
                    try history.ok(process: fields.process, output, position: number)
                }
            case "fail":
                try checkPlainValue(fields.value)
                try record { () throws(HistoryError) in try history.fail(process: fields.process, position: number) }
            default:
                try checkPlainValue(fields.value)
                try record { () throws(HistoryError) in try history.info(process: fields.process, position: number) }
            }
        } catch {
            throw HistoryFileError(line: number, problem: error.message)
        }
    }
    return history
}

/// History errors cannot happen after the checks above; map them anyway rather than trap.
private func record(_ body: () throws(HistoryError) -> Void) throws(LineProblem) {
    do { try body() } catch { throw LineProblem("inconsistent history: \(error)") }
}

/// The common members of a line, validated.
private struct LineFields {
    let process: ProcessID
    let type: String
    let f: String
    let key: String
    let value: JSONValue?

    init(_ line: Substring) throws(LineProblem) {
        let json: JSONValue
        do { json = try JSONParser.parse(String(line)) } catch { throw LineProblem(error.description) }
        guard case .object = json else { throw LineProblem("a line must be a JSON object") }
        switch json["process"] {
        case .integer(let n)?: process = ProcessID(n)
        case .string(let name)?: process = ProcessID(name)
        case nil: throw LineProblem("missing field \"process\"")
        default: throw LineProblem("\"process\" must be an integer or a string")
        }
        type = try Self.string(json, "type")
        guard ["invoke", "ok", "fail", "info"].contains(type) else {
            throw LineProblem("unknown type \"\(type)\" (expected invoke, ok, fail or info)")
        }
        f = try Self.string(json, "f")
        switch json["key"] {
        case .string(let name)?: key = name
        case .integer(let n)?: key = String(n)
        case nil: throw LineProblem("missing field \"key\"")
        default: throw LineProblem("\"key\" must be a string")
        }
        value = json["value"]
    }

    private static func string(_ json: JSONValue, _ name: String) throws(LineProblem) -> String {
        switch json[name] {
        case .string(let text)?: return text
        case nil: throw LineProblem("missing field \"\(name)\"")
        default: throw LineProblem("\"\(name)\" must be a string")
        }
    }
}

/// An integer or null; `nil` (field missing) is null. `what` names the field in messages.
package func optionalInteger(_ value: JSONValue?, _ what: String = "value") throws(LineProblem) -> Int? {
    switch value {
    case nil, .null?: return nil
    case .integer(let n)?: return n
    case .number(let text, true)?: throw LineProblem("\(what) \(text) is out of range")
    case .number(let text, false)?: throw LineProblem("\(what) \(text) is not an integer")
    default: throw LineProblem("\(what) must be an integer or null")
    }
}

/// A present integer (not null).
package func requiredInteger(_ value: JSONValue?, _ what: String) throws(LineProblem) -> Int {
    guard let value else { throw LineProblem("missing \(what)") }
    guard let n = try optionalInteger(value, what) else { throw LineProblem("\(what) must not be null") }
    return n
}

/// A two-element array `[a, b]`; `what` describes it in messages, e.g. "cas value [old,new]".
package func pair(_ value: JSONValue?, _ what: String) throws(LineProblem) -> (JSONValue, JSONValue) {
    guard case .array(let items)? = value, items.count == 2 else {
        throw LineProblem("\(what) must be a 2-element array")
    }
    return (items[0], items[1])
}

/// A value that is ignored must still be a value: null, an integer or an array of those.
func checkPlainValue(_ value: JSONValue?) throws(LineProblem) {
    if case .array(let items)? = value {
        for item in items { _ = try optionalInteger(item) }
    } else {
        _ = try optionalInteger(value)
    }
}
