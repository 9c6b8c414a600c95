// One figure per line, beside its peer's. Human form by default; with --json one object a line:
// {"name":…,"value":…,"unit":…,"peer":…,"peerValue":…} (peer fields null where there is none).
#if canImport(Glibc)
import Glibc
#endif

struct Figure {
    var name: String
    var value: Double
    var unit: String
    var peer: String?
    var peerValue: Double?
}

struct Report {
    let json: Bool

    /// Prints a figure at once, so a long suite shows progress and a crash keeps what was measured.
    mutating func add(_ figure: Figure) {
        if json {
            print(Self.jsonLine(figure))
        } else {
            var line = "\(figure.name): \(Self.format(figure.value)) \(figure.unit)"
            if let peer = figure.peer, let peerValue = figure.peerValue {
                line += "   \(peer): \(Self.format(peerValue)) \(figure.unit)"
                if peerValue != 0 { line += "   ratio \(Self.format(figure.value / peerValue))×" }
            }
            print(line)
        }
        fflush(nil)
    }

    mutating func add(
        _ name: String, _ value: Double, _ unit: String, peer: String? = nil, peerValue: Double? = nil
    ) {
        add(Figure(name: name, value: value, unit: unit, peer: peer, peerValue: peerValue))
    }

    /// Context (machine, sizes, notes): a comment in human form, on stderr in JSON form.
    func note(_ text: String) {
        if json { writeStderr("# \(text)\n") } else { print("# \(text)") }
        fflush(nil)
    }

    static func format(_ value: Double) -> String {
        if value.isNaN || value.isInfinite { return "\(value)" }
        let magnitude = abs(value)
        let decimals = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        return decimals == 0 ? String(Int64(rounded)) : String(rounded)
    }

    static func jsonLine(_ f: Figure) -> String {
        func number(_ v: Double?) -> String {
            guard let v, v.isFinite else { return "null" }
            return v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
        }
        func string(_ s: String?) -> String {
            guard let s else { return "null" }
            var out = "\""
            for c in s.unicodeScalars {
                switch c {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                default: out.unicodeScalars.append(c)
                }
            }
            return out + "\""
        }
        return "{\"name\":\(string(f.name)),\"value\":\(number(f.value)),\"unit\":\(string(f.unit)),"
            + "\"peer\":\(string(f.peer)),\"peerValue\":\(number(f.peerValue))}"
    }
}

/// Monotonic wall clock and this process's CPU time, in seconds.
enum Clock {
    static func wall() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    static func processCPU() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    static func threadCPU() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}

/// The `q` quantile (0…1) of `sorted`, ascending; NaN if empty.
func percentile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]
}

/// Writes to standard error without touching C's global `stderr` (not concurrency-safe in Swift 6).
func writeStderr(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}
