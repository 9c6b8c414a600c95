import Linearizability
import Testing

@Suite struct JSONParserTests {
    @Test(arguments: [
        (" {\"a\" : [1, -2, null, true, false, \"x\"]} ",
         JSONValue.object([("a", .array([.integer(1), .integer(-2), .null, .bool(true), .bool(false), .string("x")]))])),
        ("\"\\u00e9\\n\\\"\\\\\\/\\ud83d\\ude00\"", .string("é\n\"\\/😀")),
        ("1.5", .number(text: "1.5", isInteger: false)),
        ("1e3", .number(text: "1e3", isInteger: false)),
        ("-9223372036854775808", .integer(Int.min)),
        ("9223372036854775808", .number(text: "9223372036854775808", isInteger: true)),
        ("{}", .object([])),
        ("[]", .array([])),
    ])
    func parses(text: String, expected: JSONValue) throws {
        #expect(try JSONParser.parse(text) == expected)
    }

    @Test(arguments: [
        ("", 1), ("{", 2), ("[1,]", 4), ("01", 2), ("\"abc", 5), ("{\"a\":1,\"a\":2}", 8), ("tru", 4),
        ("\"\\ud800\"", 8), ("1 2", 3), ("-", 2), ("1.", 3), ("\"\u{01}\"", 2),
    ])
    func rejects(text: String, column: Int) {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
        do { _ = try JSONParser.parse(text) } catch { #expect(error.column == column, "\(text): \(error)") }
    }
}
