import Linearizability
import struct Raft.SplitMix64

/// A history in a compact script, one event a line:
/// `P write K V`, `P read K`, `P cas K OLD NEW` invoke; `P ok [V]`, `P fail`, `P info` complete.
/// `-` stands for null. Positions are event numbers from 1.
func kvHistory(_ script: String) throws -> History<KVModel> {
    var history = History<KVModel>()
    func value(_ word: Substring) -> Int? { word == "-" ? nil : Int(word)! }
    for line in script.split(separator: "\n") where !line.allSatisfy(\.isWhitespace) {
        let words = line.split(separator: " ")
        let process = ProcessID(Int(words[0])!)
        switch words[1] {
        case "write": try history.invoke(process: process, .write(key: String(words[2]), value(words[3])))
        case "read": try history.invoke(process: process, .read(key: String(words[2])))
        case "cas":
            try history.invoke(
                process: process, .cas(key: String(words[2]), old: value(words[3]), new: value(words[4])))
        case "ok": try history.ok(process: process, words.count > 2 ? .read(value(words[2])) : .written)
        case "fail": try history.fail(process: process)
        case "info": try history.info(process: process)
        default: preconditionFailure("bad script line \(line)")
        }
    }
    return history
}

/// Linearizable or not, for a KV script.
func kvLinearizable(_ script: String) throws -> Bool {
    try kvHistory(script).check(KVModel()).isLinearizable
}

/// The seeded generator every random test replays from (Raft's SplitMix64).
typealias SeededGenerator = SplitMix64
