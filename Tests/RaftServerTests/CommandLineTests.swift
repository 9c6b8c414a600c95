// The built `kura` binary refuses bad `serve`, `kv` and `cluster` arguments with a usage error
// (exit 64) naming the flag, instead of a crash or a replica that starts wrong; `cluster status
// --json` prints valid JSON even for a replica that did not answer.
import Foundation
import Raft
import RaftServer
import Testing

@Suite("kura command line")
struct CommandLineTests {
    static let data = NSTemporaryDirectory() + "kura-cli-never-created"
    static let two = "1=127.0.0.1:7001,2=127.0.0.1:7002"

    static let refusals: [(arguments: [String], mentions: [String])] = [
        (["serve", "--id", "0", "--peers", two, "--data", data], ["--id"]),
        (["serve", "--id", "1", "--peers", "", "--data", data], ["--peers", "no replica"]),
        (["serve", "--id", "1", "--peers", "1=127.0.0.1:7001,1=127.0.0.1:7002", "--data", data], ["--peers", "listed twice"]),
        (["serve", "--id", "1", "--peers", "1=127.0.0.1", "--data", data], ["--peers"]),
        (["serve", "--id", "3", "--peers", two, "--data", data], ["--id 3", "--peers", "--join"]),
        (["serve", "--id", "1", "--peers", two, "--data", data, "--tick-ms", "0"], ["--tick-ms"]),
        (["serve", "--id", "1", "--peers", two, "--data", data, "--snapshot-every", "-5"], ["--snapshot-every"]),
        (["serve", "--id", "1", "--peers", two, "--data", data, "--request-timeout-ms", "0"], ["--request-timeout-ms"]),
        (["kv", "put", "--peers", "", "k", "v"], ["--peers"]),
        (["kv", "get", "--peers", two, "--request-timeout-ms", "0", "k"], ["--request-timeout-ms"]),
        (["cluster", "status", "--peers", "x=1"], ["--peers"]),
    ]

    @Test(arguments: refusals.indices)
    func badArgumentsAreRefused(index: Int) throws {
        let (arguments, mentions) = Self.refusals[index]
        let result = try runKura(arguments)
        #expect(result.status == 64, "kura \(arguments): \(result.output)")
        for mention in mentions { #expect(result.output.contains(mention), "kura \(arguments): \(result.output)") }
        #expect(!FileManager.default.fileExists(atPath: Self.data))
    }

    @Test func statusJSONOfAnUnreachableReplicaIsValidJSON() throws {
        let port = try HostPort.freeLoopbackPort()  // nobody listens there
        let result = try runKura(["cluster", "status", "--json", "--request-timeout-ms", "2000", "--peers", "7=127.0.0.1:\(port)"])
        #expect(result.status == 0, "\(result.output)")
        let line = try #require(result.output.split(separator: "\n").first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        #expect(object["id"] as? Int == 7)
        #expect((object["error"] as? String)?.isEmpty == false, "\(line)")
    }
}
